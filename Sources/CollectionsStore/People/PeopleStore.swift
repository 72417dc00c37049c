import CollectionsDomain

/// The people who may sign in and act, their personal tokens, and their sign-in attempts. Every
/// change is audited with who made it.
public protocol PeopleStore: Sendable {
    func user(named name: String) async throws -> StoredUser?

    /// Everyone, by name.
    func users() async throws -> [StoredUser]

    /// Adds a person; `StoreError.duplicate` if the name is taken.
    func addUser(_ user: StoredUser, by actor: String, at: Timestamp) async throws

    /// Sets a new password hash, clears the failed sign-ins and unlocks; `mustChange` for a one-time password.
    func setPassword(name: String, hash: String, mustChange: Bool, by actor: String, at: Timestamp) async throws

    func setEnabled(name: String, enabled: Bool, by actor: String, reason: String, at: Timestamp) async throws

    /// Records a sign-in attempt: a success clears the failed count; the `lockAfter`-th failure in a
    /// row locks the account (audited). Returns the user afterwards.
    func recordSignIn(name: String, succeeded: Bool, lockAfter: Int, at: Timestamp) async throws -> StoredUser

    /// Keeps a personal token for `name`, as the SHA-256 of the token.
    func addPersonalToken(name: String, tokenHash: String, at: Timestamp) async throws

    /// The person whose personal token has this SHA-256, if any.
    func user(withTokenHash hash: String) async throws -> StoredUser?
}
