import CollectionsDomain
import Foundation
import MilesMapping
@testable import MilesMock
import MilesSOAP
import Testing

/// The mock MILES on a free port, called as the adapter calls it: requests written by the shipped
/// mapping's encoders, answers read by its decoders.
private struct AllocatingMiles {
    let server: MockMilesServer
    let mappings: MappingSet
    let client: SOAPClient

    static func withMock(_ body: (AllocatingMiles) async throws -> Void) async throws {
        let mappingsDirectory = URL(fileURLWithPath: wsdlDirectory).deletingLastPathComponent().path
        let mappings = try MappingSet.load(directory: mappingsDirectory)
        let server = try await MockMilesServer.start(configuration: MockMilesConfiguration(contractCount: 300, seed: 7,
                                                                                            contractDirectory: wsdlDirectory))
        let client = SOAPClient(configuration: SOAPClient.Configuration(
            endpoint: server.endpoint,
            credentials: MilesCredentials(username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword),
            messageNamespace: mappings.contract.namespace, faultNames: mappings.contract.faultNames,
            classifier: mappings.contract.faultClassifier))
        do {
            try await body(AllocatingMiles(server: server, mappings: mappings, client: client))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    var miles: MockMiles { server.miles }

    /// The answer's values, or the call's failure.
    private func call(_ operation: MilesOperation, payload: @escaping @Sendable (inout XMLWriter) throws -> Void) async throws
        -> Result<[String: String], SOAPCallError> {
        let mapping = mappings.contract
        let mapped = try mapping.mapped(operation)
        do throws(SOAPCallError) {
            return .success(try await client.call(
                service: mapped.service, operation: operation.name, soapAction: mapped.soapAction, payload: payload,
                decoder: { _ in ResponseValuesDecoder(operation: mapped, elementNames: mapping.elementNames) }))
        } catch {
            return .failure(error)
        }
    }

    func allocate(_ allocation: PaymentAllocation) async throws -> Result<[String: String], SOAPCallError> {
        let mapping = mappings.contract
        return try await call(.allocatePayment) { try mapping.writeAllocatePayment(allocation, payerName: nil, into: &$0) }
    }

    func reverse(_ allocation: PaymentAllocation, reason: String?) async throws -> Result<[String: String], SOAPCallError> {
        let mapping = mappings.contract
        return try await call(.reverseAllocation) { try mapping.writeReverseAllocation(allocation, reasonCode: reason, into: &$0) }
    }

    /// The contracts a FindContracts query for changes after `since` answers, decoded by the mapping.
    func changedContracts(since: Timestamp) async throws -> [Contract] {
        let mapping = mappings.contract
        let decoder = mappings.contractDecoder
        let mapped = try mapping.mapped(.findContracts)
        return try await client.call(
            service: mapped.service, operation: "FindContracts", soapAction: mapped.soapAction, kind: .read,
            payload: { try mapping.writeFindContracts(changedSince: since, cursor: nil, pageSize: 1000, into: &$0) },
            decoder: { decoder.findContractsDecoder(reader: $0) }).contracts
    }

    /// A contract with at least two open invoices, the first of them overdue.
    func contractWithOverdueInvoices() async throws -> Contract {
        let today = await miles.businessClock.date
        var found: Contract?
        await miles.forEachContract { contract in
            if found == nil, contract.openInvoices.count >= 2, contract.openInvoices[0].dueDate < today,
               contract.openInvoices.allSatisfy({ $0.openAmount.minorUnits > 200 }) {
                found = contract
            }
        }
        return try #require(found)
    }
}

private func allocation(id: Int64 = 1, of contract: Contract, _ lines: [(invoice: String, minorUnits: Int64)],
                        currency: CurrencyCode? = nil, valueDate: LocalDate = LocalDate.parse("2026-11-27")!) -> PaymentAllocation {
    let currency = currency ?? contract.currency
    return PaymentAllocation(
        id: id, contractNumber: contract.contractNumber,
        lines: lines.map { AllocationLine(invoiceNumber: $0.invoice, amount: Money(minorUnits: $0.minorUnits, currency: currency)) },
        suspense: .zero(currency), valueDate: valueDate, account: "GB33BUKB20201555555555", bankReference: "STMT-2026-11-27/\(id)",
        allocatedBy: "auto", reason: "invoice number in the remittance", confidence: 95, state: .pending, milesAllocationId: nil)
}

private extension Result where Success == [String: String], Failure == SOAPCallError {
    var values: [String: String]? { try? get() }

    var error: SOAPCallError? {
        if case let .failure(error) = self { return error }
        return nil
    }
}

@Suite("The mock MILES allocates bank payments to open invoices: its own rules, once per client reference, undone exactly",
       .serialized, .timeLimit(.minutes(2)))
struct MockAllocationTests {
    @Test("an allocation lowers the invoices' open amounts, raises paid-to-date and the last payment date, and the next FindContracts sees it")
    func applied() async throws {
        try await AllocatingMiles.withMock { miles in
            let before = try await miles.contractWithOverdueInvoices()
            let first = before.openInvoices[0]
            let second = before.openInvoices[1]
            let since = await miles.miles.businessClock
            let payment = allocation(of: before, [(first.number, first.openAmount.minorUnits), (second.number, 100)])

            let answer = try #require(try await miles.allocate(payment).values)
            #expect(answer["allocationId"]?.hasPrefix("MAL") == true)
            #expect(answer["clientReference"] == "PA-1")
            #expect(answer["amount"] == payment.allocated.decimalString)
            #expect(answer["currency"] == before.currency.code)

            let changed = try await miles.changedContracts(since: since)
            #expect(changed.map(\.contractNumber) == [before.contractNumber])
            let after = try #require(changed.first)
            #expect(after.version == before.version + 1)
            #expect(!after.openInvoices.contains { $0.number == first.number })
            #expect(after.openInvoices.first { $0.number == second.number }?.openAmount.minorUnits == second.openAmount.minorUnits - 100)
            #expect(after.paidToDate.minorUnits == before.paidToDate.minorUnits + payment.allocated.minorUnits)
            #expect(after.lastPaymentDate == payment.valueDate)
            #expect(after.arrears.amount.minorUnits < before.arrears.amount.minorUnits)
            #expect(await miles.miles.allocationCounts() == ["PA-1": 1])

            let journal = try #require(await miles.miles.journalEntries().first { $0.operation == "AllocatePayment" })
            #expect(journal.outcome == "ok")
            #expect(journal.parameters["ClientReference"] == "PA-1")
            #expect(journal.parameters["Lines/Line/InvoiceNumber"] == "\(first.number),\(second.number)")
        }
    }

    @Test("MILES refuses, changing nothing: a line above its invoice's open amount (naming both), an invoice not open, another currency, no such contract")
    func refusals() async throws {
        try await AllocatingMiles.withMock { miles in
            let contract = try await miles.contractWithOverdueInvoices()
            let invoice = contract.openInvoices[0]
            let open = invoice.openAmount

            let above = try await miles.allocate(allocation(id: 1, of: contract, [(invoice.number, open.minorUnits + 1)])).error
            #expect(above?.faultCode == "ALLOCATION_EXCEEDS_OPEN")
            #expect(above?.disposition == .businessRejection)
            let message = above?.description ?? ""
            #expect(message.contains(invoice.number))
            #expect(message.contains(Money(minorUnits: open.minorUnits + 1, currency: open.currency).decimalString))
            #expect(message.contains(open.decimalString))
            // Two lines on one invoice together above what is open.
            let split = try await miles.allocate(allocation(id: 2, of: contract, [(invoice.number, open.minorUnits), (invoice.number, 1)])).error
            #expect(split?.faultCode == "ALLOCATION_EXCEEDS_OPEN")

            #expect(try await miles.allocate(allocation(id: 3, of: contract, [("INV-NOPE", 100)])).error?.faultCode == "UNKNOWN_INVOICE")
            let other: CurrencyCode = contract.currency == .gbp ? try CurrencyCode("EUR") : .gbp
            #expect(try await miles.allocate(allocation(id: 4, of: contract, [(invoice.number, 100)], currency: other)).error?.faultCode
                == "CURRENCY_MISMATCH")
            var unknown = allocation(id: 5, of: contract, [(invoice.number, 100)])
            unknown.contractNumber = "C99999999"
            #expect(try await miles.allocate(unknown).error?.faultCode == "UNKNOWN_CONTRACT")

            #expect(await miles.miles.allocationLedger().isEmpty)
            #expect(await miles.miles.contract(number: contract.contractNumber) == contract)
        }
    }

    @Test("the same client reference again answers the first allocation and allocates nothing, after a lost answer too; with another request it is refused")
    func idempotentByReference() async throws {
        try await AllocatingMiles.withMock { miles in
            let contract = try await miles.contractWithOverdueInvoices()
            let invoice = contract.openInvoices[0]
            let payment = allocation(of: contract, [(invoice.number, 150)])

            // MILES applies the allocation and the answer is lost: the caller cannot know.
            await miles.miles.injectFault(FaultRule(operation: "AllocatePayment", afterProcessing: true))
            let lost = try await miles.allocate(payment).error
            #expect(lost?.disposition == .unknownOutcome)
            let applied = try #require(await miles.miles.contract(number: contract.contractNumber))

            let first = try #require(try await miles.allocate(payment).values)
            let again = try #require(try await miles.allocate(payment).values)
            #expect(first == again)
            #expect(await miles.miles.contract(number: contract.contractNumber) == applied)
            #expect(applied.version == contract.version + 1)
            #expect(await miles.miles.allocationCounts() == ["PA-1": 1])

            var different = payment
            different.lines[0].amount.minorUnits = 151
            #expect(try await miles.allocate(different).error?.faultCode == "DUPLICATE_REFERENCE")
            #expect(await miles.miles.allocationCounts() == ["PA-1": 1])
            #expect(await miles.miles.journalEntries().filter { $0.operation == "AllocatePayment" }.map(\.outcome)
                == ["ok,dropped", "ok", "ok", "fault:DUPLICATE_REFERENCE"])
        }
    }

