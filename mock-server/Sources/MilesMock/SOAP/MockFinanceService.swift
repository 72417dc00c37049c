import CollectionsDomain
import MilesSOAP

/// FinanceService: PostWriteOff (idempotent on the client reference) and FindWriteOffs (each write-off with its reversals).
extension MockMiles {
    func postWriteOff(_ request: MockSOAPRequest) throws -> [UInt8] {
        let required = request.required
        let reference = try required("ClientReference")
        let number = try required("ContractNumber")
        let invoices = request.parameters["InvoiceNumbers/InvoiceNumber"] ?? []
        let currencyCode = try required("Currency")
        let reasonCode = try required("ReasonCode")
        let amountText = try required("Amount")
        if let earlier = ledger.entry(clientReference: reference) {
            // The same reference again: the first result, and nothing posted twice.
            guard earlier.contractNumber == number, earlier.amount.decimalString == DecimalAmount.parse(amountText)
                .flatMap({ $0.money(in: earlier.amount.currency) })?.decimalString else {
                throw MockFault(code: "DUPLICATE_REFERENCE", message: "client reference \(reference) was used for a different write-off")
            }
            return try Self.writeOffResponse([earlier], element: "PostWriteOffResponse", wrap: nil)
        }
        guard let index = PortfolioGenerator.index(ofContractNumber: number), index < portfolio.contractCount else {
            throw MockFault(code: "UNKNOWN_CONTRACT", message: "no contract \(number)")
        }
        guard WriteOffLedger.reasonCodes.contains(reasonCode) else {
            throw MockFault(code: "UNKNOWN_REASON", message: "write-off reason code \(reasonCode) is not known")
        }
        let contract = portfolio.contract(index)
        guard currencyCode == contract.currency.code,
              let amount = DecimalAmount.parse(amountText)?.money(in: contract.currency), amount.minorUnits > 0 else {
            throw MockFault(code: "INVALID_REQUEST", message: "amount \(amountText) \(currencyCode) is not a positive amount in \(contract.currency.code)")
        }
        let named = contract.openInvoices.filter { invoices.isEmpty || invoices.contains($0.number) }
        if let missing = invoices.first(where: { number in !contract.openInvoices.contains { $0.number == number } }) {
            throw MockFault(code: "UNKNOWN_INVOICE", message: "invoice \(missing) is not open on contract \(number)")
        }
        let balance = named.reduce(Int64(0)) { $0 + $1.openAmount.minorUnits }
        guard amount.minorUnits <= balance else {
            throw MockFault(code: "AMOUNT_EXCEEDS_BALANCE",
                            message: "write-off \(amount) exceeds the open balance \(Money(minorUnits: balance, currency: contract.currency))")
        }
        let changed = portfolio.applyWriteOff(index: index, invoiceNumbers: invoices, amount: amount.minorUnits)
        let entry = MockWriteOff(
            writeOffId: "MWO" + PortfolioGenerator.pad(ledger.entries.count + 1, 8), clientReference: reference,
            contractNumber: number, invoiceNumbers: invoices, amount: amount, reasonCode: reasonCode,
            requestedBy: request.value("RequestedBy") ?? "", approvedBy: request.parameters["ApprovedBy/Approver"] ?? [],
            postedAt: portfolio.clock, contractVersion: changed.version)
        ledger.append(entry)
        return try Self.writeOffResponse([entry], element: "PostWriteOffResponse", wrap: nil)
    }

    func findWriteOffs(_ request: MockSOAPRequest) throws -> [UInt8] {
        let found: [MockWriteOff]
        if let reference = request.value("ClientReference") {
            found = ledger.entry(clientReference: reference).map { [$0] } ?? []
        } else if let number = request.value("ContractNumber") {
            found = ledger.entries(contractNumber: number)
        } else {
            throw MockFault(code: "INVALID_REQUEST", message: "FindWriteOffs needs a ClientReference or a ContractNumber")
        }
        return try Self.writeOffResponse(found, element: "FindWriteOffsResponse", wrap: "WriteOffs")
    }

    private static func writeOffResponse(_ entries: [MockWriteOff], element: String, wrap: String?) throws -> [UInt8] {
        try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:" + element)
            if let wrap { writer.open("m:" + wrap) }
            for entry in entries {
                writer.open("m:WriteOff")
                try writer.element("m:WriteOffId", entry.writeOffId)
                try writer.element("m:ClientReference", entry.clientReference)
                try writer.element("m:ContractNumber", entry.contractNumber)
                try writer.element("m:Amount", entry.amount.decimalString)
                try writer.element("m:Currency", entry.amount.currency.code)
                try writer.element("m:ReasonCode", entry.reasonCode)
                try writer.element("m:PostedAt", entry.postedAt.description)
                try writer.element("m:ContractVersion", String(entry.contractVersion))
                if wrap != nil, !entry.reversals.isEmpty {
                    // FindWriteOffs shows each write-off with its reversals.
                    writer.open("m:Reversals")
                    for reversal in entry.reversals { try write(reversal, as: .reversal, into: &writer) }
                    writer.close("m:Reversals")
                }
                writer.close("m:WriteOff")
            }
            if let wrap { writer.close("m:" + wrap) }
            writer.close("m:" + element)
        }
    }
}
