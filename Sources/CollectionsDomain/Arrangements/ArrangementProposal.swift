/// A payment arrangement proposed by an agent, waiting for (or past) its approval: the plan, how
/// the matrix judged it when proposed, and the approvals so far.
public struct ArrangementProposal: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case pendingApproval
        /// Approved; CreatePaymentArrangement is in the outbox.
        case approved
        /// MILES holds it; every sync checks the payments against it.
        case active
        /// An instalment was missed past the grace days: the PPBR status change waits for an approver.
        case broken
        /// Paid in full: the return to active waits for an approver.
        case completed
        /// Broken or completed, and the status change that follows was decided.
        case closed
        case rejected
        /// Cancelled before it reached MILES, or cancelled in MILES.
        case cancelled
        /// MILES refused it or it could not be sent; `failureReason` says why.
        case failed
    }

    public let id: Int64
    public let plan: PaymentArrangement
    public let assessment: ArrangementPolicy.Assessment
    public let proposedBy: String
    public var state: State
    public var approvals: [Approval]
    /// The customer's income and expenditure the plan was judged affordable against.
    public var income: IncomeAndExpenditure?
    public var milesArrangementId: String?
    /// What MILES had received on the contract when it created the arrangement: payments since are
    /// the rise above it.
    public var paidBefore: Money?
    /// How it ended (why it broke, was cancelled or rejected), and what went wrong on the way.
    public var outcome: String?
    /// Who asked MILES to end it, when someone did.
    public var cancelRequestedBy: String?

    public init(id: Int64, plan: PaymentArrangement, assessment: ArrangementPolicy.Assessment, proposedBy: String, state: State,
                approvals: [Approval], income: IncomeAndExpenditure? = nil, milesArrangementId: String? = nil, paidBefore: Money? = nil,
                outcome: String? = nil, cancelRequestedBy: String? = nil) {
        self.cancelRequestedBy = cancelRequestedBy
        self.id = id
        self.plan = plan
        self.assessment = assessment
        self.proposedBy = proposedBy
        self.state = state
        self.approvals = approvals
        self.income = income
        self.milesArrangementId = milesArrangementId
        self.paidBefore = paidBefore
        self.outcome = outcome
    }

    /// The reference MILES recognises a repeat of this arrangement's creation by.
    public var clientReference: String { OutboxKind.createPaymentArrangement.clientReference(forSubject: id) }
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
