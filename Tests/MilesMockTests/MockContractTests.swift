import CollectionsDomain
import Foundation
@testable import MilesMock
import MilesSOAP
import Testing

let wsdlDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("mappings/wsdl").path

/// A request envelope as the adapter would send it.
func request(_ payload: String, username: String = MockMilesConfiguration.defaultUsername,
             password: String = MockMilesConfiguration.defaultPassword, type: MilesCredentials.PasswordType = .digest,
             created: Date = Date(), nonce: [UInt8]? = nil) throws -> [UInt8] {
    let credentials = MilesCredentials(username: username, password: password, passwordType: type)
    var header = UsernameTokenHeader(credentials: credentials, now: created)
    if let nonce { header = UsernameTokenHeader(credentials: credentials, nonce: nonce, created: header.created) }
    return try SOAPEnvelope.request(messageNamespace: MockMilesServer.namespace, security: header) { $0.raw(payload) }
}

func faultCode(_ body: [UInt8]) -> String? {
    let text = String(decoding: body, as: UTF8.self)
    guard let start = text.range(of: "<m:Code>"), let end = text.range(of: "</m:Code>") else { return nil }
    return String(text[start.upperBound..<end.lowerBound])
}

@Suite("The mock MILES: its contract and its security", .timeLimit(.minutes(2)))
struct MockContractTests {
    let miles = MockMiles(configuration: MockMilesConfiguration(contractCount: 300, seed: 7, contractDirectory: wsdlDirectory))

    @Test("the XSD compiles with libxml2's schema engine (what xmllint --schema uses)")
    func schemaIsValid() throws {
        _ = try SchemaValidator(schemaPath: wsdlDirectory + "/miles-collections.xsd")
    }

