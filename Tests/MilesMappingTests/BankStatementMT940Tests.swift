import CollectionsDomain
import Foundation
import MilesMapping
import Testing

@Suite("MT940 statements: SWIFT wrappers, German and Dutch :86:, reversals and returns, refused whole with the line (issue 17)")
struct BankStatementMT940Tests {
    static let expectedEntries = [
        BankEntry(position: 1, bankReference: "DB-0001", bookingDate: bankDate("2026-11-03"), valueDate: bankDate("2026-11-03"), amount: bankEUR(125_000),
                  mark: .credit, isReversal: false, returnReason: nil, remittance: "Vertrag C000042 Rate November",
                  counterpartyName: "Zoë Ångström", counterpartyAccount: "DE44500105175407324931", endToEndId: "E2E-4711"),
        BankEntry(position: 2, bankReference: "DB-0002", bookingDate: bankDate("2026-11-04"), valueDate: bankDate("2026-11-04"), amount: bankEUR(7_550),
                  mark: .debit, isReversal: true, returnReason: nil, remittance: "Storno Gutschrift 01.11. Vertrag C000099",
                  counterpartyName: "José Müller", counterpartyAccount: "DE02120300000000202051", endToEndId: nil),
        BankEntry(position: 3, bankReference: "ING-7781", bookingDate: bankDate("2026-11-05"), valueDate: bankDate("2026-11-05"), amount: bankEUR(200_000),
                  mark: .credit, isReversal: false, returnReason: nil, remittance: "Contract C000042 november",
                  counterpartyName: "Zoë Ångström", counterpartyAccount: "NL91ABNA0417164300", endToEndId: "E2E-2026-11-0042"),
        BankEntry(position: 4, bankReference: "ING-7782", bookingDate: bankDate("2026-11-06"), valueDate: bankDate("2026-11-06"), amount: bankEUR(32_000),
                  mark: .debit, isReversal: false, returnReason: "MD06", remittance: "Terugboeking incasso C000077",
                  counterpartyName: "Fleet BV", counterpartyAccount: "NL69INGB0123456789", endToEndId: nil),
        BankEntry(position: 5, bankReference: nil, bookingDate: bankDate("2026-11-06"), valueDate: bankDate("2026-11-06"), amount: bankEUR(9_999),
                  mark: .credit, isReversal: false, returnReason: nil, remittance: "Payment for invoice INV-2026-117 thank you",
                  counterpartyName: nil, counterpartyAccount: nil, endToEndId: nil),
    ]

    static let expectedStatements = [
        ReadStatement(header: BankStatementHeader(format: .mt940, account: "DE89370400440532013000", currency: .eur, statementId: "STMT-DE-1103",
                                                  sequenceNumber: "00215/001",
                                                  opening: BankBalance(amount: bankEUR(1_000_000), mark: .credit, date: bankDate("2026-11-02"))),
                      entries: Array(expectedEntries[0..<2]),
                      closing: BankBalance(amount: bankEUR(1_117_450), mark: .credit, date: bankDate("2026-11-04"))),
        ReadStatement(header: BankStatementHeader(format: .mt940, account: "NL20INGB0001234567", currency: .eur, statementId: "ING-STMT-2",
                                                  sequenceNumber: "00310",
                                                  opening: BankBalance(amount: bankEUR(50_000), mark: .debit, date: bankDate("2026-11-04"))),
                      entries: Array(expectedEntries[2...]),
                      closing: BankBalance(amount: bankEUR(127_999), mark: .credit, date: bankDate("2026-11-06"))),
    ]

    /// The fixture (CR LF) as text, to alter one line for a refusal.
    static func fixtureText() throws -> String { String(decoding: try bankFixture("two-statements.mt940"), as: UTF8.self) }

    /// The fixture with `old` replaced, and the 1-based line the replacement is on.
    static func altered(_ old: String, _ new: String) throws -> (bytes: [UInt8], line: Int) {
        let text = try fixtureText()
        let range = try #require(text.range(of: old), "'\(old)' is not in the fixture")
        let line = text[..<range.lowerBound].utf8.filter { $0 == 0x0A }.count + 1
        return (Array(text.replacingCharacters(in: range, with: new).utf8), line)
    }

    @Test("two statements, one in SWIFT blocks with German ?-subfields and one Dutch /EREF/, are read exactly, with CR LF or LF")
    func fixtureReadExactly() throws {
        let crlf = try bankFixture("two-statements.mt940")
        #expect(crlf.contains(0x0D))
        #expect(try readStatements(crlf, .mt940) == Self.expectedStatements)
        let lf = crlf.filter { $0 != 0x0D }
        #expect(try readStatements(lf, .mt940) == Self.expectedStatements)

        var collector = StatementCollector()
        try BankStatementReader(format: .mt940).read(fileAt: bankParsingFixtures + "/two-statements.mt940", into: &collector)
        #expect(collector.statements == Self.expectedStatements)
    }

