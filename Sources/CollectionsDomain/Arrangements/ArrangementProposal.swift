/// A payment arrangement proposed by an agent, waiting for (or past) its approval: the plan, how
/// the matrix judged it when proposed, and the approvals so far.
public struct ArrangementProposal: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case pendingApproval, approved, rejected, cancelled
    }

    public let id: Int64
    public let plan: PaymentArrangement
    public let assessment: ArrangementPolicy.Assessment
    public let proposedBy: String
    public var state: State
    public var approvals: [WriteOffApproval]

    public init(id: Int64, plan: PaymentArrangement, assessment: ArrangementPolicy.Assessment, proposedBy: String, state: State,
                approvals: [WriteOffApproval]) {
        self.id = id
        self.plan = plan
        self.assessment = assessment
        self.proposedBy = proposedBy
        self.state = state
        self.approvals = approvals
    }
}

/// The four-eyes rules for approving a payment arrangement, as for a write-off: never the person
/// who proposed it, a role the plan's limits allow, and two different approvers when the matrix
/// asks for them.
public enum ArrangementApprovalPolicy {
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case ownProposal(user: String)
        case roleTooLow(user: String, role: String, required: String)
        case alreadyApproved(user: String)
        case notPending(state: ArrangementProposal.State)
        case unknownRole(user: String, role: String)

        public var description: String {
            switch self {
            case let .ownProposal(user):
                "\(user) proposed this arrangement and cannot approve it: another person must (maker-checker)"
            case let .roleTooLow(user, role, required):
                "\(user) is \(role); this arrangement needs a \(required) or above to approve it"
            case let .alreadyApproved(user):
                "\(user) has already approved this arrangement; the second approval must come from someone else"
            case let .notPending(state):
                "the arrangement is \(state.rawValue), not waiting for approval"
            case let .unknownRole(user, role):
                "\(user)'s role '\(role)' is not in the authority matrix"
            }
        }
    }

    public struct Outcome: Sendable, Equatable {
        public var approval: WriteOffApproval
        /// True when this approval completes the approvals the arrangement needs.
        public var isFinal: Bool
    }

    public static func approve(_ proposal: ArrangementProposal, by user: CollectionsUser, under matrix: AuthorityMatrix,
                               at time: Timestamp, comment: String?) throws(Refusal) -> Outcome {
        guard proposal.state == .pendingApproval else { throw .notPending(state: proposal.state) }
        guard user.name != proposal.proposedBy else { throw .ownProposal(user: user.name) }
        guard !proposal.approvals.contains(where: { $0.approver == user.name }) else { throw .alreadyApproved(user: user.name) }
        guard let role = matrix.role(named: user.role.name) else { throw .unknownRole(user: user.name, role: user.role.name) }
        let required = matrix.role(named: proposal.assessment.requiredRole.name) ?? matrix.tiers[matrix.tiers.count - 1].role
        guard role.rank >= required.rank else { throw .roleTooLow(user: user.name, role: role.name, required: required.name) }
        let approval = WriteOffApproval(approver: user.name, role: role.name, matrixVersion: matrix.version, at: time, comment: comment)
        return Outcome(approval: approval, isFinal: proposal.approvals.count + 1 >= proposal.assessment.approvalsNeeded)
    }
}
