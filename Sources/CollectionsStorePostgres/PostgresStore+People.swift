import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: PeopleStore {
    public func user(named name: String) async throws -> StoredUser? {
        try await read { [self] connection in try await rows("SELECT * FROM users WHERE name = \(name)", on: connection).first.map(Self.storedUser) }
    }

    public func users() async throws -> [StoredUser] {
        try await read { [self] connection in try await rows("SELECT * FROM users ORDER BY name", on: connection).map(Self.storedUser) }
    }

    public func addUser(_ user: StoredUser, by actor: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let added = try await rows("""
                INSERT INTO users (name, display_name, role, password_hash, enabled, must_change_password)
                VALUES (\(user.name), \(user.displayName), \(user.role), \(user.passwordHash), \(user.enabled), \(user.mustChangePassword))
                ON CONFLICT (name) DO NOTHING RETURNING name
                """, on: connection)
            guard !added.isEmpty else { throw StoreError(.duplicate, input: "user \(user.name)", "there is already a user \(user.name)") }
            try await audit(connection, at: at, actor: actor, action: "user.added", subject: "user:\(user.name)",
                            details: "\(user.displayName), role \(user.role)")
        }
    }

    public func setPassword(name: String, hash: String, mustChange: Bool, by actor: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let changed = try await rows("""
                UPDATE users SET password_hash = \(hash), failed_sign_ins = 0, locked = FALSE, must_change_password = \(mustChange)
                WHERE name = \(name) RETURNING name
                """, on: connection)
            guard !changed.isEmpty else { throw StoreError(.notFound, input: "user \(name)", "there is no user \(name)") }
            try await audit(connection, at: at, actor: actor, action: "user.password-set", subject: "user:\(name)",
                            details: mustChange ? "a one-time password set; unlocked" : "password changed")
        }
    }

    public func setEnabled(name: String, enabled: Bool, by actor: String, reason: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let changed = try await rows("UPDATE users SET enabled = \(enabled) WHERE name = \(name) RETURNING name", on: connection)
            guard !changed.isEmpty else { throw StoreError(.notFound, input: "user \(name)", "there is no user \(name)") }
            try await audit(connection, at: at, actor: actor, action: enabled ? "user.enabled" : "user.disabled", subject: "user:\(name)",
                            details: reason)
        }
    }

    public func recordSignIn(name: String, succeeded: Bool, lockAfter: Int, at: Timestamp) async throws -> StoredUser {
        try await transaction { [self] connection in
            // Locked while counted: guesses at two servers at once are each counted.
            guard var user = try await rows("SELECT * FROM users WHERE name = \(name) FOR UPDATE", on: connection).first.map(Self.storedUser) else {
                throw StoreError(.notFound, input: "user \(name)", "there is no user \(name)")
            }
            if succeeded {
                // A lock (from guesses made meanwhile) stays until a password reset.
                if !user.locked { user.failedSignIns = 0 }
            } else {
                user.failedSignIns += 1
                if !user.locked, user.failedSignIns >= lockAfter {
                    user.locked = true
                    try await audit(connection, at: at, actor: name, action: "user.locked", subject: "user:\(name)",
                                    details: "\(user.failedSignIns) wrong passwords in a row")
                }
            }
            try await connection.query("""
                UPDATE users SET failed_sign_ins = \(Int32(user.failedSignIns)), locked = \(user.locked) WHERE name = \(name)
                """, logger: logger)
            return user
        }
    }

    public func addPersonalToken(name: String, tokenHash: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            try await connection.query("""
                INSERT INTO personal_tokens (token_hash, user_name, created_at) VALUES (\(tokenHash), \(name), \(at.millisecondsSinceEpoch))
                """, logger: logger)
            try await audit(connection, at: at, actor: name, action: "user.token-issued", subject: "user:\(name)",
                            details: "a personal token for the command line")
        }
    }

    public func user(withTokenHash hash: String) async throws -> StoredUser? {
        try await read { [self] connection in
            try await rows("SELECT u.* FROM users u JOIN personal_tokens t ON t.user_name = u.name WHERE t.token_hash = \(hash)", on: connection)
                .first.map(Self.storedUser)
        }
    }

    static func storedUser(_ row: PostgresRandomAccessRow) throws -> StoredUser {
        StoredUser(name: try row.value("name"), displayName: try row.value("display_name"), role: try row.value("role"),
                   passwordHash: try row.value("password_hash"), enabled: try row.value("enabled"),
                   failedSignIns: Int(try row.value("failed_sign_ins", as: Int32.self)), locked: try row.value("locked"),
                   mustChangePassword: try row.value("must_change_password"))
    }
}