    @Test("German returned direct debits (GVC 109): the SEPA return reason from ?34, or GVC109 without one, makes the debit a return; ?34 of any other entry is no reason")
    func germanReturnedDirectDebits() throws {
        let statement = """
            :20:STMT-DE-1201
            :25:DE89370400440532013000
            :28C:00216/001
            :60F:C261130EUR1000,00
            :61:2612011201C50,00NDDTNONREF//DB-0101
            :86:171?00SEPA-LASTSCHRIFT?20EREF+E2E-DD-1?21SVWZ+Vertrag C000042?32Max Mustermann?34997
            :61:2612031203D50,00NDDTNONREF//DB-0102
            :86:109?00SEPA-DD SOLL RUECKBEL.?20EREF+E2E-DD-1?21SVWZ+ORG Vertrag C000042?32Max Mustermann?34912
            :61:2612031203D10,00NDDTNONREF//DB-0103
            :86:109?00SEPA-DD SOLL RUECKBEL.?20EREF+E2E-DD-2?32Max Mustermann
            :61:2612031203D5,00NCHGNONREF//DB-0104
            :86:805?00ENTGELT?20Kontofuehrung?34011
            :62F:C261203EUR985,00

            """
        let entries = try readStatements(Array(statement.utf8), .mt940).flatMap(\.entries)
        #expect(entries.map(\.returnReason) == [nil, "912", "GVC109", nil])
        #expect(entries.map(\.mark) == [.credit, .debit, .debit, .debit])
        #expect(entries.map(\.endToEndId) == ["E2E-DD-1", "E2E-DD-1", "E2E-DD-2", nil])
        #expect(entries.allSatisfy { !$0.isReversal })
        #expect(entries.allSatisfy { $0.instructedAmount == nil })
    }

    @Test("a German return with the bank's charges: OAMT+ is the payment's own amount, so the return reverses that, not the amount booked; COAM+ must make up the rest")
    func germanReturnWithCharges() throws {
        let statement = """
            :20:STMT-DE-1203
            :25:DE89370400440532013000
            :60F:C261202EUR1000,00
            :61:2612031203D53,00NDDTNONREF//DB-0201
            :86:109?00SEPA-DD SOLL RUECKBEL.?20EREF+E2E-DD-1?21OAMT+50,00?22COAM+3,00?23SVWZ+Vertrag C000042?34901
            :61:2612031203D20,00NDDTNONREF//DB-0202
            :86:109?00SEPA-DD SOLL RUECKBEL.?20EREF+E2E-DD-3?21OAMT+USD 20,00?22SVWZ+Vertrag C000043?34901
            :61:2612031203D10,00NDDTNONREF//DB-0203
            :86:109?00SEPA-DD SOLL RUECKBEL.?20EREF+E2E-DD-4?21OAMT+EUR 12,00?22SVWZ+Vertrag C000044
            :61:2612031203D20,00NDDTNONREF//DB-0204
            :86:109?00SEPA-DD SOLL RUECKBEL.?20EREF+E2E-DD-5?21OAMT+15,00?22COAM+3,00?23SVWZ+Vertrag C000045?34901
            :61:2612031203C5,00NTRFNONREF//DB-0205
            :86:166?00GUTSCHRIFT?20EREF+E2E-CT-6?21OAMT+4,00?22SVWZ+Vertrag C000046
            :62F:C261203EUR902,00

            """
        let entries = try readStatements(Array(statement.utf8), .mt940).flatMap(\.entries)
        let euros = { (minorUnits: Int64) in Money(minorUnits: minorUnits, currency: try! CurrencyCode("EUR")) }
        // Read only on a returned direct debit, and only where the charges stated make up the rest of the amount booked.
        #expect(entries.map(\.instructedAmount) == [euros(5_000), nil, euros(1_200), nil, nil])
        #expect(entries.map(\.remittance) == ["Vertrag C000042", "Vertrag C000043", "Vertrag C000044", "Vertrag C000045", "Vertrag C000046"])
        // Another currency's OAMT, or one above the amount booked (charges never make a return smaller), leaves the amount booked.
        #expect(entries.map(\.amountReversed) == [euros(5_000), euros(2_000), euros(1_000), euros(2_000), euros(500)])
    }

    @Test("a file read in pieces splits lines anywhere: the same entries whatever the piece size")
    func linesAcrossChunks() throws {
        // A :86: line of 72,000 characters crosses the first 64 KiB piece's end.
        let long = String(repeating: "Vertrag C000042 ", count: 4_500)
        let (bytes, _) = try Self.altered(":86:Payment for invoice", ":86:" + long)
        let entries = try readStatements(bytes, .mt940, limits: BankStatementLimits(maxTextBytes: 100_000)).flatMap(\.entries)
        #expect(entries.count == 5)
        #expect(entries.last?.remittance == long.trimmingCharacters(in: .whitespaces) + " INV-2026-117 thank you")
    }

    @Test("an entry date in December of a January value date is in the year before, and the other way round")
    func entryDateAtYearEnd() throws {
        let statement = ":20:YE\n:25:NL20INGB0001234567\n:60F:C261230EUR0,00\n:61:2701021231C1,00NTRFX//A\n:61:2612310102C2,00NTRFX//B\n:62F:C270102EUR3,00\n"
        let entries = try readStatements(Array(statement.utf8), .mt940).flatMap(\.entries)
        #expect(entries.map(\.bookingDate) == [bankDate("2026-12-31"), bankDate("2027-01-02")])
        #expect(entries.map(\.valueDate) == [bankDate("2027-01-02"), bankDate("2026-12-31")])
    }

