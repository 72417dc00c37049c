/// What every money decision that waits for approval before it reaches MILES carries, whatever
/// it decides (a credit note, a write-off reversal): who raised it, the authority it needs under
/// the matrix it was raised under, its approvals, and how it ended.
public struct ApprovalTrail: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Waiting for approval (or for its second approval).
        case pendingApproval
        /// Fully approved; its call to MILES is in the outbox.
        case approved
        /// MILES applied it; `milesReference` is MILES's id for it.
        case posted
        case rejected
        /// MILES refused it or it could not be sent; `failureReason` says why.
        case failed
    }

    public var requestedBy: String
    public var requestedAt: Timestamp
    public var state: State
    /// The least role that may approve it, under `matrixVersion`.
    public var requiredRole: String
    public var approvalsNeeded: Int
    public var matrixVersion: Int
    public var approvals: [Approval]
    public var milesReference: String?
    public var failureReason: String?
    public var decidedAt: Timestamp?
    public var rejection: String?

    public init(requestedBy: String, requestedAt: Timestamp, state: State, requiredRole: String, approvalsNeeded: Int, matrixVersion: Int,
                approvals: [Approval] = [], milesReference: String? = nil, failureReason: String? = nil, decidedAt: Timestamp? = nil,
                rejection: String? = nil) {
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.state = state
        self.requiredRole = requiredRole
        self.approvalsNeeded = approvalsNeeded
        self.matrixVersion = matrixVersion
        self.approvals = approvals
        self.milesReference = milesReference
        self.failureReason = failureReason
        self.decidedAt = decidedAt
        self.rejection = rejection
    }

    /// `user`'s approval judged under `MakerChecker`, with the authority needed now under `matrix`.
    public func approve(_ record: String, requiredRole: CollectionsRole, approvalsNeeded: Int, by user: CollectionsUser,
                        under matrix: AuthorityMatrix, at time: Timestamp, comment: String?) throws(MakerChecker.Refusal) -> MakerChecker.Outcome {
        try MakerChecker.approve(record, raisedBy: requestedBy, state: state.rawValue, approvals: approvals, requiredRole: requiredRole,
                                 approvalsNeeded: approvalsNeeded, by: user, under: matrix, at: time, comment: comment)
    }
}
