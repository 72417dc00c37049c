/// A person who may sign in, as the store keeps them: their role is one of the authority matrix's;
/// the password is kept only as its bcrypt hash.
public struct StoredUser: Sendable, Equatable {
    public var name: String
    public var displayName: String
    /// A role of `authority-matrix.yaml`.
    public var role: String
    /// bcrypt, never the password.
    public var passwordHash: String
    public var enabled: Bool
    /// Wrong passwords since the last right one.
    public var failedSignIns: Int
    /// Locked after too many wrong passwords; a password reset unlocks.
    public var locked: Bool
    /// The password is a one-time password someone else saw: it must be changed before anything else.
    public var mustChangePassword: Bool

    public init(name: String, displayName: String, role: String, passwordHash: String, enabled: Bool = true, failedSignIns: Int = 0,
                locked: Bool = false, mustChangePassword: Bool = false) {
        self.mustChangePassword = mustChangePassword
        self.name = name
        self.displayName = displayName
        self.role = role
        self.passwordHash = passwordHash
        self.enabled = enabled
        self.failedSignIns = failedSignIns
        self.locked = locked
    }
}
