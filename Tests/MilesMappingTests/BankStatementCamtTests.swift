import CollectionsDomain
import Foundation
import MilesMapping
import Testing

@Suite("camt.053 statements: .001.02 and .001.08 through the hardened reader, refused whole with the element path (issue 17)")
struct BankStatementCamtTests {
    static let v02 = "two-statements.camt053.001.02.xml"
    static let v08 = "one-statement.camt053.001.08.xml"

    static let expectedEntries = [
        BankEntry(position: 1, bankReference: "DB-0001", bookingDate: bankDate("2026-11-03"), valueDate: bankDate("2026-11-03"), amount: bankEUR(125_000),
                  mark: .credit, isReversal: false, returnReason: nil, remittance: "Vertrag C000042 Rate November",
                  counterpartyName: "Zoë Ångström", counterpartyAccount: "DE44500105175407324931", endToEndId: "E2E-4711",
                  instructedAmount: bankEUR(125_000)),
        BankEntry(position: 2, bankReference: "DB-0002", bookingDate: bankDate("2026-11-04"), valueDate: bankDate("2026-11-04"), amount: bankEUR(7_550),
                  mark: .debit, isReversal: true, returnReason: nil, remittance: "Storno Gutschrift 01.11. Vertrag C000099",
                  counterpartyName: "José Müller", counterpartyAccount: "DE02120300000000202051", endToEndId: nil),
        BankEntry(position: 3, bankReference: "NW-7781", bookingDate: bankDate("2026-11-05"), valueDate: bankDate("2026-11-05"), amount: bankGBP(200_000),
                  mark: .credit, isReversal: false, returnReason: nil, remittance: "Contract C000042 november",
                  counterpartyName: "Zoë Ångström", counterpartyAccount: "NL91ABNA0417164300", endToEndId: "E2E-2026-11-0042",
                  instructedAmount: bankEUR(230_000)),
        BankEntry(position: 4, bankReference: "NW-7782", bookingDate: bankDate("2026-11-06"), valueDate: bankDate("2026-11-06"), amount: bankGBP(32_000),
                  mark: .debit, isReversal: false, returnReason: "MD06", remittance: "Returned direct debit C000077",
                  counterpartyName: "Fleet BV", counterpartyAccount: nil, endToEndId: "E2E-RET-9"),
        BankEntry(position: 5, bankReference: nil, bookingDate: bankDate("2026-11-06"), valueDate: bankDate("2026-11-06"), amount: bankGBP(9_999),
                  mark: .credit, isReversal: false, returnReason: nil, remittance: "", counterpartyName: nil, counterpartyAccount: nil,
                  endToEndId: nil),
    ]

    static func firstHeader(id: String) -> BankStatementHeader {
        BankStatementHeader(format: .camt053, account: "DE89370400440532013000", currency: .eur, statementId: id, sequenceNumber: "215",
                            opening: BankBalance(amount: bankEUR(1_000_000), mark: .credit, date: bankDate("2026-11-02")))
    }

    static let firstClosing = BankBalance(amount: bankEUR(1_117_450), mark: .credit, date: bankDate("2026-11-04"))

    static let expectedStatements = [
        ReadStatement(header: firstHeader(id: "CAMT-1103"), entries: Array(expectedEntries[0..<2]), closing: firstClosing),
        ReadStatement(header: BankStatementHeader(format: .camt053, account: "GB29NWBK60161331926819", currency: .gbp, statementId: "CAMT-1104",
                                                  sequenceNumber: "310",
                                                  opening: BankBalance(amount: bankGBP(50_000), mark: .debit, date: bankDate("2026-11-04"))),
                      entries: Array(expectedEntries[2...]),
                      closing: BankBalance(amount: bankGBP(127_999), mark: .credit, date: bankDate("2026-11-06"))),
    ]

    /// A fixture with the first `old` replaced by `new`.
    static func altered(_ old: String, _ new: String, in fixture: String = v02) throws -> [UInt8] {
        let text = String(decoding: try bankFixture(fixture), as: UTF8.self)
        let range = try #require(text.range(of: old), "'\(old)' is not in \(fixture)")
        return Array(text.replacingCharacters(in: range, with: new).utf8)
    }

    @Test(".001.02: two statements, a reversal, a return with its reason, a GBP account paid in EUR, accents, unknown elements skipped")
    func version02ReadExactly() throws {
        #expect(try readStatements(try bankFixture(Self.v02), .camt053) == Self.expectedStatements)
        var collector = StatementCollector()
        try BankStatementReader(format: .camt053).read(fileAt: bankParsingFixtures + "/" + Self.v02, into: &collector)
        #expect(collector.statements == Self.expectedStatements)
    }