    @Test("every kind of answer the mock sends validates against the XSD")
    func answersValidate() async throws {
        let schema = try SchemaValidator(schemaPath: wsdlDirectory + "/miles-collections.xsd")
        let first = await miles.handle(service: "ContractService",
                                       body: try request("<m:FindContracts><m:PageSize>120</m:PageSize></m:FindContracts>"))
        #expect(first.status == 200)
        try schema.validateSOAPPayload(first.body)
        // The validator does refuse: the same page without a required element fails.
        let broken = String(decoding: first.body, as: UTF8.self).replacingOccurrences(of: "<m:Currency>GBP</m:Currency>", with: "")
        #expect(throws: SchemaValidator.Failure.self) { try schema.validateSOAPPayload(Array(broken.utf8)) }
        let text = String(decoding: first.body, as: UTF8.self)
        let cursor = try #require(text.range(of: "<m:NextCursor>").flatMap { start in
            text.range(of: "</m:NextCursor>").map { String(text[start.upperBound..<$0.lowerBound]) }
        })
        let last = await miles.handle(service: "ContractService", body: try request(
            "<m:FindContracts><m:Cursor>\(cursor)</m:Cursor><m:PageSize>1000</m:PageSize></m:FindContracts>"))
        try schema.validateSOAPPayload(last.body)
        #expect(!String(decoding: last.body, as: UTF8.self).contains("NextCursor"))
        await miles.advanceDay(changes: 40)
        let incremental = await miles.handle(service: "ContractService", body: try request(
            "<m:FindContracts><m:ChangedSince>2026-11-28T22:00:00Z</m:ChangedSince><m:PageSize>100</m:PageSize></m:FindContracts>"))
        try schema.validateSOAPPayload(incremental.body)
        #expect(String(decoding: incremental.body, as: UTF8.self).contains("<m:TotalCount>40</m:TotalCount>"))
        let single = await miles.handle(service: "ContractService", body: try request(
            "<m:GetContract><m:ContractNumber>C00000042</m:ContractNumber></m:GetContract>"))
        #expect(single.status == 200)
        try schema.validateSOAPPayload(single.body)
        let unknown = await miles.handle(service: "ContractService", body: try request(
            "<m:GetContract><m:ContractNumber>C99999999</m:ContractNumber></m:GetContract>"))
        #expect(unknown.status == 500)
        #expect(faultCode(unknown.body) == "UNKNOWN_CONTRACT")
        try schema.validateSOAPPayload(unknown.body.replacingFaultWithDetail())
    }

    @Test("WS-Security: digest and text passwords are accepted; wrong password, replayed nonce and stale Created are faults")
    func security() async throws {
        let payload = "<m:GetContract><m:ContractNumber>C00000001</m:ContractNumber></m:GetContract>"
        #expect(await miles.handle(service: "ContractService", body: try request(payload)).status == 200)
        #expect(await miles.handle(service: "ContractService", body: try request(payload, type: .text)).status == 200)
        let wrong = await miles.handle(service: "ContractService", body: try request(payload, password: "guess"))
        #expect(faultCode(wrong.body) == "AUTHENTICATION_FAILED")
        let nonce: [UInt8] = Array(repeating: 9, count: 16)
        #expect(await miles.handle(service: "ContractService", body: try request(payload, nonce: nonce)).status == 200)
        let replay = await miles.handle(service: "ContractService", body: try request(payload, nonce: nonce))
        #expect(faultCode(replay.body) == "NONCE_REPLAYED")
        let stale = await miles.handle(service: "ContractService", body: try request(payload, created: Date().addingTimeInterval(-301)))
        #expect(faultCode(stale.body) == "CREATED_OUT_OF_RANGE")
        let future = await miles.handle(service: "ContractService", body: try request(payload, created: Date().addingTimeInterval(400)))
        #expect(faultCode(future.body) == "CREATED_OUT_OF_RANGE")
        let none = await miles.handle(service: "ContractService", body: try SOAPEnvelope.request(
            messageNamespace: MockMilesServer.namespace, security: nil) { $0.raw(payload) })
        #expect(faultCode(none.body) == "AUTHENTICATION_FAILED")
    }

    @Test("PostWriteOff: one posting per client reference, refusals with their codes, answers valid against the XSD")
    func writeOffLedger() async throws {
        let schema = try SchemaValidator(schemaPath: wsdlDirectory + "/miles-collections.xsd")
        var target: Contract?
        await miles.forEachContract { if target == nil, $0.openBalance.minorUnits > 1_000 { target = $0 } }
        let contract = try #require(target)
        func post(_ reference: String, amount: String, contract number: String = contract.contractNumber, reason: String = "UNEC") throws -> [UInt8] {
            try request("""
                <m:PostWriteOff><m:ContractNumber>\(number)</m:ContractNumber><m:InvoiceNumbers/><m:Amount>\(amount)</m:Amount>\
                <m:Currency>\(contract.currency.code)</m:Currency><m:ReasonCode>\(reason)</m:ReasonCode><m:RequestedBy>alice</m:RequestedBy>\
                <m:ApprovedBy><m:Approver>bob</m:Approver></m:ApprovedBy><m:ClientReference>\(reference)</m:ClientReference></m:PostWriteOff>
                """)
        }
        let first = await miles.handle(service: "FinanceService", body: try post("WO-1", amount: "5.00"))
        #expect(first.status == 200)
        try schema.validateSOAPPayload(first.body)
        let repeated = await miles.handle(service: "FinanceService", body: try post("WO-1", amount: "5.00"))
        #expect(repeated.body == first.body)
        #expect(await miles.writeOffLedger().count == 1)
        let after = try #require(await miles.contract(number: contract.contractNumber))
        #expect(after.openBalance.minorUnits == contract.openBalance.minorUnits - 500)
        #expect(after.version == contract.version + 1)

        let tooMuch = await miles.handle(service: "FinanceService", body: try post("WO-2", amount: "99999999.00"))
        #expect(faultCode(tooMuch.body) == "AMOUNT_EXCEEDS_BALANCE")
        let unknown = await miles.handle(service: "FinanceService", body: try post("WO-3", amount: "1.00", contract: "C99999999"))
        #expect(faultCode(unknown.body) == "UNKNOWN_CONTRACT")
        let badReason = await miles.handle(service: "FinanceService", body: try post("WO-4", amount: "1.00", reason: "XXXX"))
        #expect(faultCode(badReason.body) == "UNKNOWN_REASON")
        let reused = await miles.handle(service: "FinanceService", body: try post("WO-1", amount: "6.00"))
        #expect(faultCode(reused.body) == "DUPLICATE_REFERENCE")
        #expect(await miles.writeOffLedger().count == 1)

        let found = await miles.handle(service: "FinanceService", body: try request(
            "<m:FindWriteOffs><m:ClientReference>WO-1</m:ClientReference></m:FindWriteOffs>"))
        try schema.validateSOAPPayload(found.body)
        #expect(String(decoding: found.body, as: UTF8.self).contains("<m:ClientReference>WO-1</m:ClientReference>"))
        let none = await miles.handle(service: "FinanceService", body: try request(
            "<m:FindWriteOffs><m:ClientReference>WO-404</m:ClientReference></m:FindWriteOffs>"))
        #expect(!String(decoding: none.body, as: UTF8.self).contains("<m:WriteOff>"))
    }

    @Test("RaiseCreditNote and ReverseWriteOff: one per client reference, MILES's own rules as faults, answers valid against the XSD")
    func creditsAndReversals() async throws {
        let schema = try SchemaValidator(schemaPath: wsdlDirectory + "/miles-collections.xsd")
        var target: Contract?
        await miles.forEachContract { if target == nil, $0.openInvoices.count >= 2, $0.openBalance.minorUnits > 1_000 { target = $0 } }
        let contract = try #require(target)
        let invoice = contract.openInvoices[0]
        func credit(_ reference: String, amount: String, invoice number: String = invoice.number, reason: String = "BILL") throws -> [UInt8] {
            try request("""
                <m:RaiseCreditNote><m:ContractNumber>\(contract.contractNumber)</m:ContractNumber><m:InvoiceNumbers>\
                <m:InvoiceNumber>\(number)</m:InvoiceNumber></m:InvoiceNumbers><m:Amount>\(amount)</m:Amount>\
                <m:Currency>\(contract.currency.code)</m:Currency><m:ReasonCode>\(reason)</m:ReasonCode><m:RequestedBy>alice</m:RequestedBy>\
                <m:ApprovedBy><m:Approver>bob</m:Approver></m:ApprovedBy><m:ClientReference>\(reference)</m:ClientReference></m:RaiseCreditNote>
                """)
        }
        let first = await miles.handle(service: "FinanceService", body: try credit("CN-1", amount: "1.00"))
        #expect(first.status == 200)
        try schema.validateSOAPPayload(first.body)
        #expect(await miles.handle(service: "FinanceService", body: try credit("CN-1", amount: "1.00")).body == first.body)
        #expect(await miles.creditNoteLedger().count == 1)
        #expect(await miles.contract(number: contract.contractNumber)?.openBalance.minorUnits == contract.openBalance.minorUnits - 100)
        let aboveInvoice = Money(minorUnits: invoice.openAmount.minorUnits, currency: contract.currency).decimalString
        #expect(faultCode(await miles.handle(service: "FinanceService", body: try credit("CN-2", amount: aboveInvoice)).body)
            == "AMOUNT_EXCEEDS_BALANCE")
        #expect(faultCode(await miles.handle(service: "FinanceService", body: try credit("CN-3", amount: "1.00", invoice: "INV-NOPE")).body)
            == "UNKNOWN_INVOICE")
        #expect(faultCode(await miles.handle(service: "FinanceService", body: try credit("CN-4", amount: "1.00", reason: "XXXX")).body)
            == "UNKNOWN_REASON")
        #expect(faultCode(await miles.handle(service: "FinanceService", body: try credit("CN-1", amount: "2.00")).body) == "DUPLICATE_REFERENCE")
        #expect(await miles.creditNoteLedger().count == 1)
        let found = await miles.handle(service: "FinanceService", body: try request(
            "<m:FindCreditNotes><m:ClientReference>CN-1</m:ClientReference></m:FindCreditNotes>"))
        try schema.validateSOAPPayload(found.body)
        #expect(String(decoding: found.body, as: UTF8.self).contains("<m:ClientReference>CN-1</m:ClientReference>"))

        _ = await miles.handle(service: "FinanceService", body: try request("""
            <m:PostWriteOff><m:ContractNumber>\(contract.contractNumber)</m:ContractNumber><m:InvoiceNumbers/><m:Amount>5.00</m:Amount>\
            <m:Currency>\(contract.currency.code)</m:Currency><m:ReasonCode>UNEC</m:ReasonCode><m:RequestedBy>alice</m:RequestedBy>\
            <m:ApprovedBy><m:Approver>bob</m:Approver></m:ApprovedBy><m:ClientReference>WO-1</m:ClientReference></m:PostWriteOff>
            """))
        let writeOffId = try #require(await miles.writeOffLedger().first?.writeOffId)
        func reverse(_ reference: String, amount: String, writeOff: String = writeOffId) throws -> [UInt8] {
            try request("""
                <m:ReverseWriteOff><m:WriteOffId>\(writeOff)</m:WriteOffId><m:Amount>\(amount)</m:Amount>\
                <m:Currency>\(contract.currency.code)</m:Currency><m:ReasonCode>PAID</m:ReasonCode><m:RequestedBy>alice</m:RequestedBy>\
                <m:ApprovedBy><m:Approver>bob</m:Approver></m:ApprovedBy><m:ClientReference>\(reference)</m:ClientReference></m:ReverseWriteOff>
                """)
        }
        let reversed = await miles.handle(service: "FinanceService", body: try reverse("WR-1", amount: "3.00"))
        #expect(reversed.status == 200)
        try schema.validateSOAPPayload(reversed.body)
        #expect(await miles.handle(service: "FinanceService", body: try reverse("WR-1", amount: "3.00")).body == reversed.body)
        #expect(faultCode(await miles.handle(service: "FinanceService", body: try reverse("WR-2", amount: "2.01")).body) == "AMOUNT_EXCEEDS_WRITE_OFF")
        #expect(faultCode(await miles.handle(service: "FinanceService", body: try reverse("WR-3", amount: "1.00", writeOff: "MWO404")).body)
            == "UNKNOWN_WRITE_OFF")
        #expect(await miles.handle(service: "FinanceService", body: try reverse("WR-4", amount: "2.00")).status == 200)
        #expect(await miles.reversalLedger().map(\.clientReference) == ["WR-1", "WR-4"])
        // The debt is back: 1.00 credited, 5.00 written off, 5.00 reversed.
        #expect(await miles.contract(number: contract.contractNumber)?.openBalance.minorUnits == contract.openBalance.minorUnits - 100)
        let withReversals = await miles.handle(service: "FinanceService", body: try request(
            "<m:FindWriteOffs><m:ClientReference>WO-1</m:ClientReference></m:FindWriteOffs>"))
        try schema.validateSOAPPayload(withReversals.body)
        #expect(String(decoding: withReversals.body, as: UTF8.self).contains("<m:ClientReference>WR-4</m:ClientReference>"))
    }

    @Test("RequestCustomerLetter: one letter per client reference, served two days on, a default notice with its remedy date")
    func letters() async throws {
        let schema = try SchemaValidator(schemaPath: wsdlDirectory + "/miles-collections.xsd")
        func letter(_ reference: String, type: String, contract: String = "C00000007") throws -> [UInt8] {
            try request("""
                <m:RequestCustomerLetter><m:ContractNumber>\(contract)</m:ContractNumber><m:LetterType>\(type)</m:LetterType>\
                <m:RequestedBy>bob</m:RequestedBy><m:ClientReference>\(reference)</m:ClientReference></m:RequestCustomerLetter>
                """)
        }
        let first = await miles.handle(service: "ContractService", body: try letter("LT-1", type: "DEFN"))
        #expect(first.status == 200)
        try schema.validateSOAPPayload(first.body)
        #expect(await miles.handle(service: "ContractService", body: try letter("LT-1", type: "DEFN")).body == first.body)
        let issued = try #require(await miles.letterLedger().first)
        #expect(await miles.letterLedger().count == 1)
        #expect(issued.serveDate == (await miles.businessClock).date.adding(days: 2))
        #expect(issued.remedyDate == issued.serveDate.adding(days: 14))
        #expect(faultCode(await miles.handle(service: "ContractService", body: try letter("LT-1", type: "ARRN")).body) == "DUPLICATE_REFERENCE")
        #expect(faultCode(await miles.handle(service: "ContractService", body: try letter("LT-2", type: "XXXX")).body) == "UNKNOWN_LETTER_TYPE")
        #expect(faultCode(await miles.handle(service: "ContractService", body: try letter("LT-3", type: "ARRN", contract: "C99999999")).body)
            == "UNKNOWN_CONTRACT")
        let notice = await miles.handle(service: "ContractService", body: try letter("LT-4", type: "ARRN"))
        try schema.validateSOAPPayload(notice.body)
        #expect(!String(decoding: notice.body, as: UTF8.self).contains("RemedyDate"))
    }

    @Test("the portfolio is a pure function of the seed, with a realistic mix")
    func portfolio() {
        let generator = PortfolioGenerator(seed: 7, baseTime: Timestamp.parse("2026-11-28T22:00:00Z")!)
        let again = PortfolioGenerator(seed: 7, baseTime: Timestamp.parse("2026-11-28T22:00:00Z")!)
        let other = PortfolioGenerator(seed: 8, baseTime: Timestamp.parse("2026-11-28T22:00:00Z")!)
        let contracts = (0..<2000).map(generator.contract)
        #expect(contracts == (0..<2000).map(again.contract))
        #expect(contracts != (0..<2000).map(other.contract))
        #expect(Set(contracts.map(\.agreementType)) == Set(AgreementType.allCases))
        #expect(contracts.contains { $0.customer.vulnerable })
        #expect(contracts.contains { $0.customer.name.unicodeScalars.contains { !$0.isASCII } })
        #expect(contracts.contains { $0.customer.name.contains("&") || $0.customer.name.contains("<") })
        #expect(contracts.allSatisfy { $0.openInvoices.count <= 12 })
        #expect(contracts.contains { $0.openInvoices.isEmpty } && contracts.contains { $0.openInvoices.count >= 6 })
        var buckets = Set<String>()
        for contract in contracts {
            for invoice in contract.openInvoices {
                buckets.insert(AgedDebtBuckets.standard.label(forDaysPastDue: invoice.daysPastDue(on: generator.baseTime.date)))
            }
        }
        #expect(buckets == Set(AgedDebtBuckets.standard.labels))
        #expect(contracts.allSatisfy { $0.lastModified < generator.baseTime })
    }
}

private extension Array where Element == UInt8 {
    /// The fault's detail element moved into the body, so the schema can check MILES's FaultDetail.
    func replacingFaultWithDetail() -> [UInt8] {
        let text = String(decoding: self, as: UTF8.self)
        guard let start = text.range(of: "<m:FaultDetail>"), let end = text.range(of: "</m:FaultDetail>") else { return self }
        let detail = String(text[start.lowerBound..<end.upperBound])
        let envelope = "<soapenv:Envelope xmlns:soapenv=\"\(SOAPNamespaces.envelope)\" xmlns:m=\"\(MockMilesServer.namespace)\">"
            + "<soapenv:Body>\(detail)</soapenv:Body></soapenv:Envelope>"
        return Array(envelope.utf8)
    }
}
