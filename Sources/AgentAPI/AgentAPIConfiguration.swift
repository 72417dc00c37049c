import HTTPServing

/// How `miles-adapter serve` listens and whom it lets in.
public struct AgentAPIConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (tests).
    public var port: Int
    /// A body above this many bytes is refused with 413, before anything of it is kept. The agent's
    /// own file limit (updates.limits.maxFileBytes) applies too.
    public var maxBodyBytes: Int
    /// Posts (and reads) per agent per minute; above it 429 with Retry-After.
    public var requestsPerMinute: Int
    /// Failed authentications per source address per minute; above it the source gets 429 without
    /// its token being looked at, until the minute refills.
    public var failedAuthenticationsPerMinute: Int
    /// How long a client may take to send a request, and to send the next one.
    public var deadlines: HTTPDeadlines
    /// Connections served at once; more wait to be accepted.
    public var maxConnections: Int
    /// A delivery not processed within this time is answered 202 with where to poll, and goes on in the background.
    public var answerWithin: Duration
    /// Each agent's bearer token, as the hex SHA-256 of the token: the token itself is never stored.
    public var tokenHashes: [String: String]

    public init(host: String = "127.0.0.1", port: Int = 8081, maxBodyBytes: Int = 10 << 20, requestsPerMinute: Int = 60,
                failedAuthenticationsPerMinute: Int = 10, deadlines: HTTPDeadlines = HTTPDeadlines(), maxConnections: Int = 256,
                answerWithin: Duration = .seconds(2), tokenHashes: [String: String]) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.requestsPerMinute = requestsPerMinute
        self.failedAuthenticationsPerMinute = failedAuthenticationsPerMinute
        self.deadlines = deadlines
        self.maxConnections = maxConnections
        self.answerWithin = answerWithin
        self.tokenHashes = tokenHashes
    }
}