    @Test("a closing balance that does not follow from the entries refuses the file, naming the statement and both figures")
    func balanceMismatch() throws {
        let (bytes, line) = try Self.altered(":62F:C261106EUR1279,99", ":62F:C261106EUR1279,98")
        let error = try #require(statementRefusal(bytes, .mt940))
        #expect(error.code == .balanceMismatch && error.location == "line \(line)")
        #expect(error.message.contains("'ING-STMT-2'") && error.message.contains("1279.99 EUR") && error.message.contains("1279.98 EUR"))
    }

    @Test("a bad value date, entry date or amount in :61: refuses the file at its line, quoting it", arguments: [
        ("2611031103CR1250,00", "2613311103CR1250,00"),
        ("2611031103CR1250,00", "2611031199CR1250,00"),
        ("2611031103CR1250,00", "2611031103CR1250.00"),
        ("2611031103CR1250,00", "2611031103XR1250,00"),
    ])
    func badEntryValues(old: String, new: String) throws {
        let (bytes, line) = try Self.altered(":61:" + old, ":61:" + new)
        let error = try #require(statementRefusal(bytes, .mt940))
        #expect(error.code == .invalidValue && error.location == "line \(line)")
        #expect(error.value?.hasPrefix(new) == true)
    }

    @Test("a bad date or amount in a balance refuses the file at its line", arguments: [":60F:D261304EUR500,00", ":60F:D261104EUR5OO,00", ":60F:D261104EU1500,00"])
    func badBalanceValues(new: String) throws {
        let (bytes, line) = try Self.altered(":60F:D261104EUR500,00", new)
        let error = try #require(statementRefusal(bytes, .mt940))
        #expect(error.code == .invalidValue && error.location == "line \(line)")
    }

    @Test(":61: before the opening balance refuses the file at the :61: line")
    func entryBeforeOpening() throws {
        let (bytes, line) = try Self.altered(":60F:D261104EUR500,00\r\n", "")
        let error = try #require(statementRefusal(bytes, .mt940))
        #expect(error.code == .malformed && error.location == "line \(line)")
        #expect(error.message.contains(":60F:"))
    }

    @Test("a statement without :62F: refuses the file at the line that ends it: the block's end, the next :20:, the file's end")
    func missingClosing() throws {
        let atBlockEnd = try Self.altered(":62F:C261104EUR11174,50\r\n:64:C261104EUR11174,50\r\n", "")
        let blockError = try #require(statementRefusal(atBlockEnd.bytes, .mt940))
        #expect(blockError.code == .missingField && blockError.location == "line \(atBlockEnd.line)")
        #expect(blockError.message.contains("'STMT-DE-1103'") && blockError.message.contains(":62F:"))

        let unwrapped = try Self.fixtureText().replacingOccurrences(of: "-}{5:{CHK:1234567890AB}}\r\n", with: "")
            .replacingOccurrences(of: ":62F:C261104EUR11174,50\r\n:64:C261104EUR11174,50\r\n", with: "")
        let nextLine = unwrapped.components(separatedBy: "\r\n").firstIndex(of: ":20:ING-STMT-2")! + 1
        #expect(statementRefusal(Array(unwrapped.utf8), .mt940)?.location == "line \(nextLine)")

        let atEnd = try Self.altered(":62F:C261106EUR1279,99\r\n:64:C261106EUR1279,99\r\n", "")
        let endError = try #require(statementRefusal(atEnd.bytes, .mt940))
        #expect(endError.code == .missingField && endError.location == "line \(atEnd.line - 1)")
    }

    @Test("a line inside a statement that belongs to no field refuses the file at that line")
    func strayLine() throws {
        let (bytes, line) = try Self.altered(":25:NL20INGB0001234567\r\n", ":25:NL20INGB0001234567\r\nNL20INGB0001234567\r\n")
        let error = try #require(statementRefusal(bytes, .mt940))
        #expect(error.code == .malformed && error.location == "line \(line + 1)")
    }

    @Test("a line longer than maxTextBytes, or more entries than maxEntriesPerStatement, refuses the file")
    func limits() throws {
        let (bytes, line) = try Self.altered(":86:Payment for invoice", ":86:" + String(repeating: "x", count: 2_000))
        let long = try #require(statementRefusal(bytes, .mt940, limits: BankStatementLimits(maxTextBytes: 1_000)))
        #expect(long.code == .overLimit && long.location == "line \(line)")

        let many = try #require(statementRefusal(try bankFixture("two-statements.mt940"), .mt940, limits: BankStatementLimits(maxEntriesPerStatement: 2)))
        #expect(many.code == .overLimit && many.message.contains("'ING-STMT-2'"))
    }

    @Test("a file with no statement in it is refused")
    func noStatement() {
        #expect(statementRefusal(Array("0000 01INGBNL2AXXXX00001\r\n".utf8), .mt940)?.code == .missingField)
    }
}
