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
}

/// The result of checking the audit chain.
public enum AuditVerification: Sendable, Equatable, CustomStringConvertible {
    case intact(entries: Int)
    /// The first entry whose hash does not match its content or its predecessor.
    case broken(sequence: Int64, reason: String)

    public var description: String {
        switch self {
        case let .intact(entries): return "audit log intact: \(entries) entries, every hash chained"
        case let .broken(sequence, reason): return "audit log BROKEN at entry \(sequence): \(reason)"
        }
    }
}
