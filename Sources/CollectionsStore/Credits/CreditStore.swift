import CollectionsDomain

/// A credit note checked by the desk and ready to be stored.
public struct NewCreditNote: Sendable, Equatable {
    public var contractNumber: String
    public var invoiceNumbers: [String]
    public var amount: Money
    public var reasonCode: String
    public var comment: String
    public var requiredRole: String
    public var approvalsNeeded: Int
    public var matrixVersion: Int

    public init(contractNumber: String, invoiceNumbers: [String], amount: Money, reasonCode: String, comment: String, requiredRole: String,
                approvalsNeeded: Int, matrixVersion: Int) {
        self.contractNumber = contractNumber
        self.invoiceNumbers = invoiceNumbers
        self.amount = amount
        self.reasonCode = reasonCode
        self.comment = comment
        self.requiredRole = requiredRole
        self.approvalsNeeded = approvalsNeeded
        self.matrixVersion = matrixVersion
    }
}

/// A reversal of a posted write-off, checked by the desk and ready to be stored.
public struct NewWriteOffReversal: Sendable, Equatable {
    public var writeOffRequestId: Int64
    public var amount: Money
    public var reasonCode: String
    public var comment: String
    public var requiredRole: String
    public var approvalsNeeded: Int
    public var matrixVersion: Int

    public init(writeOffRequestId: Int64, amount: Money, reasonCode: String, comment: String, requiredRole: String, approvalsNeeded: Int,
                matrixVersion: Int) {
        self.writeOffRequestId = writeOffRequestId
        self.amount = amount
        self.reasonCode = reasonCode
        self.comment = comment
        self.requiredRole = requiredRole
        self.approvalsNeeded = approvalsNeeded
        self.matrixVersion = matrixVersion
    }
}

/// Credit notes and write-off reversals, their approvals and rejections. Each method is one
/// transaction, audited in it; the final approval queues the call to MILES in the outbox.
/// The two kinds are named by the outbox kind that carries them: `.raiseCreditNote`, `.reverseWriteOff`.
public protocol CreditStore: Sendable {
    /// Stores a credit note unless the same one (contract, invoices, amount, reason) is still open.
    func createCreditNote(_ credit: NewCreditNote, requestedBy: String, at: Timestamp) async throws -> RequestCreation

    func creditNote(id: Int64) async throws -> CreditNoteRequest?

    /// Credit notes in id order, optionally only those in one state.
    func creditNotes(state: ApprovalTrail.State?) async throws -> [CreditNoteRequest]

    /// The contract's credit notes in any state, newest first: its page shows what is raised against it.
    func creditNotes(contractNumber: String) async throws -> [CreditNoteRequest]

    /// Stores a reversal of a posted write-off unless the same one is still open. Throws
    /// `StoreError.wrongState` if the write-off is not posted, or if this reversal with those
    /// not rejected or failed would reverse more than was written off.
    func createWriteOffReversal(_ reversal: NewWriteOffReversal, requestedBy: String, at: Timestamp) async throws -> RequestCreation

    func writeOffReversal(id: Int64) async throws -> WriteOffReversal?

    /// Reversals in id order, optionally only those in one state.
    func writeOffReversals(state: ApprovalTrail.State?) async throws -> [WriteOffReversal]

    /// The contract's write-off reversals in any state, newest first.
    func writeOffReversals(contractNumber: String) async throws -> [WriteOffReversal]

    /// Records an approval the desk decided under `MakerChecker`; when `isFinal` the record is
    /// approved and its call queued in the outbox. Throws `StoreError.changedMeanwhile` if the record
    /// changed since it was read.
    func recordApproval(of kind: OutboxKind, id: Int64, approval: Approval, expectedApprovals: Int, isFinal: Bool) async throws

    /// Throws `StoreError.wrongState` unless the record is waiting for approval.
    func reject(_ kind: OutboxKind, id: Int64, by actor: String, reason: String, at: Timestamp) async throws
}
