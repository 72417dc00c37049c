import CollectionsDomain

/// One write to MILES waiting in the outbox, or already done with. Written in the same
/// transaction as the business record it carries, so nothing decided is ever lost.
public struct OutboxEntry: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Waiting to be sent (or sent again after a retryable failure).
        case pending
        /// Being sent: if the relay died here, MILES may have applied it; ask before sending again.
        case sending
        case sent
        /// Given up on: a business refusal, or too many failed attempts. `outbox retry` re-queues it.
        case deadLetter
        /// Set aside by a person with `outbox skip`.
        case skipped
    }

    /// What the entry sends; `OutboxKind` is the one definition of each kind and its reference.
    public typealias Kind = OutboxKind

    public var id: Int64
    public var kind: Kind
    /// The reference MILES sees on every attempt: MILES recognises repeats by it.
    public var clientReference: String
    /// The business record it carries: a write-off request, status change or note id.
    public var subjectId: Int64
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    public var lastError: String?
    /// MILES's id for the result, once sent.
    public var resultReference: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// The push worker holding the entry, and until when; nil when no worker holds it.
    public var lease: OutboxLease?
    /// Rises each time a worker claims the entry (or a person retries or skips it): a worker's result
    /// is recorded only while the fence is the one it claimed under, so a worker whose lease was
    /// taken over cannot overwrite what the new holder did.
    public var fence: Int64

    public init(id: Int64, kind: Kind, clientReference: String, subjectId: Int64, state: State, attempts: Int, nextAttemptAt: Timestamp,
                lastError: String?, resultReference: String?, createdAt: Timestamp, updatedAt: Timestamp,
                lease: OutboxLease? = nil, fence: Int64 = 0) {
        self.id = id
        self.kind = kind
        self.clientReference = clientReference
        self.subjectId = subjectId
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.resultReference = resultReference
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lease = lease
        self.fence = fence
    }
}
