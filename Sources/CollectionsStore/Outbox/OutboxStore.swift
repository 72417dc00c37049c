import CollectionsDomain

/// The outbox of writes to MILES, as the relay and the people who look after it see it. Entries
/// are put in by the other stores, in the transaction of the record they carry; here they are
/// claimed, settled with MILES's answer, retried or set aside.
///
/// Several push workers share the outbox: each claims entries with a lease, and settles them only
/// under the fence it claimed them with (`StoreError` `.leaseLost` otherwise: another worker took
/// the entry over after the lease expired, and its result is the one that stands).
public protocol OutboxStore: Sendable {
    /// Claims up to `limit` entries due for sending, in id order, for `worker` until `leaseUntil`: pending ones
    /// whose time has come and any left `sending`, that no worker holds, or whose holder's lease expired or
    /// whose holder `isGone` says has died, except a write that undoes another (`OutboxKind.undoes`) while that
    /// one is pending or sending. Each claimed entry's fence rises; a taken-over lease is audited.
    /// Atomic across processes: no two workers hold the same entry.
    func claimOutboxEntries(for worker: OutboxWorker, now: Timestamp, leaseUntil: Timestamp, limit: Int,
                            isGone: @Sendable (OutboxWorker) -> Bool) async throws -> [OutboxEntry]

    /// Extends the leases of `entries` (as claimed) to `until`; returns the ids of those the worker still holds.
    func renewOutboxLeases(_ entries: [OutboxEntry], until: Timestamp) async throws -> Set<Int64>

    /// Lets go of `entries` (as claimed) that the worker still holds, for another worker to take at once.
    func releaseOutboxLeases(_ entries: [OutboxEntry]) async throws

    /// How many entries wait, and when one can next be claimed.
    func outboxBacklog() async throws -> OutboxBacklog

    func outboxEntries(state: OutboxEntry.State?) async throws -> [OutboxEntry]

    /// The records the entries carry, by entry id, read together: one call for a relay's whole
    /// round rather than one per entry. An entry whose record is gone has no subject.
    func subjects(of entries: [OutboxEntry]) async throws -> [Int64: OutboxSubject]

    /// How many entries are in each state, for monitoring.
    func outboxCounts() async throws -> [OutboxEntry.State: Int]

    func outboxEntry(id: Int64) async throws -> OutboxEntry?

    /// Marks an entry (as claimed) as being sent, committed before the request leaves.
    func markSending(_ entry: OutboxEntry, at: Timestamp) async throws

    /// MILES posted the write-off: the entry is sent and the request posted, with MILES's id, in one transaction.
    func recordWriteOffPosted(_ entry: OutboxEntry, posted: PostedWriteOff, at: Timestamp) async throws

    /// MILES raised the credit note or made the reversal: the entry is sent and the record posted, with MILES's id, in one transaction.
    func recordCreditPosted(_ entry: OutboxEntry, posted: PostedCredit, at: Timestamp) async throws

    /// MILES will serve the letter: the entry is sent, the request issued with MILES's dates, and an
    /// arrears or default notice recorded with the date MILES serves it, in one transaction.
    func recordLetterIssued(_ entry: OutboxEntry, letter: IssuedLetter, at: Timestamp) async throws

    /// MILES created the arrangement: the entry is sent and the arrangement active, with MILES's id and
    /// what MILES had received on the contract then, in one transaction.
    func recordArrangementCreated(_ entry: OutboxEntry, created: CreatedArrangement, at: Timestamp) async throws

    /// MILES cancelled the arrangement: the entry is sent and the arrangement cancelled.
    func recordArrangementCancelled(_ entry: OutboxEntry, at: Timestamp) async throws

    /// MILES allocated the payment: the entry is sent and the allocation allocated, with MILES's id, in one transaction.
    func recordAllocationPosted(_ entry: OutboxEntry, milesAllocationId: String, at: Timestamp) async throws

    /// MILES reversed the allocation: the entry is sent and the allocation reversed, in one transaction.
    func recordAllocationReversed(_ entry: OutboxEntry, at: Timestamp) async throws

    /// MILES made the new version: the entry is sent and the change applied, in one transaction.
    func recordStatusApplied(_ entry: OutboxEntry, milesVersion: Int64, at: Timestamp) async throws

    /// MILES filed the note: the entry is sent and the note recorded with MILES's id.
    func recordNoteAdded(_ entry: OutboxEntry, milesNoteId: String, at: Timestamp) async throws

    /// MILES applied the change: the entry is sent and the customer in the store updated, in one transaction.
    func recordContactChangeApplied(_ entry: OutboxEntry, milesVersion: Int64, at: Timestamp) async throws

    /// After a version conflict: the status change (or contact change) the entry carries is to be
    /// re-sent against `version`, the one MILES has now, and the entry waits again, in one
    /// transaction fenced on the claim like `recordRetry`.
    func recordVersionConflictRetry(_ entry: OutboxEntry, version: Int64, error: String, nextAttemptAt: Timestamp, at: Timestamp) async throws

    /// A retryable failure: back to pending, with the attempt counted and the next attempt's time.
    func recordRetry(_ entry: OutboxEntry, error: String, nextAttemptAt: Timestamp, at: Timestamp) async throws

    /// Given up: the entry is dead-lettered and its business record failed, with the reason. An
    /// AllocatePayment MILES refused puts its payment back in the queue and takes with it the
    /// ReverseAllocation waiting for it (the bank returned the payment meanwhile): MILES never held the
    /// allocation, so nothing is left to reverse. One given up otherwise stays allocated: MILES may hold it.
    func recordDeadLetter(_ entry: OutboxEntry, reason: String, cause: DeadLetterCause, at: Timestamp) async throws

    /// A person re-queues a dead-lettered or skipped entry (after fixing the cause); an AllocatePayment
    /// takes its payment out of the queue again. Refused (`StoreError.wrongState`): an AllocatePayment
    /// whose payment the bank has since returned (it would allocate money taken back), and a
    /// ReverseAllocation whose allocation is already undone.
    func retryOutboxEntry(id: Int64, by actor: String, at: Timestamp) async throws

    /// A person sets a pending or dead-lettered entry aside, with a reason. An AllocatePayment set aside
    /// before any attempt (MILES never saw it) puts its bank entry back in the queue, its allocation refused.
    func skipOutboxEntry(id: Int64, by actor: String, reason: String, at: Timestamp) async throws
}
