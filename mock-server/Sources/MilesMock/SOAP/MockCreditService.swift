import CollectionsDomain
import MilesSOAP

/// FinanceService: RaiseCreditNote and FindCreditNotes, ReverseWriteOff. Each is idempotent on its
/// client reference (the same reference for a different request is DUPLICATE_REFERENCE) and keeps
/// MILES's own rules as business faults.
extension MockMiles {
    func raiseCreditNote(_ request: MockSOAPRequest) throws -> [UInt8] {
        let reference = try request.required("ClientReference")
        let number = try request.required("ContractNumber")
        let invoices = request.parameters["InvoiceNumbers/InvoiceNumber"] ?? []
        let reasonCode = try request.required("ReasonCode")
        let amountText = try request.required("Amount")
        if let earlier = ledger.creditNote(clientReference: reference) {
            guard earlier.contractNumber == number, earlier.amount.decimalString == DecimalAmount.parse(amountText)
                .flatMap({ $0.money(in: earlier.amount.currency) })?.decimalString else {
                throw MockFault(code: "DUPLICATE_REFERENCE", message: "client reference \(reference) was used for a different credit note")
            }
            return try Self.postingResponse([earlier], element: "RaiseCreditNoteResponse", wrap: nil, record: .creditNote)
        }
        guard let index = PortfolioGenerator.index(ofContractNumber: number), index < portfolio.contractCount else {
            throw MockFault(code: "UNKNOWN_CONTRACT", message: "no contract \(number)")
        }
        guard WriteOffLedger.creditReasonCodes.contains(reasonCode) else {
            throw MockFault(code: "UNKNOWN_REASON", message: "credit note reason code \(reasonCode) is not known")
        }
        let contract = portfolio.contract(index)
        let amount = try Self.positiveAmount(amountText, currency: try request.required("Currency"), of: contract)
        if let missing = invoices.first(where: { number in !contract.openInvoices.contains { $0.number == number } }) {
            throw MockFault(code: "UNKNOWN_INVOICE", message: "invoice \(missing) is not open on contract \(number)")
        }
        let open = contract.openInvoices.filter { invoices.isEmpty || invoices.contains($0.number) }
            .reduce(Int64(0)) { $0 + $1.openAmount.minorUnits }
        guard amount.minorUnits <= open else {
            throw MockFault(code: "AMOUNT_EXCEEDS_BALANCE",
                            message: "credit \(amount) exceeds the invoices' open amount \(Money(minorUnits: open, currency: contract.currency))")
        }
        let changed = portfolio.applyWriteOff(index: index, invoiceNumbers: invoices, amount: amount.minorUnits, writtenOff: false)
        let note = MockPosting(
            id: "MCN" + PortfolioGenerator.pad(ledger.creditNotes.count + 1, 8), clientReference: reference, writeOffId: nil,
            contractNumber: number, invoiceNumbers: invoices, amount: amount, reasonCode: reasonCode,
            requestedBy: request.value("RequestedBy") ?? "", approvedBy: request.parameters["ApprovedBy/Approver"] ?? [],
            at: portfolio.clock, contractVersion: changed.version)
        ledger.appendCreditNote(note)
        return try Self.postingResponse([note], element: "RaiseCreditNoteResponse", wrap: nil, record: .creditNote)
    }

    func findCreditNotes(_ request: MockSOAPRequest) throws -> [UInt8] {
        let found: [MockPosting]
        if let reference = request.value("ClientReference") {
            found = ledger.creditNote(clientReference: reference).map { [$0] } ?? []
        } else if let number = request.value("ContractNumber") {
            found = ledger.creditNotes.filter { $0.contractNumber == number }
        } else {
            throw MockFault(code: "INVALID_REQUEST", message: "FindCreditNotes needs a ClientReference or a ContractNumber")
        }
        return try Self.postingResponse(found, element: "FindCreditNotesResponse", wrap: "CreditNotes", record: .creditNote)
    }

