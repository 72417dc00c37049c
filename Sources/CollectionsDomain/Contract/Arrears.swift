/// What a contract is behind by, as MILES computes it.
public struct Arrears: Hashable, Sendable {
    public var amount: Money
    public var oldestUnpaidDueDate: LocalDate?
    public var missedPayments: Int

    public init(amount: Money, oldestUnpaidDueDate: LocalDate?, missedPayments: Int) {
        self.amount = amount
        self.oldestUnpaidDueDate = oldestUnpaidDueDate
        self.missedPayments = missedPayments
    }
}
