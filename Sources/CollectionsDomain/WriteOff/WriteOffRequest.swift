/// A request to write off debt on one contract, from preparation to its posting in MILES.
public struct WriteOffRequest: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Waiting for approval (or for its second approval).
        case pendingApproval
        /// Fully approved; the PostWriteOff is in the outbox.
        case approved
        /// MILES posted it; `milesWriteOffId` is set.
        case posted
        case rejected
        /// MILES refused it or it could not be sent; `failureReason` says why.
        case failed
    }

    public var id: Int64
    public var contractNumber: String
    public var invoiceNumbers: [String]
    public var amount: Money
    public var reason: WriteOffReason
    public var comment: String
    public var requestedBy: String
    public var requestedAt: Timestamp
    public var state: State
    /// The least role that may approve it, under `matrixVersion`.
    public var requiredRole: String
    public var approvalsNeeded: Int
    public var matrixVersion: Int
    public var approvals: [Approval]
    /// CONC 7.4: the debt still legally exists after a partial write-off, and the customer must be told.
    public var customerMustBeTold: Bool
    public var milesWriteOffId: String?
    public var failureReason: String?
    public var decidedAt: Timestamp?
    public var rejection: String?

    public init(id: Int64, contractNumber: String, invoiceNumbers: [String], amount: Money, reason: WriteOffReason,
                comment: String, requestedBy: String, requestedAt: Timestamp, state: State, requiredRole: String,
                approvalsNeeded: Int, matrixVersion: Int, approvals: [Approval], customerMustBeTold: Bool,
                milesWriteOffId: String? = nil, failureReason: String? = nil, decidedAt: Timestamp? = nil,
                rejection: String? = nil) {
        self.id = id
        self.contractNumber = contractNumber
        self.invoiceNumbers = invoiceNumbers
        self.amount = amount
        self.reason = reason
        self.comment = comment
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.state = state
        self.requiredRole = requiredRole
        self.approvalsNeeded = approvalsNeeded
        self.matrixVersion = matrixVersion
        self.approvals = approvals
        self.customerMustBeTold = customerMustBeTold
        self.milesWriteOffId = milesWriteOffId
        self.failureReason = failureReason
        self.decidedAt = decidedAt
        self.rejection = rejection
    }

    /// The reference MILES sees on every attempt to post this request: the same on every retry,
    /// so MILES can recognise a repeat and never post twice.
    public var clientReference: String { OutboxKind.postWriteOff.clientReference(forSubject: id) }
}