    func reverseWriteOff(_ request: MockSOAPRequest) throws -> [UInt8] {
        let reference = try request.required("ClientReference")
        let writeOffId = try request.required("WriteOffId")
        let reasonCode = try request.required("ReasonCode")
        let amountText = try request.required("Amount")
        if let earlier = ledger.reversal(clientReference: reference) {
            guard earlier.writeOffId == writeOffId, earlier.amount.decimalString == DecimalAmount.parse(amountText)
                .flatMap({ $0.money(in: earlier.amount.currency) })?.decimalString else {
                throw MockFault(code: "DUPLICATE_REFERENCE", message: "client reference \(reference) was used for a different reversal")
            }
            return try Self.postingResponse([earlier], element: "ReverseWriteOffResponse", wrap: nil, record: .reversal)
        }
        guard let writeOff = ledger.entry(writeOffId: writeOffId),
              let index = PortfolioGenerator.index(ofContractNumber: writeOff.contractNumber) else {
            throw MockFault(code: "UNKNOWN_WRITE_OFF", message: "no write-off \(writeOffId)")
        }
        guard WriteOffLedger.reversalReasonCodes.contains(reasonCode) else {
            throw MockFault(code: "UNKNOWN_REASON", message: "reversal reason code \(reasonCode) is not known")
        }
        let amount = try Self.positiveAmount(amountText, currency: try request.required("Currency"), of: portfolio.contract(index))
        guard amount.minorUnits <= writeOff.unreversed else {
            throw MockFault(code: "AMOUNT_EXCEEDS_WRITE_OFF", message: "reversal \(amount) is more than the \(Money(minorUnits: writeOff.unreversed, currency: amount.currency)) "
                + "of write-off \(writeOffId) not yet reversed")
        }
        let id = "MWR" + PortfolioGenerator.pad(ledger.reversals.count + 1, 8)
        let changed = portfolio.reinstate(index: index, amount: amount, reference: id)
        let reversal = MockPosting(
            id: id, clientReference: reference, writeOffId: writeOffId, contractNumber: writeOff.contractNumber, invoiceNumbers: [id],
            amount: amount, reasonCode: reasonCode, requestedBy: request.value("RequestedBy") ?? "",
            approvedBy: request.parameters["ApprovedBy/Approver"] ?? [], at: portfolio.clock, contractVersion: changed.version)
        ledger.appendReversal(reversal)
        return try Self.postingResponse([reversal], element: "ReverseWriteOffResponse", wrap: nil, record: .reversal)
    }

    private static func positiveAmount(_ text: String, currency: String, of contract: Contract) throws -> Money {
        guard currency == contract.currency.code, let amount = DecimalAmount.parse(text)?.money(in: contract.currency), amount.minorUnits > 0 else {
            throw MockFault(code: "INVALID_REQUEST", message: "amount \(text) \(currency) is not a positive amount in \(contract.currency.code)")
        }
        return amount
    }

    enum PostingRecord {
        case creditNote, reversal
    }

    private static func postingResponse(_ postings: [MockPosting], element: String, wrap: String?, record: PostingRecord) throws -> [UInt8] {
        try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:" + element)
            if let wrap { writer.open("m:" + wrap) }
            for posting in postings { try write(posting, as: record, into: &writer) }
            if let wrap { writer.close("m:" + wrap) }
            writer.close("m:" + element)
        }
    }

    static func write(_ posting: MockPosting, as record: PostingRecord, into writer: inout XMLWriter) throws {
        switch record {
        case .creditNote:
            writer.open("m:CreditNote")
            try writer.element("m:CreditNoteId", posting.id)
            try writer.element("m:ClientReference", posting.clientReference)
        case .reversal:
            writer.open("m:Reversal")
            try writer.element("m:ReversalId", posting.id)
            try writer.element("m:ClientReference", posting.clientReference)
            try writer.element("m:WriteOffId", posting.writeOffId ?? "")
        }
        try writer.element("m:ContractNumber", posting.contractNumber)
        try writer.element("m:Amount", posting.amount.decimalString)
        try writer.element("m:Currency", posting.amount.currency.code)
        try writer.element("m:ReasonCode", posting.reasonCode)
        try writer.element(record == .creditNote ? "m:RaisedAt" : "m:ReversedAt", posting.at.description)
        try writer.element("m:ContractVersion", String(posting.contractVersion))
        writer.close(record == .creditNote ? "m:CreditNote" : "m:Reversal")
    }
}

extension MockSOAPRequest {
    /// The value at `path`, or INVALID_REQUEST naming it.
    func required(_ path: String) throws -> String {
        guard let value = value(path), !value.isEmpty else { throw MockFault(code: "INVALID_REQUEST", message: "\(path) is required") }
        return value
    }
}
