/// The result of checking the audit chain.
public enum AuditVerification: Sendable, Equatable, CustomStringConvertible {
    case intact(entries: Int)
    /// The first entry whose hash does not match its content or its predecessor, and not acknowledged.
    case broken(sequence: Int64, reason: String)
    /// Broken at `breaks`, each investigated and acknowledged by an authorised person; every other
    /// entry chains.
    case acknowledged(entries: Int, breaks: [Int64])

    public var description: String {
        switch self {
        case let .intact(entries): return "audit log intact: \(entries) entries, every hash chained"
        case let .acknowledged(entries, breaks):
            return "audit log of \(entries) entries chained except at entr\(breaks.count == 1 ? "y" : "ies") "
                + breaks.map(String.init).joined(separator: ", ") + ", investigated and acknowledged"
        case let .broken(sequence, reason): return "audit log BROKEN at entry \(sequence): \(reason)"
        }
    }
}
