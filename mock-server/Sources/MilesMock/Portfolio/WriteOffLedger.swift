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
}

/// MILES's write-off ledger: every posting, once per client reference.
struct WriteOffLedger: Sendable {
    static let reasonCodes: Set<String> = ["UNEC", "DECE", "INSO", "STAT", "SHRT"]

    private(set) var entries: [MockWriteOff] = []
    private var byReference: [String: Int] = [:]

    func entry(clientReference: String) -> MockWriteOff? { byReference[clientReference].map { entries[$0] } }

    func entries(contractNumber: String) -> [MockWriteOff] { entries.filter { $0.contractNumber == contractNumber } }

    mutating func append(_ entry: MockWriteOff) {
        byReference[entry.clientReference] = entries.count
        entries.append(entry)
    }
}

extension MockPortfolio {
    /// Applies a write-off to the contract: the open amounts of the named invoices (or the oldest
    /// first) go down by `amount`, arrears with them, and MILES makes a new contract version.
    mutating func applyWriteOff(index: Int, invoiceNumbers: [String], amount: Int64) -> Contract {
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
        if contract.openInvoices.isEmpty { contract.statusCode = "WOF" }
        record(index, contract)
        return self.contract(index)
    }
}
