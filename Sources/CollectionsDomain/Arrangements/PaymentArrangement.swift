/// A payment arrangement for a contract in arrears: a schedule of instalments, agreed with the
/// customer, that pays some or all of the arrears (CONC 7.3: realistic, sustainable, affordable).
///
/// ```swift
/// let plan = try PaymentArrangement.regular(contractNumber: "C00000042", frequency: .monthly,
///                                           firstDate: LocalDate.parse("2027-01-05")!, count: 6,
///                                           amount: Money(minorUnits: 12_500, currency: .gbp))
/// plan.total          // £750.00
/// plan.lastDate       // 2027-06-05
/// ```
public struct PaymentArrangement: Sendable, Equatable {
    public enum Frequency: String, Sendable, CaseIterable {
        case weekly, fortnightly, monthly

        /// Instalments of this frequency in a year: what turns an instalment into a monthly figure.
        var perYear: Int64 {
            switch self {
            case .weekly: 52
            case .fortnightly: 26
            case .monthly: 12
            }
        }

        /// The date of the instalment `index` places after `first`; nil past the calendar's last year, 9999.
        func date(_ index: Int, after first: LocalDate) -> LocalDate? {
            let date: LocalDate
            switch self {
            case .weekly: date = first.adding(days: 7 * index)
            case .fortnightly: date = first.adding(days: 14 * index)
            case .monthly:
                // Checked before adding: past 9999 `adding(months:)` stops at the calendar's last day, which
                // would make instalments due on the same day.
                let (year, month, _) = first.components
                guard (year * 12 + month - 1 + index) / 12 <= LocalDate.latestYear else { return nil }
                date = first.adding(months: index)
            }
            return date.components.year <= LocalDate.latestYear ? date : nil
        }
    }

    public struct Instalment: Sendable, Equatable {
        public var dueDate: LocalDate
        public var amount: Money

        public init(dueDate: LocalDate, amount: Money) {
            self.dueDate = dueDate
            self.amount = amount
        }
    }

    public let contractNumber: String
    public let frequency: Frequency
    /// In date order, each on a later day than the one before, all in one currency.
    public let instalments: [Instalment]
    /// Agreed in full and final settlement: what the plan pays settles the arrears, and the rest is
    /// given up (a reduction, within the approver's limit). Otherwise what the plan leaves unpaid
    /// is still owed.
    public let isSettlement: Bool

    /// The most instalments a new plan may have: ten years of weekly ones. With `largestInstalment`, it
    /// keeps a plan's total and its monthly figures within what `Money` holds.
    public static let mostInstalments = 520
    /// The largest instalment, in minor units: far above any real plan, low enough that no sum overflows.
    public static let largestInstalment: Int64 = Int64.max / Frequency.weekly.perYear / Int64(mostInstalments)

    /// A plan of the instalments given, checked: at least one, each above zero, in one currency, each due
    /// after the one before. The stores rebuild stored plans through it, so the limits on a new plan
    /// (`regular`) are not here: a plan stored before them must still read back.
    public init(contractNumber: String, frequency: Frequency, instalments: [Instalment], isSettlement: Bool = false) throws(ArrangementError) {
        guard let first = instalments.first else { throw ArrangementError(.noInstalments, input: contractNumber, "a plan needs at least one instalment") }
        for (index, instalment) in instalments.enumerated() {
            guard instalment.amount.minorUnits > 0 else {
                throw ArrangementError(.invalidInstalment, input: instalment.amount.description,
                                       "instalment \(index + 1) (\(instalment.dueDate)) must be more than zero")
            }
            guard instalment.amount.currency == first.amount.currency else {
                throw ArrangementError(.invalidInstalment, input: instalment.amount.currency.code,
                                       "instalment \(index + 1) is in \(instalment.amount.currency.code), the first in \(first.amount.currency.code)")
            }
            if index > 0, instalment.dueDate <= instalments[index - 1].dueDate {
                throw ArrangementError(.invalidInstalment, input: instalment.dueDate.description,
                                       "instalment \(index + 1) is due \(instalment.dueDate), not after instalment \(index) (\(instalments[index - 1].dueDate))")
            }
        }
        self.contractNumber = contractNumber
        self.frequency = frequency
        self.instalments = instalments
        self.isSettlement = isSettlement
    }

    /// `count` equal instalments of `amount`, every `frequency`, from `firstDate`: a new plan, so at most
    /// `mostInstalments` of at most `largestInstalment` each, none past the calendar's last year.
    public static func regular(contractNumber: String, frequency: Frequency, firstDate: LocalDate, count: Int, amount: Money,
                               isSettlement: Bool = false) throws(ArrangementError) -> PaymentArrangement {
        guard count > 0 else { throw ArrangementError(.noInstalments, input: "\(count)", "a plan needs at least one instalment") }
        guard count <= mostInstalments else {
            throw ArrangementError(.tooManyInstalments, input: "\(count)",
                                   "a plan has at most \(mostInstalments) instalments (ten years of weekly ones)")
        }
        guard amount.minorUnits <= largestInstalment else {
            throw ArrangementError(.invalidInstalment, input: amount.description, "an instalment of \(amount) is larger than any plan could be")
        }
        var instalments: [Instalment] = []
        for index in 0..<count {
            guard let dueDate = frequency.date(index, after: firstDate) else {
                throw ArrangementError(.invalidInstalment, input: firstDate.description,
                                       "\(count) \(frequency.rawValue) instalments from \(firstDate) run past the year \(LocalDate.latestYear)")
            }
            instalments.append(Instalment(dueDate: dueDate, amount: amount))
        }
        return try PaymentArrangement(contractNumber: contractNumber, frequency: frequency, instalments: instalments, isSettlement: isSettlement)
    }

    public var firstDate: LocalDate { instalments[0].dueDate }
    public var lastDate: LocalDate { instalments[instalments.count - 1].dueDate }
    public var currency: CurrencyCode { instalments[0].amount.currency }

    public var total: Money {
        Money(minorUnits: instalments.reduce(0) { $0 + $1.amount.minorUnits }, currency: currency)
    }

    /// The smallest and the largest instalment as monthly figures (weekly × 52 / 12, fortnightly ×
    /// 26 / 12): what the matrix's lowest instalment and the customer's disposable income are
    /// compared with. The smallest is rounded down and the largest up, each to the penny, so that
    /// neither comparison is passed by rounding.
    public var lowestMonthlyInstalment: Money {
        let lowest = instalments.map(\.amount.minorUnits).min() ?? 0
        return Money(minorUnits: lowest * frequency.perYear / 12, currency: currency)
    }

    public var highestMonthlyInstalment: Money {
        let highest = instalments.map(\.amount.minorUnits).max() ?? 0
        return Money(minorUnits: (highest * frequency.perYear + 11) / 12, currency: currency)
    }
}

public enum ArrangementErrorCode: String, Sendable {
    /// A plan without instalments.
    case noInstalments
    /// An instalment of nothing or of more than any plan could be, in another currency, not after the one
    /// before, or past the calendar's last year.
    case invalidInstalment
    /// More instalments than `PaymentArrangement.mostInstalments`.
    case tooManyInstalments
}

/// A plan that cannot be a plan, with the input that made it so.
public typealias ArrangementError = CodedError<ArrangementErrorCode>
