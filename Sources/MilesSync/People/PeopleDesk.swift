import CollectionsDomain
import CollectionsStore
import Crypto
import Foundation
import HummingbirdBcrypt
import MilesMapping

/// Who people are: the people who may act live in the store with a role of the authority matrix and
/// a bcrypt password hash; they prove who they are with their password (the workspace's sign-in, or a
/// prompt on a terminal) or a personal token they made with it (the command line in a script). A
/// claimed name proves nothing. Adding, disabling and resetting people needs the matrix's
/// `userAdministration` role, except for the very first person, who must hold it. Every change is audited.
///
/// ```swift
/// let desk = PeopleDesk(store: store, mappings: mappings)
/// let carol = try await desk.authenticate(name: "carol", password: typed)
/// ```
public struct PeopleDesk: Sendable {
    public let store: any PeopleStore
    public let mappings: MappingSet
    /// bcrypt's cost: 12 (about a quarter of a second a hash) unless a test asks for less.
    let cost: UInt8
    let now: CollectionsClock
    /// The names the adapter's unattended jobs act under in the audit log: no person may take one.
    static let reservedNames: Set<String> = ["outbox-relay", "ingest", "sync", "miles", "system", "push", "serve"]

    /// Wrong passwords in a row that lock an account.
    public static let lockAfter = 5

    public init(store: any PeopleStore, mappings: MappingSet, cost: UInt8 = 12, now: CollectionsClock = .system) {
        self.store = store
        self.mappings = mappings
        self.cost = cost
        self.now = now
    }

    /// Adds a person with `password` (made up and returned when nil, to be given to them once).
    /// `by` must hold `userAdministration`, unless nobody is in the store yet and the new person does.
    public func addUser(name: String, displayName: String?, role: String, password: String?, by admin: CollectionsUser?) async throws -> String {
        guard name.wholeMatch(of: /[a-z][a-z0-9._-]{0,63}/) != nil else {
            throw IdentityError(.invalidName, input: name, "a user name is lower-case letters, digits, '.', '_' or '-', starting with a letter")
        }
        guard !Self.reservedNames.contains(name), mappings.agents[name] == nil else {
            throw IdentityError(.invalidName, input: name, "'\(name)' names one of the adapter's own jobs in the audit log; choose another name")
        }
        guard let roleValue = mappings.authorityMatrix.role(named: role) else {
            throw IdentityError(.unknownRole, input: role, "no role '\(role)' in authority-matrix.yaml; roles are "
                                + mappings.authorityMatrix.tiers.map(\.role.name).joined(separator: ", "))
        }
        let administration = mappings.authorityMatrix.userAdministrationRole
        if let admin {
            try requireAdministration(admin)
        } else {
            guard try await store.users().isEmpty else {
                throw IdentityError(.notAuthenticated, input: name, "adding a user needs a \(administration.name) to sign in "
                                    + "(MILES_ADAPTER_TOKEN, or a password on a terminal)")
            }
            guard roleValue.rank >= administration.rank else {
                throw IdentityError(.notAuthorised, input: role, "the first user must be able to add the others: give them the role "
                                    + "\(administration.name) or above (userAdministration in authority-matrix.yaml)")
            }
        }
        let chosen = password ?? Self.oneTimePassword()
        try Self.checkStrength(chosen)
        try await store.addUser(StoredUser(name: name, displayName: displayName ?? name, role: roleValue.name,
                                           passwordHash: Bcrypt.hash(chosen, cost: cost), mustChangePassword: password == nil),
                                by: admin?.name ?? "first user (\(name))", at: now())
        return chosen
    }

    /// The person, if `password` is theirs and they may sign in; the fifth wrong password in a row locks them.
    /// Who exists, is disabled or is locked is told only to someone who gave the right password: an
    /// unknown name costs the same bcrypt check, and every wrong password gets the same answer.
    public func authenticate(name typed: String, password: String) async throws -> CollectionsUser {
        // Names are made in small letters without spaces (addUser), so " Bob" or "BOB" typed is bob, not a wrong guess recorded.
        let name = typed.trimmingCharacters(in: .whitespaces).lowercased()
        guard let user = try await store.user(named: name) else {
            _ = Bcrypt.verify(password, hash: Self.unknownUserHash)
            throw IdentityError(.wrongPassword, input: name, "wrong user name or password")
        }
        let right = Bcrypt.verify(password, hash: user.passwordHash)
        // Recorded in one transaction that refuses to reset a lock, so guesses in parallel cannot outrun it.
        let after = try await store.recordSignIn(name: name, succeeded: right, lockAfter: Self.lockAfter, at: now())
        guard right else { throw IdentityError(.wrongPassword, input: name, "wrong user name or password") }
        guard after.enabled else { throw IdentityError(.disabled, input: name, "\(name) is disabled; a \(adminName) can enable them again") }
        guard !after.locked else {
            throw IdentityError(.locked, input: name, "\(name) is locked after \(Self.lockAfter) wrong passwords; a \(adminName) resets the password")
        }
        return try person(user)
    }

