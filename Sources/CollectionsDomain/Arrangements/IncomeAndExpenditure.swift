/// The customer's income and expenditure as the agent recorded it with them (CONC 7.3): what a plan
/// must be affordable against.
public struct IncomeAndExpenditure: Sendable, Equatable {
    public let monthlyIncome: Money
    public let monthlyExpenditure: Money
    public let recordedOn: LocalDate
    public let recordedBy: String

    public init(monthlyIncome: Money, monthlyExpenditure: Money, recordedOn: LocalDate, recordedBy: String) {
        self.monthlyIncome = monthlyIncome
        self.monthlyExpenditure = monthlyExpenditure
        self.recordedOn = recordedOn
        self.recordedBy = recordedBy
    }

    /// What is left each month; below zero when spending exceeds income.
    public var disposableIncome: Money {
        Money(minorUnits: monthlyIncome.minorUnits - monthlyExpenditure.minorUnits, currency: monthlyIncome.currency)
    }
}
