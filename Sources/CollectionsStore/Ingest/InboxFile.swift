import CollectionsDomain

/// A file (or HTTP post) an agent delivered, kept whole in the inbox and processed from there.
public struct InboxFile: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Stored; rows up to `linesDone` are applied. A crash leaves it here and the next run resumes.
        case received
        case processed
        /// Refused as a whole (encoding, header, truncated XML); nothing from it was applied.
        case failed
    }

    public var id: Int64
    public var agent: String
    public var sha256: String
    public var originalName: String
    public var storedPath: String
    public var size: Int64
    /// `file`, `watch` or `http`.
    public var channel: String
    public var receivedAt: Timestamp
    public var state: State
    public var linesDone: Int
    public var applied: Int
    public var refused: Int
    public var rejected: Int
    public var failureReason: String?
    public var finishedAt: Timestamp?

    public init(id: Int64, agent: String, sha256: String, originalName: String, storedPath: String, size: Int64, channel: String, receivedAt: Timestamp, state: State, linesDone: Int, applied: Int, refused: Int, rejected: Int, failureReason: String? = nil, finishedAt: Timestamp? = nil) {
        self.id = id
        self.agent = agent
        self.sha256 = sha256
        self.originalName = originalName
        self.storedPath = storedPath
        self.size = size
        self.channel = channel
        self.receivedAt = receivedAt
        self.state = state
        self.linesDone = linesDone
        self.applied = applied
        self.refused = refused
        self.rejected = rejected
        self.failureReason = failureReason
        self.finishedAt = finishedAt
    }
}