    /// A bcrypt hash no password matches, checked for an unknown name so it takes as long as a known one.
    private static let unknownUserHash = Bcrypt.hash(UUID().uuidString, cost: 12)

    /// The person whose personal token this is, if they may still act.
    public func authenticate(token: String) async throws -> CollectionsUser {
        guard let user = try await store.user(withTokenHash: Self.hash(token)) else {
            throw IdentityError(.invalidToken, input: "MILES_ADAPTER_TOKEN", "the token is not any user's; 'miles-adapter users token NAME' makes one")
        }
        // A lock stops password guessing; a token is not a guess, so it still works (an attacker who
        // locked an administrator out of the sign-in form must not lock them out of resetting it).
        guard user.enabled else { throw IdentityError(.disabled, input: user.name, "\(user.name) is disabled") }
        return try person(user)
    }

    /// A new personal token for the signed-in person: shown once, kept only as its SHA-256.
    public func issueToken(for person: CollectionsUser) async throws -> String {
        var generator = SystemRandomNumberGenerator()
        let token = "mat_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
        try await store.addPersonalToken(name: person.name, tokenHash: Self.hash(token), at: now())
        return token
    }

    public func disable(name: String, reason: String, by admin: CollectionsUser) async throws {
        try requireAdministration(admin)
        try await store.setEnabled(name: name, enabled: false, by: admin.name, reason: reason, at: now())
    }

    public func enable(name: String, reason: String, by admin: CollectionsUser) async throws {
        try requireAdministration(admin)
        try await store.setEnabled(name: name, enabled: true, by: admin.name, reason: reason, at: now())
    }

    /// Sets a new one-time password (returned, to be given to the person) and unlocks the account.
    public func resetPassword(name: String, by admin: CollectionsUser) async throws -> String {
        try requireAdministration(admin)
        let password = Self.oneTimePassword()
        try await store.setPassword(name: name, hash: Bcrypt.hash(password, cost: cost), mustChange: true, by: admin.name, at: now())
        return password
    }

    /// The person changes their own password, proving they know the current one.
    public func changePassword(name: String, current: String, new password: String) async throws {
        let person = try await authenticate(name: name, password: current)
        try Self.checkStrength(password)
        guard password != current else { throw IdentityError(.weakPassword, input: "password", "the new password is the old one") }
        try await store.setPassword(name: person.name, hash: Bcrypt.hash(password, cost: cost), mustChange: false, by: person.name, at: now())
    }

    /// Whether the person still has a one-time password, which must be changed before they act.
    public func mustChangePassword(_ person: CollectionsUser) async throws -> Bool {
        try await store.user(named: person.name)?.mustChangePassword ?? false
    }

    private var adminName: String { mappings.authorityMatrix.userAdministrationRole.name }

    private func requireAdministration(_ admin: CollectionsUser) throws(IdentityError) {
        let needed = mappings.authorityMatrix.userAdministrationRole
        guard admin.role.rank >= needed.rank else {
            throw IdentityError(.notAuthorised, input: admin.name, "\(admin.name) is \(admin.role.name); managing users needs \(needed.name) "
                                + "or above (userAdministration in authority-matrix.yaml)")
        }
    }

    private func person(_ user: StoredUser) throws(IdentityError) -> CollectionsUser {
        guard let role = mappings.authorityMatrix.role(named: user.role) else {
            throw IdentityError(.unknownRole, input: user.role, "\(user.name)'s role '\(user.role)' is no longer in authority-matrix.yaml")
        }
        return CollectionsUser(name: user.name, role: role)
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Twenty random characters from an alphabet without look-alikes.
    static func oneTimePassword() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
    }

    static func checkStrength(_ password: String) throws(IdentityError) {
        guard password.count >= 12 else {
            throw IdentityError(.weakPassword, input: "password", "a password needs at least 12 characters")
        }
    }
}

/// Someone could not be authenticated or was not allowed; `input` names the person, role or setting.
public typealias IdentityError = CodedError<IdentityErrorCode>

/// What went wrong, for `IdentityError`.
public enum IdentityErrorCode: String, Sendable {
    /// No credentials were given where a person must be authenticated.
    case notAuthenticated
    /// Wrong user name or password (which of the two is not said).
    case wrongPassword
    /// The personal token is not any user's.
    case invalidToken
    case disabled
    /// Too many wrong passwords in a row.
    case locked
    /// The person's role is not enough for what they asked.
    case notAuthorised
    case unknownRole
    case invalidName
    case weakPassword
}
