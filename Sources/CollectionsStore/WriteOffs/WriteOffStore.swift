import CollectionsDomain

/// Write-off requests and their approvals. Every method is one transaction, and every change to a
/// request is audited in it.
public protocol WriteOffStore: Sendable {
    /// Stores a request unless the same one exists; audited as `writeoff.requested`.
    func createWriteOffRequest(_ request: NewWriteOffRequest, requestedBy: String, at: Timestamp) async throws -> RequestCreation

    func writeOffRequest(id: Int64) async throws -> WriteOffRequest?

    /// Requests in id order, optionally only those in one state.
    func writeOffRequests(state: WriteOffRequest.State?) async throws -> [WriteOffRequest]

    /// The `limit` most recent requests, newest first.
    func latestWriteOffRequests(limit: Int) async throws -> [WriteOffRequest]

    /// The contract's requests in any state, newest first: its page shows what was written off or asked for.
    func writeOffRequests(contractNumber: String) async throws -> [WriteOffRequest]

    /// Records an approval the desk decided under `WriteOffApprovalPolicy`; when `isFinal`, the request
    /// becomes approved and its PostWriteOff goes into the outbox in the same transaction. Throws
    /// `StoreError.changedMeanwhile` if the request changed since it was read (another approval or a
    /// rejection came first).
    func recordApproval(requestId: Int64, approval: Approval, expectedApprovals: Int, isFinal: Bool) async throws

    /// Throws `StoreError.wrongState` unless the request is waiting for approval.
    func rejectWriteOffRequest(id: Int64, by actor: String, reason: String, at: Timestamp) async throws
}
