/// A token bucket per agent: `perMinute` requests at once, refilled evenly over the minute.
actor RateLimiter {
    private let capacity: Double
    private let refillPerSecond: Double
    private let clock = ContinuousClock()
    private var buckets: [String: (tokens: Double, at: ContinuousClock.Instant)] = [:]

    init(perMinute: Int) {
        capacity = Double(max(1, perMinute))
        refillPerSecond = Double(max(1, perMinute)) / 60
    }

    /// Takes one request from the agent's bucket; when it is empty, the seconds until one is back.
    func take(for agent: String) -> Int? {
        let now = clock.now
        var bucket = buckets[agent] ?? (capacity, now)
        let elapsed = bucket.at.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        bucket.tokens = min(capacity, bucket.tokens + seconds * refillPerSecond)
        bucket.at = now
        defer { buckets[agent] = bucket }
        guard bucket.tokens >= 1 else { return Int(((1 - bucket.tokens) / refillPerSecond).rounded(.up)) }
        bucket.tokens -= 1
        return nil
    }
}
