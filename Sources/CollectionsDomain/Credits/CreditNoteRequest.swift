/// A credit note an agent raises against a contract's open invoices (a billing error, a disputed
/// charge, goodwill), approved under the matrix's credit limits and raised in MILES once.
public struct CreditNoteRequest: Sendable, Equatable {
    public var id: Int64
    public var contractNumber: String
    /// The invoices credited, oldest first in MILES; empty for the contract's open invoices.
    public var invoiceNumbers: [String]
    public var amount: Money
    /// MILES's reason code, one of `creditReasons` in `status-codes.yaml`.
    public var reasonCode: String
    public var comment: String
    public var trail: ApprovalTrail

    public init(id: Int64, contractNumber: String, invoiceNumbers: [String], amount: Money, reasonCode: String, comment: String,
                trail: ApprovalTrail) {
        self.id = id
        self.contractNumber = contractNumber
        self.invoiceNumbers = invoiceNumbers
        self.amount = amount
        self.reasonCode = reasonCode
        self.comment = comment
        self.trail = trail
    }

    /// The reference MILES recognises a repeat of this credit note by, on every attempt.
    public var clientReference: String { OutboxKind.raiseCreditNote.clientReference(forSubject: id) }
}

/// A reversal of (part of) a posted write-off: the customer paid after all, or it was written off
/// in error. The debt comes back on the contract in MILES.
public struct WriteOffReversal: Sendable, Equatable {
    public var id: Int64
    /// The write-off request reversed, and MILES's id for the write-off it posted.
    public var writeOffRequestId: Int64
    public var milesWriteOffId: String
    public var contractNumber: String
    public var amount: Money
    /// MILES's reason code, one of `writeOffReversalReasons` in `status-codes.yaml`.
    public var reasonCode: String
    public var comment: String
    public var trail: ApprovalTrail

    public init(id: Int64, writeOffRequestId: Int64, milesWriteOffId: String, contractNumber: String, amount: Money, reasonCode: String,
                comment: String, trail: ApprovalTrail) {
        self.id = id
        self.writeOffRequestId = writeOffRequestId
        self.milesWriteOffId = milesWriteOffId
        self.contractNumber = contractNumber
        self.amount = amount
        self.reasonCode = reasonCode
        self.comment = comment
        self.trail = trail
    }

    /// The reference MILES recognises a repeat of this reversal by, on every attempt.
    public var clientReference: String { OutboxKind.reverseWriteOff.clientReference(forSubject: id) }

    /// The reference the reversed write-off was posted under: FindWriteOffs finds it, with its reversals.
    public var writeOffReference: String { OutboxKind.postWriteOff.clientReference(forSubject: writeOffRequestId) }
}

/// A credit note or reversal as MILES answered it (RaiseCreditNote, ReverseWriteOff, or found
/// again by FindCreditNotes / FindWriteOffs).
public struct PostedCredit: Sendable, Equatable {
    /// MILES's id for it: a credit note id or a reversal id.
    public var milesId: String
    public var clientReference: String
    public var contractNumber: String
    public var amount: Money
    public var reasonCode: String
    public var postedAt: Timestamp
    public var contractVersion: Int64

    public init(milesId: String, clientReference: String, contractNumber: String, amount: Money, reasonCode: String, postedAt: Timestamp,
                contractVersion: Int64) {
        self.milesId = milesId
        self.clientReference = clientReference
        self.contractNumber = contractNumber
        self.amount = amount
        self.reasonCode = reasonCode
        self.postedAt = postedAt
        self.contractVersion = contractVersion
    }
}
