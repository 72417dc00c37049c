import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore: PeopleStore {
    public func user(named name: String) async throws -> StoredUser? {
        try read { db in try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE name = ?"), arguments: [name]).map(Self.storedUser) }
    }

    public func users() async throws -> [StoredUser] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY name").map(Self.storedUser) }
    }

    public func addUser(_ user: StoredUser, by actor: String, at: Timestamp) async throws {
        try transaction { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ?", arguments: [user.name]) == nil else {
                throw StoreError(.duplicate, input: "user \(user.name)", "there is already a user \(user.name)")
            }
            try db.execute(sql: """
                INSERT INTO users (name, display_name, role, password_hash, enabled, must_change_password) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [user.name, user.displayName, user.role, user.passwordHash, user.enabled, user.mustChangePassword])
            try audit(db, at: at, actor: actor, action: "user.added", subject: "user:\(user.name)",
                      details: "\(user.displayName), role \(user.role)")
        }
    }

    public func setPassword(name: String, hash: String, mustChange: Bool, by actor: String, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: "UPDATE users SET password_hash = ?, failed_sign_ins = 0, locked = 0, must_change_password = ? WHERE name = ?",
                           arguments: [hash, mustChange, name])
            guard db.changesCount > 0 else { throw StoreError(.notFound, input: "user \(name)", "there is no user \(name)") }
            try audit(db, at: at, actor: actor, action: "user.password-set", subject: "user:\(name)",
                      details: mustChange ? "a one-time password set; unlocked" : "password changed")
        }
    }

    public func setEnabled(name: String, enabled: Bool, by actor: String, reason: String, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: "UPDATE users SET enabled = ? WHERE name = ?", arguments: [enabled, name])
            guard db.changesCount > 0 else { throw StoreError(.notFound, input: "user \(name)", "there is no user \(name)") }
            try audit(db, at: at, actor: actor, action: enabled ? "user.enabled" : "user.disabled", subject: "user:\(name)", details: reason)
        }
    }

    public func recordSignIn(name: String, succeeded: Bool, lockAfter: Int, at: Timestamp) async throws -> StoredUser {
        try transaction { db in
            guard var user = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ?", arguments: [name]).map(Self.storedUser) else {
                throw StoreError(.notFound, input: "user \(name)", "there is no user \(name)")
            }
            if succeeded {
                // A lock (from guesses made meanwhile) stays until a password reset.
                if !user.locked { user.failedSignIns = 0 }
            } else {
                user.failedSignIns += 1
                if !user.locked, user.failedSignIns >= lockAfter {
                    user.locked = true
                    try audit(db, at: at, actor: name, action: "user.locked", subject: "user:\(name)",
                              details: "\(user.failedSignIns) wrong passwords in a row")
                }
            }
            try db.execute(sql: "UPDATE users SET failed_sign_ins = ?, locked = ? WHERE name = ?", arguments: [user.failedSignIns, user.locked, name])
            return user
        }
    }

    public func addPersonalToken(name: String, tokenHash: String, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: "INSERT INTO personal_tokens (token_hash, user_name, created_at) VALUES (?, ?, ?)",
                           arguments: [tokenHash, name, at.millisecondsSinceEpoch])
            try audit(db, at: at, actor: name, action: "user.token-issued", subject: "user:\(name)", details: "a personal token for the command line")
        }
    }

    public func user(withTokenHash hash: String) async throws -> StoredUser? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT u.* FROM users u JOIN personal_tokens t ON t.user_name = u.name WHERE t.token_hash = ?",
                             arguments: [hash]).map(Self.storedUser)
        }
    }

    static func storedUser(_ row: Row) -> StoredUser {
        StoredUser(name: row["name"], displayName: row["display_name"], role: row["role"], passwordHash: row["password_hash"],
                   enabled: row["enabled"], failedSignIns: row["failed_sign_ins"], locked: row["locked"],
                   mustChangePassword: row["must_change_password"])
    }
}
