/// The account the adapter uses with MILES, and how its WS-Security header presents it. The
/// password is never printed: `description` and `debugDescription` mask it, so it cannot leak
/// through a log line or an error.
public struct MilesCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum PasswordType: String, Sendable, CaseIterable {
        /// PasswordDigest: the password itself never travels. The default.
        case digest
        /// PasswordText: only over TLS, and only where the lessor's MILES demands it.
        case text
    }

    public var username: String
    public var password: String
    public var passwordType: PasswordType
    /// How long after its creation each message says it stays valid: the header carries a
    /// `wsu:Timestamp` whose Expires is Created plus this. Nil sends no Timestamp. 300 s by default:
    /// Oracle- and OSB-style services demand a Timestamp, and services that do not use one ignore it.
    public var timestampTimeToLive: Duration?

    public init(username: String, password: String, passwordType: PasswordType = .digest,
                timestampTimeToLive: Duration? = .seconds(300)) {
        self.username = username
        self.password = password
        self.passwordType = passwordType
        self.timestampTimeToLive = timestampTimeToLive
    }

    public var description: String {
        "MilesCredentials(username: \(username), password: ********, \(passwordType.rawValue), "
            + (timestampTimeToLive.map { "Timestamp expiring after \($0)" } ?? "no Timestamp") + ")"
    }
    public var debugDescription: String { description }
}
