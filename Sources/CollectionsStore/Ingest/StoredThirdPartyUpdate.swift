import CollectionsDomain

/// An update as the store keeps it.
public struct StoredThirdPartyUpdate: Sendable, Equatable {
    public var id: Int64
    public var inboxFileId: Int64
    public var line: Int
    public var agent: String
    public var contractNumber: String
    public var kind: String
    public var details: String
    /// `applied` or `refused`.
    public var outcome: String
    public var refusal: String?

    public init(id: Int64, inboxFileId: Int64, line: Int, agent: String, contractNumber: String, kind: String, details: String, outcome: String, refusal: String? = nil) {
        self.id = id
        self.inboxFileId = inboxFileId
        self.line = line
        self.agent = agent
        self.contractNumber = contractNumber
        self.kind = kind
        self.details = details
        self.outcome = outcome
        self.refusal = refusal
    }
}
