/// An open invoice on a contract: what was billed and what of it is still unpaid.
public struct Invoice: Hashable, Sendable {
    public var number: String
    public var issueDate: LocalDate
    public var dueDate: LocalDate
    public var amount: Money
    public var openAmount: Money

    public init(number: String, issueDate: LocalDate, dueDate: LocalDate, amount: Money, openAmount: Money) {
        self.number = number
        self.issueDate = issueDate
        self.dueDate = dueDate
        self.amount = amount
        self.openAmount = openAmount
    }

    /// Days past the due date on `date`; zero or negative while not yet due.
    public func daysPastDue(on date: LocalDate) -> Int { date.days(since: dueDate) }
}
