/// How an active payment arrangement stands against the payments MILES received since it began,
/// as a pure function: what every sync asks of each active plan.
///
/// ```swift
/// switch ArrangementMonitor.judge(plan, paidSince: paid, graceDays: 3, on: today) {
/// case .onTrack: break
/// case let .broken(missed, due, paid): …   // propose PPBR
/// case .completed: …                        // propose the return to active
/// }
/// ```
public enum ArrangementMonitor {
    public enum Verdict: Sendable, Equatable {
        case onTrack
        /// `missed` fell due more than the grace days ago, and what was paid since the plan began
        /// is short of what was due by then.
        case broken(missed: PaymentArrangement.Instalment, due: Money, paid: Money)
        /// Everything the plan asks has been paid.
        case completed
    }

    /// Judged on `today`: an instalment is missed when, `graceDays` after its due date, the payments
    /// since the plan began do not cover it and every instalment before it.
    public static func judge(_ plan: PaymentArrangement, paidSince paid: Money, graceDays: Int, on today: LocalDate) -> Verdict {
        if paid.minorUnits >= plan.total.minorUnits { return .completed }
        var due: Int64 = 0
        for instalment in plan.instalments {
            due += instalment.amount.minorUnits
            guard instalment.dueDate.adding(days: graceDays) < today else { break }
            if paid.minorUnits < due {
                return .broken(missed: instalment, due: Money(minorUnits: due, currency: plan.currency), paid: paid)
            }
        }
        return .onTrack
    }
}

/// An arrangement as MILES created it: its id, and what MILES had received on the contract then.
public struct CreatedArrangement: Sendable, Equatable {
    public var arrangementId: String
    public var paidBefore: Money

    public init(arrangementId: String, paidBefore: Money) {
        self.arrangementId = arrangementId
        self.paidBefore = paidBefore
    }
}