    @Test("a return's instructed amount is the payment's own when its entry holds one transaction; a batch of returns booked as one entry has none")
    func returnInstructedAmount() throws {
        /// The return NW-7782 (320.00 booked) of the fixture, with each edit's text replaced first.
        func returned(_ edits: [(String, String)]) throws -> BankEntry {
            var text = String(decoding: try bankFixture(Self.v02), as: UTF8.self)
            for (old, new) in edits {
                let range = try #require(text.range(of: old), "'\(old)' is not in the fixture")
                text.replaceSubrange(range, with: new)
            }
            return try #require(try readStatements(Array(text.utf8), .camt053).flatMap(\.entries).first { $0.bankReference == "NW-7782" })
        }
        let refs = "<Refs><EndToEndId>E2E-RET-9</EndToEndId></Refs>"
        let instructed = { (amount: String) in "<AmtDtls><InstdAmt><Amt Ccy=\"GBP\">\(amount)</Amt></InstdAmt></AmtDtls>" }
        // One return of a 300.00 payment, booked with 20.00 of charges.
        let single = try returned([(refs, refs + instructed("300.00"))])
        #expect(single.instructedAmount == bankGBP(30_000) && single.amountReversed == bankGBP(30_000))
        // Two returns of 150.00 booked as one entry: neither is the entry's, so the entry reverses its own amount.
        let batch = try returned([
            (refs, refs + instructed("150.00")),
            ("</RtrInf>", "</RtrInf></TxDtls><TxDtls><Refs><EndToEndId>E2E-RET-10</EndToEndId></Refs>" + instructed("150.00")),
        ])
        #expect(batch.instructedAmount == nil && batch.amountReversed == bankGBP(32_000))
    }

    @Test(".001.08 (the debtor's name under Pty, CR LF line ends) reads the same entries")
    func version08ReadExactly() throws {
        let bytes = try bankFixture(Self.v08)
        #expect(bytes.contains(0x0D))
        let expected = [ReadStatement(header: Self.firstHeader(id: "CAMT-1103-V8"), entries: Array(Self.expectedEntries[0..<2]),
                                      closing: Self.firstClosing)]
        #expect(try readStatements(bytes, .camt053) == expected)
    }

    @Test("a document in another namespace, a later version or none is refused naming the namespace", arguments: [
        "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02", "urn:iso:std:iso:20022:tech:xsd:camt.053.001.14", "",
    ])
    func wrongNamespace(namespace: String) throws {
        let bytes = try Self.altered("xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"", namespace.isEmpty ? "" : "xmlns=\"\(namespace)\"")
        let error = try #require(statementRefusal(bytes, .camt053))
        #expect(error.code == .unsupportedVersion && error.location == "Document" && error.value == namespace)
    }

    @Test("a namespace bound to a prefix is read as well")
    func prefixedNamespace() throws {
        let text = String(decoding: try bankFixture(Self.v02), as: UTF8.self)
            .replacingOccurrences(of: "<(/?)([A-Za-z])", with: "<$1c:$2", options: .regularExpression)
            .replacingOccurrences(of: "xmlns=", with: "xmlns:c=")
        #expect(try readStatements(Array(text.utf8), .camt053) == Self.expectedStatements)
    }

    @Test("a statement without Acct is refused with the statement's path")
    func missingAccount() throws {
        let text = String(decoding: try bankFixture(Self.v02), as: UTF8.self)
        let start = try #require(text.range(of: "<Acct>")), end = try #require(text.range(of: "</Acct>"))
        let bytes = Array(text.replacingCharacters(in: start.lowerBound..<end.upperBound, with: "").utf8)
        let error = try #require(statementRefusal(bytes, .camt053))
        #expect(error.code == .missingField && error.location == "Document/BkToCstmrStmt/Stmt[1]")
        #expect(error.message.contains("Acct/Id/IBAN"))
    }

    @Test("an amount that is not a plain decimal in the currency is refused with its path and value", arguments: ["1250,00", "-1250.00", "1250.001", "1.250.00", ""])
    func badAmount(amount: String) throws {
        let bytes = try Self.altered("<Amt Ccy=\"EUR\">1250.00</Amt>", "<Amt Ccy=\"EUR\">\(amount)</Amt>")
        let error = try #require(statementRefusal(bytes, .camt053))
        #expect(error.code == .invalidValue && error.location == "Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/Amt" && error.value == amount)
    }

