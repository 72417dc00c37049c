/// A write-off as MILES posted it: MILES's id for it and the reference the adapter sent.
public struct PostedWriteOff: Sendable, Equatable {
    public var writeOffId: String
    public var clientReference: String
    public var contractNumber: String
    public var amount: Money
    /// MILES's reason code.
    public var reasonCode: String
    public var postedAt: Timestamp
    /// The contract version MILES made by posting it.
    public var contractVersion: Int64

    public init(writeOffId: String, clientReference: String, contractNumber: String, amount: Money, reasonCode: String,
                postedAt: Timestamp, contractVersion: Int64) {
        self.writeOffId = writeOffId
        self.clientReference = clientReference
        self.contractNumber = contractNumber
        self.amount = amount
        self.reasonCode = reasonCode
        self.postedAt = postedAt
        self.contractVersion = contractVersion
    }
}
