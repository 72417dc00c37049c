import CollectionsDomain
import CollectionsStore
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL store's schema, as versioned migrations applied in order, each in the transaction
/// that records it. Several processes opening the store at once wait on one advisory lock, so a
/// migration runs once.
enum PostgresSchema {
    static let migrations: [(name: String, statements: [PostgresQuery])] = [
        ("v1: audit log, job locks, rate limits", [
            """
            CREATE TABLE audit_log (
                sequence BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                subject TEXT NOT NULL, details TEXT NOT NULL, previous_hash TEXT NOT NULL, hash TEXT NOT NULL)
            """,
            "CREATE INDEX audit_log_subject ON audit_log (subject, sequence)",
            // The chain's last link, locked by each append: appends are serialised, and a deleted
            // last entry shows as a head beyond the log.
            "CREATE TABLE audit_head (id INT PRIMARY KEY CHECK (id = 1), sequence BIGINT NOT NULL, hash TEXT NOT NULL)",
            "INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, \(AuditChain.genesisHash))",
            "CREATE TABLE job_locks (job TEXT PRIMARY KEY, process_id INT NOT NULL, host TEXT NOT NULL, since BIGINT NOT NULL)",
            "CREATE TABLE rate_buckets (bucket TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, at BIGINT NOT NULL)",
        ]),
    ]

    /// Applies the migrations not yet applied.
    static func migrate(_ store: PostgresStore) async throws {
        try await store.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('miles-adapter schema'))", logger: store.logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: store.logger)
            let applied = Set(try await store.rows("SELECT name FROM schema_migrations", on: connection).map { try $0.value("name", as: String.self) })
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try await connection.query(statement, logger: store.logger) }
                try await connection.query("INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger: store.logger)
            }
        }
    }
}

extension PostgresStore: SchemaStore {
    public func migrations() async throws -> [SchemaMigration] {
        let applied = try await read { connection in
            try await rows("SELECT name, applied_at FROM schema_migrations", on: connection).map { row in
                (try row.value("name", as: String.self), try row.value("applied_at", as: Date.self))
            }
        }
        let appliedAt = Dictionary(applied, uniquingKeysWith: { first, _ in first })
        return PostgresSchema.migrations.map { migration in
            SchemaMigration(name: migration.name, isApplied: appliedAt[migration.name] != nil,
                            appliedAt: appliedAt[migration.name].map { Timestamp(millisecondsSinceEpoch: Int64($0.timeIntervalSince1970 * 1000)) })
        }
    }
}

extension PostgresStore {
    /// The migrations of the store at `location` and which are applied, without migrating it.
    public static func schemaStatus(location: PostgresLocation, logger: Logger = Logger(label: "miles-adapter.postgres")) async throws -> [SchemaMigration] {
        let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: PostgresStore.poolLogger(logger))
        return try await withThrowingTaskGroup(of: [SchemaMigration]?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            let exists = try await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").collect()
                .first?.makeRandomAccess().value("present", as: Bool.self) ?? false
            var appliedAt: [String: Date] = [:]
            if exists {
                for row in try await client.query("SELECT name, applied_at FROM schema_migrations").collect().map({ $0.makeRandomAccess() }) {
                    appliedAt[try row.value("name", as: String.self)] = try row.value("applied_at", as: Date.self)
                }
            }
            return PostgresSchema.migrations.map { migration in
                SchemaMigration(name: migration.name, isApplied: appliedAt[migration.name] != nil,
                                appliedAt: appliedAt[migration.name].map { Timestamp(millisecondsSinceEpoch: Int64($0.timeIntervalSince1970 * 1000)) })
            }
        }
    }
}
