/// Whether a payment arrangement may be proposed, and who must approve it, as pure functions over
/// the plan, the contract, the customer's income and expenditure, its holds and the authority matrix.
///
/// ```swift
/// let assessment = try ArrangementPolicy.assess(plan, contract: contract, income: statement, holds: holds,
///                                               on: today, under: matrix)
/// assessment.requiredRole     // teamLeader: 18 months is beyond an agent's 12
/// ```
public enum ArrangementPolicy {
    /// Why a plan cannot be proposed at all: each names the rule and the figures.
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case breathingSpace(contract: String)
        case firstInstalmentPast(first: LocalDate, today: LocalDate)
        case otherCurrency(plan: CurrencyCode, contract: CurrencyCode)
        case noIncomeAndExpenditure(contract: String)
        case negativeIncomeOrExpenditure(income: Money, expenditure: Money)
        case unaffordable(monthly: Money, disposable: Money, frequency: PaymentArrangement.Frequency)
        case tokenPlanTooLong(months: Int, longest: Int)

        public var rule: String {
            switch self {
            case .breathingSpace: "DRS-breathing-space"
            case .firstInstalmentPast, .otherCurrency: "arrangement-shape"
            case .noIncomeAndExpenditure, .negativeIncomeOrExpenditure, .unaffordable: "CONC7.3-affordability"
            case .tokenPlanTooLong: "token-plan-review"
            }
        }

        public var description: String {
            switch self {
            case let .breathingSpace(contract):
                "\(contract) is in breathing space (Debt Respite Scheme): no arrangement may be asked of the customer until it ends"
            case let .firstInstalmentPast(first, today):
                "the first instalment (\(first)) is before today (\(today))"
            case let .otherCurrency(plan, contract):
                "the plan is in \(plan.code) and the contract in \(contract.code)"
            case let .noIncomeAndExpenditure(contract):
                "no income and expenditure is recorded for \(contract)'s customer: record one with them before proposing a plan (CONC 7.3)"
            case let .negativeIncomeOrExpenditure(income, expenditure):
                "the income (\(income.decimalString)) and the expenditure (\(expenditure.decimalString)) are monthly figures of zero or more"
            case let .unaffordable(monthly, disposable, frequency):
                "the plan asks \(monthly.decimalString) \(monthly.currency.code) a month"
                    + (frequency == .monthly ? "" : " (its largest \(frequency.rawValue) instalment × \(frequency.perYear) / 12)")
                    + "; the customer's income and expenditure leaves \(disposable.decimalString) \(disposable.currency.code) a month"
            case let .tokenPlanTooLong(months, longest):
                "a token plan runs at most \(longest) months before it is reviewed; this one runs \(months)"
            }
        }
    }

    public struct Assessment: Sendable, Equatable {
        /// The least role that may approve the plan.
        public let requiredRole: CollectionsRole
        public let approvalsNeeded: Int
        /// How much of the arrears a settlement gives up (zero when it pays them all, and for a plan
        /// that is no settlement: what it leaves unpaid is still owed).
        public let reduction: Money
        /// Whole months from the first instalment to the last, counted up.
        public let termMonths: Int
        public let isTokenPlan: Bool
        public let matrixVersion: Int

        public init(requiredRole: CollectionsRole, approvalsNeeded: Int, reduction: Money, termMonths: Int, isTokenPlan: Bool, matrixVersion: Int) {
            self.requiredRole = requiredRole
            self.approvalsNeeded = approvalsNeeded
            self.reduction = reduction
            self.termMonths = termMonths
            self.isTokenPlan = isTokenPlan
            self.matrixVersion = matrixVersion
        }
    }

    public static func assess(_ plan: PaymentArrangement, contract: Contract, income: IncomeAndExpenditure?, holds: [ContractHold],
                              on today: LocalDate, under matrix: AuthorityMatrix) throws(Refusal) -> Assessment {
        if holds.contains(where: { $0.kind == .breathingSpace && $0.isActive(on: today) }) { throw .breathingSpace(contract: contract.contractNumber) }
        guard plan.currency == contract.currency else { throw .otherCurrency(plan: plan.currency, contract: contract.currency) }
        guard plan.firstDate >= today else { throw .firstInstalmentPast(first: plan.firstDate, today: today) }
        guard let income else { throw .noIncomeAndExpenditure(contract: contract.contractNumber) }
        // A negative expenditure would add to what the plan is judged affordable against.
        guard income.monthlyIncome.minorUnits >= 0, income.monthlyExpenditure.minorUnits >= 0 else {
            throw .negativeIncomeOrExpenditure(income: income.monthlyIncome, expenditure: income.monthlyExpenditure)
        }
        guard plan.highestMonthlyInstalment.minorUnits <= income.disposableIncome.minorUnits else {
            throw .unaffordable(monthly: plan.highestMonthlyInstalment, disposable: income.disposableIncome, frequency: plan.frequency)
        }
        let limits = matrix.arrangementLimits
        let reduction = plan.isSettlement ? max(0, contract.arrears.amount.minorUnits - plan.total.minorUnits) : 0
        let term = termMonths(plan)
        // The matrix's amounts are in its currency: a plan in another cannot be compared with them, so it is
        // taken as above every limit (the top role, two approvers).
        guard plan.currency == matrix.currency else {
            return Assessment(requiredRole: limits.tiers[limits.tiers.count - 1].role, approvalsNeeded: 2,
                              reduction: Money(minorUnits: reduction, currency: contract.currency), termMonths: term, isTokenPlan: false,
                              matrixVersion: matrix.version)
        }
        func within(_ months: Int?) -> Bool { months.map { plan.lastDate <= plan.firstDate.adding(months: $0) } ?? true }
        let isToken = plan.lowestMonthlyInstalment.minorUnits <= limits.tokenPlans.upTo
        if isToken, !within(limits.tokenPlans.longestTermMonths) {
            throw .tokenPlanTooLong(months: term, longest: limits.tokenPlans.longestTermMonths)
        }
        let allowed = limits.tiers.first { tier in
            within(tier.longestTermMonths)
                && (tier.largestReduction.map { reduction <= $0 } ?? true)
                && (isToken || tier.lowestInstalmentPercent.map {
                    plan.lowestMonthlyInstalment.minorUnits * 100 >= Int64($0) * contract.monthlyPayment.minorUnits
                } ?? true)
        }
        var required = allowed?.role ?? limits.tiers[limits.tiers.count - 1].role
        if isToken, limits.tokenPlans.role.rank > required.rank { required = limits.tokenPlans.role }
        let twoApprovers = reduction > limits.secondApproverAboveReduction || !within(limits.secondApproverAboveTermMonths)
        return Assessment(requiredRole: required, approvalsNeeded: twoApprovers ? 2 : 1,
                          reduction: Money(minorUnits: reduction, currency: contract.currency), termMonths: term, isTokenPlan: isToken,
                          matrixVersion: matrix.version)
    }

    /// The fewest whole months after the first instalment that reach the last.
    static func termMonths(_ plan: PaymentArrangement) -> Int {
        var months = 0
        while plan.firstDate.adding(months: months) < plan.lastDate { months += 1 }
        return months
    }
}
