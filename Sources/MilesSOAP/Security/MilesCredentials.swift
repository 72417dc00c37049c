/// The account the adapter uses with MILES. The password is never printed: `description`
/// and `debugDescription` mask it, so it cannot leak through a log line or an error.
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

    public init(username: String, password: String, passwordType: PasswordType = .digest) {
        self.username = username
        self.password = password
        self.passwordType = passwordType
    }

    public var description: String { "MilesCredentials(username: \(username), password: ********, \(passwordType.rawValue))" }
    public var debugDescription: String { description }
}
