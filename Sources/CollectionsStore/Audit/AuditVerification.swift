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
