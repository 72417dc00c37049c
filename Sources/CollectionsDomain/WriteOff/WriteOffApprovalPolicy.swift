/// The four-eyes rules for approving a write-off (`MakerChecker`), with the authority judged under
/// the matrix in force now; the request keeps the version it was raised under.
///
/// ```swift
/// let outcome = try WriteOffApprovalPolicy.approve(request, by: user, under: matrix, at: now, comment: nil)
/// if outcome.isFinal { /* queue PostWriteOff */ }
/// ```
public enum WriteOffApprovalPolicy {
    public static func approve(_ request: WriteOffRequest, by user: CollectionsUser, under matrix: AuthorityMatrix,
                               at time: Timestamp, comment: String?) throws(MakerChecker.Refusal) -> MakerChecker.Outcome {
        try MakerChecker.approve(
            "write-off request", raisedBy: request.requestedBy, state: request.state.rawValue, approvals: request.approvals,
            requiredRole: matrix.requiredRole(for: request.amount, reason: request.reason),
            approvalsNeeded: matrix.approvalsNeeded(for: request.amount), by: user, under: matrix, at: time, comment: comment)
    }
}
