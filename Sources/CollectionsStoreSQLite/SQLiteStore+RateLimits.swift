import CollectionsDomain
import CollectionsStore
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
