/// How `miles-adapter serve` listens and whom it lets in.
public struct AgentAPIConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (tests).
    public var port: Int
    /// A body above this many bytes is refused with 413 before anything is stored.
    public var maxBodyBytes: Int
    /// Posts (and reads) per agent per minute; above it 429 with Retry-After.
    public var requestsPerMinute: Int
    /// Each agent's bearer token, as the hex SHA-256 of the token: the token itself is never stored.
    public var tokenHashes: [String: String]

    public init(host: String = "127.0.0.1", port: Int = 8081, maxBodyBytes: Int = 10 << 20, requestsPerMinute: Int = 60,
                tokenHashes: [String: String]) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.requestsPerMinute = requestsPerMinute
        self.tokenHashes = tokenHashes
    }
}
