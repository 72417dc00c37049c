import CollectionsDomain

/// A delivery about to be recorded in the inbox.
public struct NewInboxFile: Sendable {
    public var agent: String
    public var sha256: String
    public var originalName: String
    public var storedPath: String
    public var size: Int64
    public var channel: String
    public var receivedAt: Timestamp

    public init(agent: String, sha256: String, originalName: String, storedPath: String, size: Int64, channel: String, receivedAt: Timestamp) {
        self.agent = agent
        self.sha256 = sha256
        self.originalName = originalName
        self.storedPath = storedPath
        self.size = size
        self.channel = channel
        self.receivedAt = receivedAt
    }
}
