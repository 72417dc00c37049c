import CollectionsDomain

/// Write-off requests, their approvals, the outbox that carries them to MILES, and the audit log.
/// Every method is one transaction, and every change to a request is audited in it.
public protocol WriteOffStore: Sendable {
    /// Stores a request unless the same one exists; audited as `writeoff.requested`.
    func createWriteOffRequest(_ request: NewWriteOffRequest, requestedBy: String, at: Timestamp) throws -> WriteOffCreation

    func writeOffRequest(id: Int64) throws -> WriteOffRequest?

    /// Requests in id order, optionally only those in one state.
    func writeOffRequests(state: WriteOffRequest.State?) throws -> [WriteOffRequest]

    /// The request still waiting or queued for this contract, if any.
    func openWriteOffRequest(contractNumber: String) throws -> WriteOffRequest?

    /// Records an approval made by `WriteOffApprovalPolicy`; when `isFinal`, the request becomes
    /// approved and its PostWriteOff goes into the outbox in the same transaction. Fails if the
    /// request changed since it was read (another approval or a rejection came first).
    func recordApproval(requestId: Int64, approval: WriteOffApproval, expectedApprovals: Int, isFinal: Bool) throws

    func rejectWriteOffRequest(id: Int64, by actor: String, reason: String, at: Timestamp) throws
}

/// The outbox of writes to MILES.
public protocol OutboxStore: Sendable {
    /// Entries due for sending: pending ones whose time has come, and any left `sending` by a relay that died.
    func dueOutboxEntries(now: Timestamp, limit: Int) throws -> [OutboxEntry]

    func outboxEntries(state: OutboxEntry.State?) throws -> [OutboxEntry]

    /// How many entries are in each state, for monitoring.
    func outboxCounts() throws -> [OutboxEntry.State: Int]

    func outboxEntry(id: Int64) throws -> OutboxEntry?

    /// Marks an entry as being sent, committed before the request leaves.
    func markSending(_ entryId: Int64, at: Timestamp) throws

    /// MILES posted the write-off: the entry is sent and the request posted, with MILES's id, in one transaction.
    func recordWriteOffPosted(entryId: Int64, posted: PostedWriteOff, at: Timestamp) throws

    /// A retryable failure: back to pending, with the attempt counted and the next attempt's time.
    func recordRetry(entryId: Int64, error: String, nextAttemptAt: Timestamp, at: Timestamp) throws

    /// Given up: the entry is dead-lettered and its request failed, with the reason.
    func recordDeadLetter(entryId: Int64, reason: String, at: Timestamp) throws

    /// A person re-queues a dead-lettered entry (after fixing the cause).
    func retryOutboxEntry(id: Int64, by actor: String, at: Timestamp) throws

    /// A person sets an entry aside, with a reason.
    func skipOutboxEntry(id: Int64, by actor: String, reason: String, at: Timestamp) throws
}

/// The append-only, hash-chained audit log.
public protocol AuditStore: Sendable {
    func auditEntries() throws -> [AuditEntry]

    /// Checks every entry's hash against its content and its predecessor.
    func verifyAudit() throws -> AuditVerification
}

/// A change the store refused, with the reason to show.
public struct StoreRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
