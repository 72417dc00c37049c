import CollectionsDomain

/// A payment an agent says it collected.
public struct PaymentNotification: Sendable, Equatable {
    public var contractNumber: String
    public var agent: String
    public var amount: Money
    public var paidOn: LocalDate
    public var agentReference: String

    public init(contractNumber: String, agent: String, amount: Money, paidOn: LocalDate, agentReference: String) {
        self.contractNumber = contractNumber
        self.agent = agent
        self.amount = amount
        self.paidOn = paidOn
        self.agentReference = agentReference
    }
}
