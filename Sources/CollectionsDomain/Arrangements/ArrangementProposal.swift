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
    public var approvals: [Approval]

    public init(id: Int64, plan: PaymentArrangement, assessment: ArrangementPolicy.Assessment, proposedBy: String, state: State,
                approvals: [Approval]) {
        self.id = id
        self.plan = plan
        self.assessment = assessment
        self.proposedBy = proposedBy
        self.state = state
        self.approvals = approvals
    }
}

/// The four-eyes rules for approving a payment arrangement (`MakerChecker`): the role and the
/// number of approvers are those the plan's assessment found when it was proposed.
public enum ArrangementApprovalPolicy {
    public static func approve(_ proposal: ArrangementProposal, by user: CollectionsUser, under matrix: AuthorityMatrix,
                               at time: Timestamp, comment: String?) throws(MakerChecker.Refusal) -> MakerChecker.Outcome {
        let required = matrix.role(named: proposal.assessment.requiredRole.name) ?? matrix.tiers[matrix.tiers.count - 1].role
        return try MakerChecker.approve(
            "arrangement", raisedBy: proposal.proposedBy, state: proposal.state.rawValue, approvals: proposal.approvals,
            requiredRole: required, approvalsNeeded: proposal.assessment.approvalsNeeded, by: user, under: matrix, at: time, comment: comment)
    }
}
