/// Part of a payment allocated to one invoice.
public struct AllocationLine: Hashable, Sendable {
    public var invoiceNumber: String
    public var amount: Money

    public init(invoiceNumber: String, amount: Money) {
        self.invoiceNumber = invoiceNumber
        self.amount = amount
    }
}

/// A bank entry's money allocated to a contract's open invoices, sent to MILES once as
/// `AllocatePayment`; undone, when the bank returns or reverses the payment, by `ReverseAllocation`.
/// Its id is the bank entry's, so the client reference follows from the entry's identity.
public struct PaymentAllocation: Hashable, Sendable {
    public enum State: String, Sendable, CaseIterable {
        /// Queued for MILES, or sent and waiting for the answer.
        case pending
        /// MILES allocated it (`milesAllocationId`).
        case allocated
        /// MILES refused it; the entry is back in the to-check queue with MILES's reason.
        case refused
        /// The bank took the money back: the allocation is (being) reversed in MILES.
        case reversing
        case reversed
    }

    /// The bank entry's id in the store.
    public var id: Int64
    public var contractNumber: String
    /// Oldest invoice first; their sum is `allocated`.
    public var lines: [AllocationLine]
    /// The entry's whole amount less what went to invoices: the overpayment, held in suspense.
    public var suspense: Money
    public var valueDate: LocalDate
    /// The account and the bank's reference, for MILES's payment record and for people reading it.
    public var account: String
    public var bankReference: String
    /// `auto` for the matching rules, otherwise the person who allocated it by hand.
    public var allocatedBy: String
    /// Why this contract: the rules that matched, or the person's note.
    public var reason: String
    /// 0...100; 100 for an allocation by hand.
    public var confidence: Int
    public var state: State
    public var milesAllocationId: String?

    public init(id: Int64, contractNumber: String, lines: [AllocationLine], suspense: Money, valueDate: LocalDate, account: String,
                bankReference: String, allocatedBy: String, reason: String, confidence: Int, state: State, milesAllocationId: String?) {
        self.id = id
        self.contractNumber = contractNumber
        self.lines = lines
        self.suspense = suspense
        self.valueDate = valueDate
        self.account = account
        self.bankReference = bankReference
        self.allocatedBy = allocatedBy
        self.reason = reason
        self.confidence = confidence
        self.state = state
        self.milesAllocationId = milesAllocationId
    }

    /// What went to the invoices.
    public var allocated: Money {
        Money(minorUnits: lines.reduce(0) { $0 + $1.amount.minorUnits }, currency: suspense.currency)
    }

    /// The reference MILES recognises a repeat of this allocation by, on every attempt and every re-import.
    public var clientReference: String { OutboxKind.allocatePayment.clientReference(forSubject: id) }

    /// The reference of the reversal of this allocation.
    public var reversalReference: String { OutboxKind.reverseAllocation.clientReference(forSubject: id) }
}

/// Splits a payment over open invoices, oldest due date first (then invoice number), each up to its
/// open amount; what is left over is the overpayment. Invoices with nothing open take nothing.
public func allocateOldestFirst(_ payment: Money, over invoices: [Invoice]) -> (lines: [AllocationLine], remainder: Money) {
    var left = payment.minorUnits
    var lines: [AllocationLine] = []
    for invoice in invoices.sorted(by: { ($0.dueDate, $0.number) < ($1.dueDate, $1.number) }) where left > 0 {
        let open = invoice.openAmount.minorUnits
        guard open > 0 else { continue }
        let take = min(open, left)
        lines.append(AllocationLine(invoiceNumber: invoice.number, amount: Money(minorUnits: take, currency: payment.currency)))
        left -= take
    }
    return (lines, Money(minorUnits: left, currency: payment.currency))
}
