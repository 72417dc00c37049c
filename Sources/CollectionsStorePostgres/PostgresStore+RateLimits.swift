import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: RateLimitStore {
    public func drawToken(bucket: String, capacity: Int, now: Timestamp, taking: Bool) async throws -> Int? {
        let capacity = Double(max(1, capacity))
        let refillPerMillisecond = capacity / 60_000
        /// The tokens in the bucket now, refilled since it was last drawn on, and the seconds until one is there.
        @Sendable func refilled(_ row: PostgresRandomAccessRow?) throws -> (tokens: Double, last: Int64, wait: Int?) {
            let last = try row?.value("at", as: Int64.self) ?? now.millisecondsSinceEpoch
            let tokens = min(capacity, (try row?.value("tokens", as: Double.self) ?? capacity)
                + Double(max(0, now.millisecondsSinceEpoch - last)) * refillPerMillisecond)
            return (tokens, last, tokens >= 1 ? nil : Int(((1 - tokens) / refillPerMillisecond / 1_000).rounded(.up)))
        }
        // A look leaves nothing behind: only draws are kept.
        guard taking else {
            return try await read { [self] connection in
                try refilled(try await rows("SELECT tokens, at FROM rate_buckets WHERE bucket = \(bucket)", on: connection).first).wait
            }
        }
        return try await transaction { [self] connection in
            try await connection.query("""
                INSERT INTO rate_buckets (bucket, tokens, at) VALUES (\(bucket), \(capacity), \(now.millisecondsSinceEpoch))
                ON CONFLICT (bucket) DO NOTHING
                """, logger: logger)
            // Locked until the transaction ends: every serve process refills and takes in turn.
            guard let row = try await rows("SELECT tokens, at FROM rate_buckets WHERE bucket = \(bucket) FOR UPDATE", on: connection).first else {
                throw StoreError(.changedMeanwhile, input: "rate bucket \(bucket)", "rate bucket \(bucket) vanished while it was read")
            }
            let bucketNow = try refilled(row)
            guard bucketNow.wait == nil else { return bucketNow.wait }
            // The later of the two clocks: a server whose clock is behind refills nothing twice.
            try await connection.query("""
                UPDATE rate_buckets SET tokens = \(bucketNow.tokens - 1), at = \(max(now.millisecondsSinceEpoch, bucketNow.last))
                WHERE bucket = \(bucket)
                """, logger: logger)
            return nil
        }
    }
}
