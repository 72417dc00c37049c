import CollectionsDomain

/// One line of the append-only audit log: who did what to which record, when and why. Each
/// entry carries the hash of the one before, so an edited or deleted entry breaks the chain.
public struct AuditEntry: Sendable, Equatable {
    public var sequence: Int64
    public var at: Timestamp
    public var actor: String
    public var action: String
    /// What it was done to, e.g. `writeoff:12` or `outbox:7`.
    public var subject: String
    public var details: String
    public var previousHash: String
    public var hash: String

    public init(sequence: Int64, at: Timestamp, actor: String, action: String, subject: String, details: String, previousHash: String, hash: String) {
        self.sequence = sequence
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.details = details
        self.previousHash = previousHash
        self.hash = hash
    }
}
