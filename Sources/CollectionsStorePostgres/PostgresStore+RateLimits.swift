import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: RateLimitStore {
    public func drawToken(bucket: String, capacity: Int, now: Timestamp, taking: Bool) async throws -> Int? {
        let capacity = Double(max(1, capacity))
        let refillPerMillisecond = capacity / 60_000
        return try await transaction { connection in
            try await connection.query("""
                INSERT INTO rate_buckets (bucket, tokens, at) VALUES (\(bucket), \(capacity), \(now.millisecondsSinceEpoch))
                ON CONFLICT (bucket) DO NOTHING
                """, logger: logger)
            // Locked until the transaction ends: every serve process refills and takes in turn.
            guard let row = try await rows("SELECT tokens, at FROM rate_buckets WHERE bucket = \(bucket) FOR UPDATE", on: connection).first else {
                throw StoreError(.changedMeanwhile, input: "rate bucket \(bucket)", "rate bucket \(bucket) vanished while it was read")
            }
            let elapsed = Double(max(0, now.millisecondsSinceEpoch - (try row.value("at", as: Int64.self))))
            var tokens = min(capacity, try row.value("tokens", as: Double.self) + elapsed * refillPerMillisecond)
            let wait: Int? = tokens >= 1 ? nil : Int(((1 - tokens) / refillPerMillisecond / 1_000).rounded(.up))
            if wait == nil, taking { tokens -= 1 }
            try await connection.query("""
                UPDATE rate_buckets SET tokens = \(tokens), at = \(max(now.millisecondsSinceEpoch, try row.value("at", as: Int64.self)))
                WHERE bucket = \(bucket)
                """, logger: logger)
            return wait
        }
    }
}
