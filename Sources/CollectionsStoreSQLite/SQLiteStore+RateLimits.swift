import CollectionsDomain
import CollectionsStore
import Foundation
import GRDB

extension SQLiteStore: RateLimitStore {
    public func drawToken(bucket: String, capacity: Int, now: Timestamp, taking: Bool) async throws -> Int? {
        let capacity = Double(max(1, capacity))
        let refillPerMillisecond = capacity / 60_000
        // IMMEDIATE: the read, the refill and the take are one step for every process sharing the store.
        return try immediateTransaction { db in
            let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT tokens, at FROM rate_buckets WHERE bucket = ?"), arguments: [bucket])
            let last: Int64 = row?["at"] ?? now.millisecondsSinceEpoch
            let elapsed = Double(max(0, now.millisecondsSinceEpoch - last))
            var tokens = min(capacity, (row?["tokens"] ?? capacity) + elapsed * refillPerMillisecond)
            let wait: Int? = tokens >= 1 ? nil : Int(((1 - tokens) / refillPerMillisecond / 1_000).rounded(.up))
            // A look, or a full bucket never drawn on, leaves nothing behind: only draws are kept.
            guard wait == nil, taking else { return wait }
            tokens -= 1
            // The later of the two clocks: a server whose clock is behind refills nothing twice.
            try db.cachedStatement(sql: """
                INSERT INTO rate_buckets (bucket, tokens, at) VALUES (?, ?, ?)
                ON CONFLICT(bucket) DO UPDATE SET tokens = excluded.tokens, at = excluded.at
                """).execute(arguments: [bucket, tokens, max(now.millisecondsSinceEpoch, last)])
            return nil
        }
    }
}

extension SQLiteStore: SchemaStore {
    public func migrations() async throws -> [SchemaMigration] {
        let applied = try read { db in try SQLiteSchema.migrator.appliedIdentifiers(db) }
        return SQLiteSchema.migrator.migrations.map { SchemaMigration(name: $0, isApplied: applied.contains($0), appliedAt: nil) }
    }
}

extension SQLiteStore {
    /// The migrations of the store at `path` and which are applied, without opening (or migrating) it.
    public static func schemaStatus(path: String) throws -> [SchemaMigration] {
        let applied: Set<String> = FileManager.default.fileExists(atPath: path)
            ? try DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }()).read { db in
                try SQLiteSchema.migrator.appliedIdentifiers(db)
            }
            : []
        return SQLiteSchema.migrator.migrations.map { SchemaMigration(name: $0, isApplied: applied.contains($0), appliedAt: nil) }
    }
}
