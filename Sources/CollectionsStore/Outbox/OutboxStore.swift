import CollectionsDomain

/// The outbox of writes to MILES, as the relay and the people who look after it see it. Entries
/// are put in by the other stores, in the transaction of the record they carry; here they are
/// claimed, settled with MILES's answer, retried or set aside.
public protocol OutboxStore: Sendable {
    /// Entries due for sending: pending ones whose time has come, and any left `sending` by a relay that died.
    func dueOutboxEntries(now: Timestamp, limit: Int) async throws -> [OutboxEntry]

    func outboxEntries(state: OutboxEntry.State?) async throws -> [OutboxEntry]

    /// The records the entries carry, by entry id, read together: one call for a relay's whole
    /// round rather than one per entry. An entry whose record is gone has no subject.
    func subjects(of entries: [OutboxEntry]) async throws -> [Int64: OutboxSubject]

    /// How many entries are in each state, for monitoring.
    func outboxCounts() async throws -> [OutboxEntry.State: Int]

    func outboxEntry(id: Int64) async throws -> OutboxEntry?

    /// Marks an entry as being sent, committed before the request leaves.
    func markSending(_ entryId: Int64, at: Timestamp) async throws

    /// MILES posted the write-off: the entry is sent and the request posted, with MILES's id, in one transaction.
    func recordWriteOffPosted(entryId: Int64, posted: PostedWriteOff, at: Timestamp) async throws

    /// MILES raised the credit note or made the reversal: the entry is sent and the record posted, with MILES's id, in one transaction.
    func recordCreditPosted(entryId: Int64, posted: PostedCredit, at: Timestamp) async throws

    /// MILES will serve the letter: the entry is sent, the request issued with MILES's dates, and an
    /// arrears or default notice recorded with the date MILES serves it, in one transaction.
    func recordLetterIssued(entryId: Int64, letter: IssuedLetter, at: Timestamp) async throws

    /// MILES created the arrangement: the entry is sent and the arrangement active, with MILES's id and
    /// what MILES had received on the contract then, in one transaction.
    func recordArrangementCreated(entryId: Int64, created: CreatedArrangement, at: Timestamp) async throws

    /// MILES cancelled the arrangement: the entry is sent and the arrangement cancelled.
    func recordArrangementCancelled(entryId: Int64, at: Timestamp) async throws

    /// MILES made the new version: the entry is sent and the change applied, in one transaction.
    func recordStatusApplied(entryId: Int64, milesVersion: Int64, at: Timestamp) async throws

    /// MILES filed the note: the entry is sent and the note recorded with MILES's id.
    func recordNoteAdded(entryId: Int64, milesNoteId: String, at: Timestamp) async throws

    /// MILES applied the change: the entry is sent and the customer in the store updated, in one transaction.
    func recordContactChangeApplied(entryId: Int64, milesVersion: Int64, at: Timestamp) async throws

    /// After a version conflict the status change is re-sent against the version MILES has now.
    func updateExpectedVersion(statusChangeId: Int64, to version: Int64) async throws

    /// After a version conflict the contact change is re-sent against the partner version MILES has now.
    func updateContactChangeVersion(id: Int64, to version: Int64) async throws

    /// A retryable failure: back to pending, with the attempt counted and the next attempt's time.
    func recordRetry(entryId: Int64, error: String, nextAttemptAt: Timestamp, at: Timestamp) async throws

    /// Given up: the entry is dead-lettered and its business record failed, with the reason.
    func recordDeadLetter(entryId: Int64, reason: String, at: Timestamp) async throws

    /// A person re-queues a dead-lettered or skipped entry (after fixing the cause).
    func retryOutboxEntry(id: Int64, by actor: String, at: Timestamp) async throws

    /// A person sets a pending or dead-lettered entry aside, with a reason.
    func skipOutboxEntry(id: Int64, by actor: String, reason: String, at: Timestamp) async throws
}