    @Test("a reversal puts back exactly what the allocation took, invoices it paid off included; a second reversal changes nothing")
    func reversalRestores() async throws {
        try await AllocatingMiles.withMock { miles in
            let before = try await miles.contractWithOverdueInvoices()
            let first = before.openInvoices[0]
            let payment = allocation(of: before, [(first.number, first.openAmount.minorUnits), (before.openInvoices[1].number, 100)])
            let allocationId = try #require(try await miles.allocate(payment).values?["allocationId"])

            let reversed = try #require(try await miles.reverse(payment, reason: "AC04").values)
            #expect(reversed["allocationId"] == allocationId)
            #expect(reversed["reversed"] == "true")
            let after = try #require(await miles.miles.contract(number: before.contractNumber))
            #expect(after.openInvoices == before.openInvoices)
            #expect(after.paidToDate == before.paidToDate)
            #expect(after.arrears == before.arrears)
            #expect(after.lastPaymentDate == before.lastPaymentDate)
            #expect(after.version == before.version + 2)

            #expect(try await miles.reverse(payment, reason: "AC04").values == reversed)
            #expect(await miles.miles.contract(number: before.contractNumber) == after)
            let ledger = await miles.miles.allocationLedger()
            #expect(ledger.map(\.reversalReference) == ["PR-1"])
            #expect(ledger.map(\.reversalReasonCode) == ["AC04"])
        }
    }

