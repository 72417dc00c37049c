/// A token bucket per key (an agent, or a source address): `perMinute` requests at once, refilled evenly over the minute.
actor RateLimiter {
    private let capacity: Double
    private let refillPerSecond: Double
    private let clock = ContinuousClock()
    private var buckets: [String: (tokens: Double, at: ContinuousClock.Instant)] = [:]

    init(perMinute: Int) {
        capacity = Double(max(1, perMinute))
        refillPerSecond = Double(max(1, perMinute)) / 60
    }

    /// Takes one from the key's bucket (an agent, a source address); when it is empty, the seconds until one is back.
    func take(for key: String) -> Int? {
        var bucket = refilled(key)
        defer { buckets[key] = bucket }
        guard bucket.tokens >= 1 else { return Int(((1 - bucket.tokens) / refillPerSecond).rounded(.up)) }
        bucket.tokens -= 1
        return nil
    }

    /// The seconds until the key's bucket has one again, without taking: nil when it has one now.
    func wait(for key: String) -> Int? {
        let bucket = refilled(key)
        buckets[key] = bucket
        return bucket.tokens >= 1 ? nil : Int(((1 - bucket.tokens) / refillPerSecond).rounded(.up))
    }

    private func refilled(_ key: String) -> (tokens: Double, at: ContinuousClock.Instant) {
        let now = clock.now
        var bucket = buckets[key] ?? (capacity, now)
        let elapsed = bucket.at.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        bucket.tokens = min(capacity, bucket.tokens + seconds * refillPerSecond)
        bucket.at = now
        return bucket
    }
}
