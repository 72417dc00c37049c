import CollectionsDomain

/// Token buckets that every `serve` process sharing the store draws on, so an agent's rate (and a
/// source address's failed authentications) is one limit however many instances answer it.
public protocol RateLimitStore: Sendable {
    /// Refills `bucket` (`capacity` tokens, refilled evenly over a minute) to `now` and, when it has a
    /// token, takes one if `taking`. Returns nil when a token was there, else the seconds until one is.
    /// Atomic across processes.
    func drawToken(bucket: String, capacity: Int, now: Timestamp, taking: Bool) async throws -> Int?
}
