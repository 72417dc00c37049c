import CollectionsDomain
import MilesSOAP

/// FinanceService: AllocatePayment and ReverseAllocation, each idempotent on its client reference (the
/// same reference for a different request is DUPLICATE_REFERENCE). MILES's own rules are business
/// faults: the contract must exist, the payment be in its currency, every line name one of its open
/// invoices and take at most that invoice's open amount.
extension MockMiles {
    func allocatePayment(_ request: MockSOAPRequest) throws -> [UInt8] {
        let reference = try request.required("ClientReference")
        let number = try request.required("ContractNumber")
        let currencyCode = try request.required("Currency")
        let valueDateText = try request.required("ValueDate")
        guard let valueDate = LocalDate.parse(valueDateText) else {
            throw MockFault(code: "INVALID_REQUEST", message: "ValueDate '\(valueDateText)' is not a date")
        }
        let account = try request.required("Account")
        let bankReference = try request.required("BankReference")
        let invoices = request.parameters["Lines/Line/InvoiceNumber"] ?? []
        let amounts = request.parameters["Lines/Line/Amount"] ?? []
        guard !invoices.isEmpty, invoices.count == amounts.count else {
            throw MockFault(code: "INVALID_REQUEST", message: "an allocation needs at least one line, each with an InvoiceNumber and an Amount")
        }
        if let earlier = allocations.allocation(clientReference: reference) {
            // The same reference again: the first allocation, and nothing allocated twice.
            let sameLines = earlier.lines.map { "\($0.invoice.number) \($0.amount.minorUnits)" }
                == zip(invoices, amounts).map { "\($0) \(DecimalAmount.parse($1)?.money(in: earlier.amount.currency)?.minorUnits ?? -1)" }
            guard earlier.contractNumber == number, earlier.amount.currency.code == currencyCode, sameLines, earlier.valueDate == valueDate,
                  earlier.account == account, earlier.bankReference == bankReference else {
                throw MockFault(code: "DUPLICATE_REFERENCE", message: "client reference \(reference) was used for a different allocation")
            }
            return try Self.allocationResponse(earlier)
        }
        guard let index = PortfolioGenerator.index(ofContractNumber: number), index < portfolio.contractCount else {
            throw MockFault(code: "UNKNOWN_CONTRACT", message: "no contract \(number)")
        }
        let contract = portfolio.contract(index)
        guard currencyCode == contract.currency.code else {
            throw MockFault(code: "CURRENCY_MISMATCH", message: "the payment is in \(currencyCode); contract \(number) is in \(contract.currency.code)")
        }
        var lines: [(invoiceNumber: String, amount: Money)] = []
        for (invoice, amountText) in zip(invoices, amounts) {
            guard let amount = DecimalAmount.parse(amountText)?.money(in: contract.currency), amount.minorUnits > 0 else {
                throw MockFault(code: "INVALID_REQUEST", message: "amount \(amountText) for invoice \(invoice) is not a positive amount in \(currencyCode)")
            }
            lines.append((invoice, amount))
        }
        // Lines naming the same invoice together take at most its open amount.
        var wanted: [String: Int64] = [:]
        for line in lines { wanted[line.invoiceNumber, default: 0] += line.amount.minorUnits }
        var checked: Set<String> = []
        for invoiceNumber in invoices where checked.insert(invoiceNumber).inserted {
            guard let open = contract.openInvoices.first(where: { $0.number == invoiceNumber })?.openAmount else {
                throw MockFault(code: "UNKNOWN_INVOICE", message: "invoice \(invoiceNumber) is not an open invoice of contract \(number)")
            }
            let amount = Money(minorUnits: wanted[invoiceNumber] ?? 0, currency: contract.currency)
            guard amount.minorUnits <= open.minorUnits else {
                throw MockFault(code: "ALLOCATION_EXCEEDS_OPEN",
                                message: "allocation of \(amount) to invoice \(invoiceNumber) exceeds its open amount \(open)")
            }
        }
        let applied = portfolio.applyAllocation(index: index, lines: lines, valueDate: valueDate)
        let allocation = MockAllocation(
            allocationId: "MAL" + PortfolioGenerator.pad(allocations.entries.count + 1, 8), clientReference: reference, contractNumber: number,
            lines: applied.lines, valueDate: valueDate, account: account, bankReference: bankReference, payerName: request.value("PayerName"),
            allocatedAt: portfolio.clock, contractVersion: portfolio.contract(index).version, lastPaymentDateBefore: applied.lastPaymentDateBefore)
        allocations.append(allocation)
        return try Self.allocationResponse(allocation)
    }

    func reverseAllocation(_ request: MockSOAPRequest) throws -> [UInt8] {
        let allocationReference = try request.required("AllocationReference")
        let reference = try request.required("ClientReference")
        if let earlier = allocations.allocation(reversalReference: reference) {
            guard earlier.clientReference == allocationReference else {
                throw MockFault(code: "DUPLICATE_REFERENCE", message: "client reference \(reference) was used to reverse allocation "
                    + "\(earlier.clientReference), not \(allocationReference)")
            }
            return try Self.reversalResponse(earlier)
        }
        guard let allocation = allocations.allocation(clientReference: allocationReference) else {
            throw MockFault(code: "UNKNOWN_ALLOCATION", message: "no allocation was made under client reference \(allocationReference)")
        }
        // Reversed already (under another reference): the same answer, and nothing put back twice.
        guard !allocation.isReversed else { return try Self.reversalResponse(allocation) }
        guard let index = PortfolioGenerator.index(ofContractNumber: allocation.contractNumber) else {
            throw MockFault(code: "UNKNOWN_CONTRACT", message: "no contract \(allocation.contractNumber)")
        }
        portfolio.reverseAllocation(index: index, allocation)
        allocations.markReversed(clientReference: allocationReference, by: reference, reasonCode: request.value("ReasonCode"))
        return try Self.reversalResponse(allocation)
    }

    private static func allocationResponse(_ allocation: MockAllocation) throws -> [UInt8] {
        try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:AllocatePaymentResponse")
            writer.open("m:Allocation")
            try writer.element("m:AllocationId", allocation.allocationId)
            try writer.element("m:ContractNumber", allocation.contractNumber)
            try writer.element("m:ClientReference", allocation.clientReference)
            try writer.element("m:Amount", allocation.amount.decimalString)
            try writer.element("m:Currency", allocation.amount.currency.code)
            writer.open("m:Lines")
            for line in allocation.lines {
                writer.open("m:Line")
                try writer.element("m:InvoiceNumber", line.invoice.number)
                try writer.element("m:Amount", line.amount.decimalString)
                writer.close("m:Line")
            }
            writer.close("m:Lines")
            writer.close("m:Allocation")
            writer.close("m:AllocatePaymentResponse")
        }
    }

    private static func reversalResponse(_ allocation: MockAllocation) throws -> [UInt8] {
        try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:ReverseAllocationResponse")
            try writer.element("m:AllocationId", allocation.allocationId)
            try writer.element("m:Reversed", "true")
            writer.close("m:ReverseAllocationResponse")
        }
    }
}
