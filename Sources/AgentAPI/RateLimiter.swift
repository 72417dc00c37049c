import CollectionsDomain
import CollectionsStore

/// A token bucket per key (an agent, or a source address): `perMinute` requests at once, refilled
/// evenly over the minute. The buckets are in the store, so every `serve` process sharing it draws
/// on the same ones.
struct RateLimiter: Sendable {
    let store: any RateLimitStore
    /// Which limit this is, in the bucket's name: `requests`, `failed-authentications`.
    let name: String
    let perMinute: Int
    let now: CollectionsClock

    /// Takes one from the key's bucket; when it is empty, the seconds until one is back.
    func take(for key: String) async throws -> Int? {
        try await store.drawToken(bucket: "\(name):\(key)", capacity: perMinute, now: now(), taking: true)
    }

    /// The seconds until the key's bucket has one again, without taking: nil when it has one now.
    func wait(for key: String) async throws -> Int? {
        try await store.drawToken(bucket: "\(name):\(key)", capacity: perMinute, now: now(), taking: false)
    }
}