    @Test("reversing an allocation MILES never made is refused as a business fault")
    func unknownAllocationRefused() async throws {
        try await AllocatingMiles.withMock { miles in
            let contract = try await miles.contractWithOverdueInvoices()
            let never = allocation(id: 404, of: contract, [(contract.openInvoices[0].number, 100)])
            let refused = try await miles.reverse(never, reason: nil).error
            #expect(refused?.faultCode == "UNKNOWN_ALLOCATION")
            #expect(refused?.disposition == .businessRejection)
            #expect(refused?.description.contains("PA-404") == true)
            #expect(await miles.miles.contract(number: contract.contractNumber) == contract)
        }
    }

    @Test("the requests the mapping writes and the mock's answers are valid against the XSD")
    func schemaValid() async throws {
        let schema = try SchemaValidator(schemaPath: wsdlDirectory + "/miles-collections.xsd")
        let mappings = try MappingSet.load(directory: URL(fileURLWithPath: wsdlDirectory).deletingLastPathComponent().path)
        let miles = MockMiles(configuration: MockMilesConfiguration(contractCount: 300, seed: 7, contractDirectory: wsdlDirectory))
        var target: Contract?
        await miles.forEachContract { if target == nil, $0.openInvoices.count >= 2 { target = $0 } }
        let contract = try #require(target)
        let payment = allocation(of: contract, [(contract.openInvoices[0].number, 100), (contract.openInvoices[1].number, 100)])
        let credentials = MilesCredentials(username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword)
        func envelope(_ payload: (inout XMLWriter) throws -> Void) throws -> [UInt8] {
            try SOAPEnvelope.request(messageNamespace: MockMilesServer.namespace,
                                     security: UsernameTokenHeader(credentials: credentials, now: Date()), payload: payload)
        }
        let allocate = try envelope { try mappings.contract.writeAllocatePayment(payment, payerName: nil, into: &$0) }
        try schema.validateSOAPPayload(allocate)
        let reverse = try envelope { try mappings.contract.writeReverseAllocation(payment, reasonCode: "MD06", into: &$0) }
        try schema.validateSOAPPayload(reverse)

        // What a bank may give: a payer's name over NonEmptyText's 512 characters with a control character in it,
        // a return reason in words rather than a Code. Each is sent as the XSD takes it, or not at all.
        let longName = "  Ms Ada\u{7}" + String(repeating: " Lovelace", count: 80)
        let named = try envelope { try mappings.contract.writeAllocatePayment(payment, payerName: longName, into: &$0) }
        try schema.validateSOAPPayload(named)
        #expect(String(decoding: named, as: UTF8.self).contains("<m:PayerName>Ms Ada Lovelace Lovelace"))
        let worded = try envelope {
            try mappings.contract.writeReverseAllocation(payment, reasonCode: "account closed at the customer's request", into: &$0)
        }
        try schema.validateSOAPPayload(worded)
        #expect(!String(decoding: worded, as: UTF8.self).contains("ReasonCode"))
        #expect(String(decoding: reverse, as: UTF8.self).contains("<m:ReasonCode>MD06</m:ReasonCode>"))

        let allocated = await miles.handle(service: "FinanceService", body: allocate)
        #expect(allocated.status == 200)
        try schema.validateSOAPPayload(allocated.body)
        let reversed = await miles.handle(service: "FinanceService", body: reverse)
        #expect(reversed.status == 200)
        try schema.validateSOAPPayload(reversed.body)
    }
}
