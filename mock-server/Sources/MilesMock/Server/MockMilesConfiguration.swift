import CollectionsDomain

/// How the mock MILES is set up: its portfolio, its users and where it listens.
public struct MockMilesConfiguration: Sendable {
    /// How many contracts the seeded portfolio holds; served without holding them in memory.
    public var contractCount: Int
    /// The seed: the same seed always gives the same portfolio.
    public var seed: UInt64
    /// Username to password, for WS-Security.
    public var users: [String: String]
    /// Whether every call must carry a WS-Security `wsu:Timestamp` (Created, Expires), as Oracle- and
    /// OSB-style services demand. Off, a Timestamp is ignored, as services that do not use one do.
    public var requireTimestamp: Bool
    /// With `requireTimestamp`: how far ahead of the mock's clock a Timestamp's Created may be, the
    /// clock skew it forgives. An Expires at or before the mock's time is refused whatever this says.
    public var timestampClockSkewSeconds: Int
    /// The largest page FindContracts returns, whatever the caller asks for.
    public var maximumPageSize: Int
    /// The business "now" of the generated portfolio.
    public var baseTime: Timestamp
    /// The folder holding the WSDL and XSD the mock serves (`mappings/wsdl`).
    public var contractDirectory: String
    public var host: String
    /// Seeds the random faults (`percent`, random delays, garbage): the same seed replays the same run.
    public var faultSeed: UInt64
    /// 0 picks a free port.
    public var port: Int

    public static let defaultUsername = "collections-adapter"
    public static let defaultPassword = "mock-miles-password"

    public init(
        contractCount: Int = 10_000, seed: UInt64 = 42,
        users: [String: String] = [MockMilesConfiguration.defaultUsername: MockMilesConfiguration.defaultPassword],
        maximumPageSize: Int = 1000, baseTime: Timestamp = Timestamp.parse("2026-11-28T22:00:00Z")!,
        contractDirectory: String, host: String = "127.0.0.1", port: Int = 0, faultSeed: UInt64 = 1,
        requireTimestamp: Bool = false, timestampClockSkewSeconds: Int = 60
    ) {
        self.requireTimestamp = requireTimestamp
        self.timestampClockSkewSeconds = timestampClockSkewSeconds
        self.faultSeed = faultSeed
        self.contractCount = contractCount
        self.seed = seed
        self.users = users
        self.maximumPageSize = maximumPageSize
        self.baseTime = baseTime
        self.contractDirectory = contractDirectory
        self.host = host
        self.port = port
    }
}
