import CollectionsDomain

/// One line of an allocation as the mock applied it: the invoice as it stood before, and what was
/// taken from it and from the contract's arrears, so a reversal puts back exactly that.
public struct MockAllocationLine: Sendable, Equatable {
    public var invoice: Invoice
    public var amount: Money
    /// The part of `amount` that reduced the arrears (the invoice was overdue).
    var arrearsTaken: Int64
    /// Whether this line paid off an overdue invoice: one missed payment fewer.
    var paidOffOverdue: Bool
}

/// A bank payment allocated to a contract's invoices, as the mock made it.
public struct MockAllocation: Sendable, Equatable {
    public var allocationId: String
    public var clientReference: String
    public var contractNumber: String
    public var lines: [MockAllocationLine]
    public var valueDate: LocalDate
    public var account: String
    public var bankReference: String
    public var payerName: String?
    public var allocatedAt: Timestamp
    public var contractVersion: Int64
    /// The contract's last payment date before the allocation moved it to `valueDate`.
    var lastPaymentDateBefore: LocalDate?
    /// The client reference of the reversal that undid it, and the bank's reason code.
    public var reversalReference: String?
    public var reversalReasonCode: String?

    public var amount: Money {
        Money(minorUnits: lines.reduce(0) { $0 + $1.amount.minorUnits }, currency: lines[0].amount.currency)
    }

    public var isReversed: Bool { reversalReference != nil }
}

/// MILES's allocations of payments received: each applied once per client reference, and each
/// reversal once.
struct AllocationLedger: Sendable {
    private(set) var entries: [MockAllocation] = []
    private var byReference: [String: Int] = [:]
    private var byReversalReference: [String: Int] = [:]

    func allocation(clientReference: String) -> MockAllocation? { byReference[clientReference].map { entries[$0] } }

    func allocation(reversalReference: String) -> MockAllocation? { byReversalReference[reversalReference].map { entries[$0] } }

    mutating func append(_ allocation: MockAllocation) {
        byReference[allocation.clientReference] = entries.count
        entries.append(allocation)
    }

    mutating func markReversed(clientReference: String, by reversalReference: String, reasonCode: String?) {
        guard let position = byReference[clientReference] else { return }
        entries[position].reversalReference = reversalReference
        entries[position].reversalReasonCode = reasonCode
        byReversalReference[reversalReference] = position
    }
}

extension MockPortfolio {
    /// Applies a payment to the contract's invoices, as the lines say (each at most its invoice's open
    /// amount, checked by the caller): the open amounts and the arrears go down, the paid-to-date up,
    /// the last payment date becomes the value date, and MILES makes a new contract version. Answers the
    /// lines as applied and the contract's last payment date before.
    mutating func applyAllocation(index: Int, lines: [(invoiceNumber: String, amount: Money)], valueDate: LocalDate)
        -> (lines: [MockAllocationLine], lastPaymentDateBefore: LocalDate?) {
        var contract = self.contract(index)
        let today = clock.date
        var applied: [MockAllocationLine] = []
        for line in lines {
            guard let position = contract.openInvoices.firstIndex(where: { $0.number == line.invoiceNumber }) else { continue }
            let before = contract.openInvoices[position]
            contract.openInvoices[position].openAmount.minorUnits -= line.amount.minorUnits
            let arrearsTaken = before.dueDate < today ? min(line.amount.minorUnits, contract.arrears.amount.minorUnits) : 0
            contract.arrears.amount.minorUnits -= arrearsTaken
            let paidOffOverdue = before.dueDate < today && contract.openInvoices[position].openAmount.minorUnits == 0
            if paidOffOverdue { contract.arrears.missedPayments = max(0, contract.arrears.missedPayments - 1) }
            applied.append(MockAllocationLine(invoice: before, amount: line.amount, arrearsTaken: arrearsTaken, paidOffOverdue: paidOffOverdue))
        }
        let lastPaymentDateBefore = contract.lastPaymentDate
        contract.paidToDate.minorUnits += applied.reduce(0) { $0 + $1.amount.minorUnits }
        contract.lastPaymentDate = valueDate
        contract.openInvoices.removeAll { $0.openAmount.minorUnits == 0 }
        if applied.contains(where: \.paidOffOverdue) {
            contract.arrears.oldestUnpaidDueDate = contract.openInvoices.filter { $0.dueDate < today }.map(\.dueDate).min()
        }
        record(index, contract)
        return (applied, lastPaymentDateBefore)
    }

    /// Puts back exactly what `allocation` took: each invoice's open amount (an invoice it paid off
    /// comes back as it stood), the arrears, the paid-to-date and the last payment date; a new version.
    mutating func reverseAllocation(index: Int, _ allocation: MockAllocation) {
        var contract = self.contract(index)
        for line in allocation.lines {
            if let position = contract.openInvoices.firstIndex(where: { $0.number == line.invoice.number }) {
                contract.openInvoices[position].openAmount.minorUnits += line.amount.minorUnits
            } else {
                var restored = line.invoice
                restored.openAmount = line.amount
                // Back where it stood: MILES lists open invoices by due date.
                let position = contract.openInvoices.firstIndex { ($0.dueDate, $0.number) > (restored.dueDate, restored.number) }
                contract.openInvoices.insert(restored, at: position ?? contract.openInvoices.endIndex)
            }
            contract.arrears.amount.minorUnits += line.arrearsTaken
            if line.paidOffOverdue {
                contract.arrears.missedPayments += 1
                contract.arrears.oldestUnpaidDueDate = min(contract.arrears.oldestUnpaidDueDate ?? line.invoice.dueDate, line.invoice.dueDate)
            }
        }
        contract.paidToDate.minorUnits -= allocation.amount.minorUnits
        if contract.lastPaymentDate == allocation.valueDate { contract.lastPaymentDate = allocation.lastPaymentDateBefore }
        record(index, contract)
    }
}
