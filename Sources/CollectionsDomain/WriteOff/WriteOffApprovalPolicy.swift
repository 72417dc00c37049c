/// The four-eyes rules for approving a write-off, as pure functions.
///
/// ```swift
/// let outcome = try WriteOffApprovalPolicy.approve(request, by: user, under: matrix, at: now, comment: nil)
/// if outcome.isFinal { /* queue PostWriteOff */ }
/// ```
public enum WriteOffApprovalPolicy {
    /// Why an approval was refused: each says what would be needed instead.
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case ownRequest(user: String)
        case roleTooLow(user: String, role: String, required: String)
        case alreadyApproved(user: String)
        case notPending(state: WriteOffRequest.State)
        case unknownRole(user: String, role: String)

        public var description: String {
            switch self {
            case let .ownRequest(user):
                return "\(user) raised this request and cannot approve it: another person must (maker-checker)"
            case let .roleTooLow(user, role, required):
                return "\(user) is \(role); this write-off needs a \(required) or above to approve it"
            case let .alreadyApproved(user):
                return "\(user) has already approved this request; the second approval must come from someone else"
            case let .notPending(state):
                return "the request is \(state.rawValue), not waiting for approval"
            case let .unknownRole(user, role):
                return "\(user)'s role '\(role)' is not in the authority matrix"
            }
        }
    }

    public struct Outcome: Sendable, Equatable {
        public var approval: WriteOffApproval
        /// True when this approval completes the approvals the request needs.
        public var isFinal: Bool
    }

    public static func approve(_ request: WriteOffRequest, by user: CollectionsUser, under matrix: AuthorityMatrix,
                               at time: Timestamp, comment: String?) throws(Refusal) -> Outcome {
        guard request.state == .pendingApproval else { throw .notPending(state: request.state) }
        guard user.name != request.requestedBy else { throw .ownRequest(user: user.name) }
        guard !request.approvals.contains(where: { $0.approver == user.name }) else { throw .alreadyApproved(user: user.name) }
        guard let role = matrix.role(named: user.role.name) else { throw .unknownRole(user: user.name, role: user.role.name) }
        // The authority needed is judged under the matrix in force now; the request keeps the version it was raised under.
        let required = matrix.requiredRole(for: request.amount, reason: request.reason)
        guard role.rank >= required.rank else {
            throw .roleTooLow(user: user.name, role: role.name, required: required.name)
        }
        let approval = WriteOffApproval(approver: user.name, role: role.name, matrixVersion: matrix.version, at: time, comment: comment)
        return Outcome(approval: approval, isFinal: request.approvals.count + 1 >= matrix.approvalsNeeded(for: request.amount))
    }
}