    @Test("a bad date or debit/credit mark is refused with its path")
    func badValues() throws {
        let dateError = try #require(statementRefusal(try Self.altered("<BookgDt><Dt>2026-11-03</Dt>", "<BookgDt><Dt>2026-11-31</Dt>"), .camt053))
        #expect(dateError.code == .invalidValue && dateError.location == "Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/BookgDt/Dt")
        let markError = try #require(statementRefusal(try Self.altered("<CdtDbtInd>DBIT</CdtDbtInd>\n        <RvslInd>", "<CdtDbtInd>D</CdtDbtInd>\n        <RvslInd>"), .camt053))
        #expect(markError.code == .invalidValue && markError.location == "Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/CdtDbtInd" && markError.value == "D")
    }

    @Test("an entry in another currency than its statement is refused with its path")
    func entryCurrency() throws {
        let error = try #require(statementRefusal(try Self.altered("<Amt Ccy=\"GBP\">2000.00</Amt>", "<Amt Ccy=\"USD\">2000.00</Amt>"), .camt053))
        #expect(error.code == .currencyMismatch && error.location == "Document/BkToCstmrStmt/Stmt[2]/Ntry[1]/Amt" && error.value == "USD")
    }

    @Test("a closing balance that does not follow from the entries is refused, naming the statement and both figures")
    func balanceMismatch() throws {
        let error = try #require(statementRefusal(try Self.altered("1279.99", "1279.98"), .camt053))
        #expect(error.code == .balanceMismatch && error.location == "Document/BkToCstmrStmt/Stmt[2]")
        #expect(error.message.contains("'CAMT-1104'") && error.message.contains("1279.99 GBP") && error.message.contains("1279.98 GBP"))
    }

    @Test("a document cut short is refused as malformed")
    func truncated() throws {
        let bytes = try bankFixture(Self.v02)
        let error = try #require(statementRefusal(Array(bytes[0..<(bytes.count * 2 / 3)]), .camt053))
        #expect(error.code == .malformed)
    }

    // MARK: Hostile documents

    @Test("a DOCTYPE (a billion laughs) is refused before any entity is expanded")
    func doctype() throws {
        let laughs = "<!DOCTYPE Document [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
            + "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>\n<Document "
        let bytes = try Self.altered("<Document ", laughs)
        let withUse = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "Rate November", with: "&c;")
        let error = try #require(statementRefusal(Array(withUse.utf8), .camt053))
        #expect(error.code == .refusedXML && error.message.contains("DOCTYPE"))
    }

    @Test("an entity reference without a DTD is refused at the element holding it")
    func entity() throws {
        let error = try #require(statementRefusal(try Self.altered("Rate November", "Rate &xxe;"), .camt053))
        #expect(error.code == .refusedXML)
        #expect(error.location.hasPrefix("Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/"))
    }

    @Test("nesting beyond maxXMLDepth is refused with the path it reached")
    func deepNesting() throws {
        let deep = String(repeating: "<X>", count: 100) + String(repeating: "</X>", count: 100)
        let error = try #require(statementRefusal(try Self.altered("<AddtlNtryInf>", deep + "<AddtlNtryInf>"), .camt053))
        #expect(error.code == .overLimit && error.location.hasPrefix("Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/X/X/"))
    }

    @Test("a text over maxTextBytes is refused with its path, in a known element or a skipped one")
    func hugeText() throws {
        let huge = String(repeating: "x", count: 100_000)
        let known = try #require(statementRefusal(try Self.altered("Rate November", huge), .camt053))
        #expect(known.code == .overLimit && known.location == "Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/NtryDtls/TxDtls/RmtInf/Ustrd")
        let skipped = try #require(statementRefusal(try Self.altered("SEPA-GUTSCHRIFT", huge), .camt053))
        #expect(skipped.code == .overLimit && skipped.location == "Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/AddtlNtryInf")
    }

    @Test("remittance lines adding up to more than maxTextBytes are refused")
    func longRemittance() throws {
        let lines = String(repeating: "<Ustrd>" + String(repeating: "y", count: 100) + "</Ustrd>", count: 20)
        let error = try #require(statementRefusal(try Self.altered("<Ustrd>Rate November</Ustrd>", lines), .camt053,
                                         limits: BankStatementLimits(maxTextBytes: 1_000)))
        #expect(error.code == .overLimit && error.location.hasSuffix("RmtInf/Ustrd"))
    }
}
