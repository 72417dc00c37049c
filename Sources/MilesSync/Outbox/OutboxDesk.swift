import CollectionsDomain
import CollectionsStore

/// What people do with the outbox: look at it, re-queue a dead-lettered or skipped entry once its
/// cause is fixed, or set an entry aside. Each change is audited with the person.
///
/// ```swift
/// try await OutboxDesk(store: store).retry(entryId: 8, by: "carol")
/// ```
public struct OutboxDesk: Sendable {
    public let store: any OutboxStore
    let now: CollectionsClock

    public init(store: any OutboxStore, now: CollectionsClock = .system) {
        self.store = store
        self.now = now
    }

    public func entries(state: OutboxEntry.State?) async throws -> [OutboxEntry] {
        try await store.outboxEntries(state: state)
    }

    /// Throws `StoreError.wrongState` unless the entry is dead-lettered or skipped.
    public func retry(entryId: Int64, by actor: String) async throws {
        try await store.retryOutboxEntry(id: entryId, by: actor, at: now())
    }

    /// Throws `StoreError.wrongState` unless the entry is pending or dead-lettered.
    public func skip(entryId: Int64, by actor: String, reason: String) async throws {
        try await store.skipOutboxEntry(id: entryId, by: actor, reason: reason, at: now())
    }
}
