import CollectionsDomain

/// A write-off as the mock posted it.
public struct MockWriteOff: Sendable, Equatable {
    public var writeOffId: String
    public var clientReference: String
    public var contractNumber: String
    public var invoiceNumbers: [String]
    public var amount: Money
    public var reasonCode: String
    public var requestedBy: String
    public var approvedBy: [String]
    public var postedAt: Timestamp
    public var contractVersion: Int64
    /// Its reversals, in the order MILES made them.
    public var reversals: [MockPosting] = []

    /// What is still written off after the reversals.
    var unreversed: Int64 { amount.minorUnits - reversals.reduce(0) { $0 + $1.amount.minorUnits } }
}

/// A credit note or a write-off reversal as the mock made it.
public struct MockPosting: Sendable, Equatable {
    public var id: String
    public var clientReference: String
    /// The write-off reversed; nil for a credit note.
    public var writeOffId: String?
    public var contractNumber: String
    public var invoiceNumbers: [String]
    public var amount: Money
    public var reasonCode: String
    public var requestedBy: String
    public var approvedBy: [String]
    public var at: Timestamp
    public var contractVersion: Int64
}

/// MILES's write-off ledger: every posting, once per client reference, with its reversals; and
/// the credit notes raised, once per client reference.
struct WriteOffLedger: Sendable {
    static let reasonCodes: Set<String> = ["UNEC", "DECE", "INSO", "STAT", "SHRT"]
    static let creditReasonCodes: Set<String> = ["BILL", "DISP", "DMGE", "GDWL", "SETL"]
    static let reversalReasonCodes: Set<String> = ["PAID", "ERRW", "TRCD"]

    private(set) var entries: [MockWriteOff] = []
    private var byReference: [String: Int] = [:]
    private var byId: [String: Int] = [:]
    /// Reversal client reference to the write-off it reversed and its position there.
    private var reversalsByReference: [String: (entry: Int, position: Int)] = [:]
    private(set) var creditNotes: [MockPosting] = []
    private var creditNotesByReference: [String: Int] = [:]

    func entry(clientReference: String) -> MockWriteOff? { byReference[clientReference].map { entries[$0] } }

    func entry(writeOffId: String) -> MockWriteOff? { byId[writeOffId].map { entries[$0] } }

    func entries(contractNumber: String) -> [MockWriteOff] { entries.filter { $0.contractNumber == contractNumber } }

    mutating func append(_ entry: MockWriteOff) {
        byReference[entry.clientReference] = entries.count
        byId[entry.writeOffId] = entries.count
        entries.append(entry)
    }

    func reversal(clientReference: String) -> MockPosting? {
        reversalsByReference[clientReference].map { entries[$0.entry].reversals[$0.position] }
    }

    var reversals: [MockPosting] { entries.flatMap(\.reversals).sorted { $0.id < $1.id } }

    mutating func appendReversal(_ reversal: MockPosting) {
        guard let writeOffId = reversal.writeOffId, let entry = byId[writeOffId] else { return }
        reversalsByReference[reversal.clientReference] = (entry, entries[entry].reversals.count)
        entries[entry].reversals.append(reversal)
    }

    func creditNote(clientReference: String) -> MockPosting? { creditNotesByReference[clientReference].map { creditNotes[$0] } }

    mutating func appendCreditNote(_ note: MockPosting) {
        creditNotesByReference[note.clientReference] = creditNotes.count
        creditNotes.append(note)
    }
}

extension MockPortfolio {
    /// Applies a write-off (or, with `writtenOff` false, a credit note) to the contract: the open
    /// amounts of the named invoices (or the oldest first) go down by `amount`, arrears with them,
    /// and MILES makes a new contract version. A write-off that leaves nothing open writes the
    /// contract off.
    mutating func applyWriteOff(index: Int, invoiceNumbers: [String], amount: Int64, writtenOff: Bool = true) -> Contract {
        var contract = self.contract(index)
        let today = clock.date
        var remaining = amount
        var positions = contract.openInvoices.indices.filter {
            invoiceNumbers.isEmpty || invoiceNumbers.contains(contract.openInvoices[$0].number)
        }
        positions.sort { contract.openInvoices[$0].dueDate < contract.openInvoices[$1].dueDate }
        for position in positions where remaining > 0 {
            let taken = min(remaining, contract.openInvoices[position].openAmount.minorUnits)
            contract.openInvoices[position].openAmount.minorUnits -= taken
            if contract.openInvoices[position].dueDate < today {
                contract.arrears.amount.minorUnits = max(0, contract.arrears.amount.minorUnits - taken)
            }
            remaining -= taken
        }
        contract.openInvoices.removeAll { $0.openAmount.minorUnits == 0 }
        contract.arrears.missedPayments = contract.openInvoices.filter { $0.dueDate < today }.count
        contract.arrears.oldestUnpaidDueDate = contract.openInvoices.filter { $0.dueDate < today }.map(\.dueDate).min()
        if writtenOff, contract.openInvoices.isEmpty { contract.statusCode = "WOF" }
        record(index, contract)
        return self.contract(index)
    }

    /// Reverses `amount` of a write-off: the debt comes back as a reinstated invoice due today,
    /// and a written-off contract goes back into arrears.
    mutating func reinstate(index: Int, amount: Money, reference: String) -> Contract {
        var contract = self.contract(index)
        let today = clock.date
        contract.openInvoices.append(Invoice(number: reference, issueDate: today, dueDate: today, amount: amount, openAmount: amount))
        if contract.statusCode == "WOF" { contract.statusCode = "ARR" }
        record(index, contract)
        return self.contract(index)
    }
}
