import CollectionsDomain

/// A payment arrangement judged by the desk and ready to be stored: the plan, how the matrix
/// judged it, and the income and expenditure it was judged affordable against.
public struct NewArrangement: Sendable, Equatable {
    public var plan: PaymentArrangement
    public var assessment: ArrangementPolicy.Assessment
    public var income: IncomeAndExpenditure

    public init(plan: PaymentArrangement, assessment: ArrangementPolicy.Assessment, income: IncomeAndExpenditure) {
        self.plan = plan
        self.assessment = assessment
        self.income = income
    }
}

/// An arrangement an agent says it agreed with the customer: not a plan until someone in the team
/// proposes one (with the customer's income and expenditure) and it is approved under the matrix.
public struct ReportedArrangement: Sendable, Equatable {
    public var id: Int64
    public var contractNumber: String
    public var agent: String
    public var reportedOn: LocalDate
    /// What the agent said, and where (`file:line`).
    public var details: String
    public var source: String
    /// The arrangement proposed for the contract since, if any.
    public var proposal: Int64?

    public init(id: Int64, contractNumber: String, agent: String, reportedOn: LocalDate, details: String, source: String, proposal: Int64?) {
        self.id = id
        self.contractNumber = contractNumber
        self.agent = agent
        self.reportedOn = reportedOn
        self.details = details
        self.source = source
        self.proposal = proposal
    }
}

/// Payment arrangements from proposal to their end. Each method is one transaction with its audit
/// entries; the final approval queues CreatePaymentArrangement, a cancellation of an active one
/// CancelPaymentArrangement.
public protocol ArrangementStore: Sendable {
    /// Stores the proposal, and links it to the arrangements agents reported for the contract and no
    /// one had proposed. Throws `StoreError.duplicate` if the contract already has an arrangement
    /// that is not over (waiting, approved, active, or broken or completed and not yet closed).
    func createArrangement(_ arrangement: NewArrangement, proposedBy: String, at: Timestamp) async throws -> Int64

    func arrangement(id: Int64) async throws -> ArrangementProposal?

    /// Arrangements in id order, optionally only those in one state.
    func arrangements(state: ArrangementProposal.State?) async throws -> [ArrangementProposal]

    /// The contract's arrangements in any state, newest first: its page shows the plans proposed for it.
    func arrangements(contractNumber: String) async throws -> [ArrangementProposal]

    /// Records an approval decided under `MakerChecker`; when `isFinal` the arrangement is approved
    /// and CreatePaymentArrangement queued. Throws `StoreError.changedMeanwhile` if it changed since read.
    func recordArrangementApproval(id: Int64, approval: Approval, expectedApprovals: Int, isFinal: Bool) async throws

    /// Throws `StoreError.wrongState` unless it is waiting for approval.
    func rejectArrangement(id: Int64, by actor: String, reason: String, at: Timestamp) async throws

    /// A waiting arrangement is cancelled at once; an active one queues CancelPaymentArrangement, in
    /// `actor`'s name, and is cancelled when MILES confirms. Throws `StoreError.wrongState` otherwise.
    func cancelArrangement(id: Int64, by actor: String, reason: String, at: Timestamp) async throws

    /// A sync found an active arrangement broken or completed on `date`; `outcome` says how. The
    /// risk `alert` the break raised, if any, is raised in the same transaction.
    func recordArrangementOutcome(id: Int64, state: ArrangementProposal.State, outcome: String, on date: LocalDate, alert: RiskAlert?,
                                  at: Timestamp) async throws

    /// The days the contract's arrangements broke, oldest first.
    func arrangementBreaks(contractNumber: String) async throws -> [LocalDate]

    /// Arrangements agents reported, newest first: only those no one has proposed yet when `open`.
    func reportedArrangements(open: Bool, limit: Int) async throws -> [ReportedArrangement]

    /// A person decided what follows a broken or completed arrangement: `change` (checked by the
    /// desk) is queued, the arrangement closed and ended in MILES (CancelPaymentArrangement, unless
    /// a cancellation is already in the outbox), all in one transaction. Returns the status change's
    /// id; throws `StoreError.wrongState` unless it is broken or completed.
    func closeArrangement(id: Int64, by actor: String, change: StatusChange, at: Timestamp) async throws -> Int64
}
