import CollectionsDomain
import Foundation
import MilesMapping
import MilesSync
import Testing

let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let agentGolden = testsDirectory.appendingPathComponent("EndToEndTests/Golden/agents").path
let mappingsDirectory = testsDirectory.deletingLastPathComponent().appendingPathComponent("mappings").path

@Suite("Agents' update files (issue 5, first part)")
struct AgentFileParserTests {
    let mappings: MappingSet

    init() throws {
        mappings = try MappingSet.load(directory: mappingsDirectory)
    }

    func parse(_ agent: String, _ file: String) throws -> AgentFileParser.Result {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: agentGolden + "/" + file)))
        return try AgentFileParser(agent: try #require(mappings.agents[agent])).parse(bytes, sourceName: file)
    }

    func date(_ text: String) -> LocalDate { LocalDate.parse(text)! }

    @Test("the three shipped agents are loaded and checked")
    func shippedAgents() {
        #expect(Set(mappings.agents.keys) == ["acme-dca", "tracewise", "northern-recoveries"])
    }

    @Test("a DCA's CSV return (UK dates, quoted fields) becomes payments, statuses and notes")
    func dcaReturn() throws {
        let result = try parse("acme-dca", "acme-dca-return.csv")
        #expect(result.errors.isEmpty)
        #expect(result.updates.map(\.kind) == [
            .paymentCollected(amount: Money(minorUnits: 15_000, currency: .gbp), on: date("2026-11-27"), agentReference: "ACME-77812"),
            .status(.activePlan, on: date("2026-11-27")),
            .status(.disputed, on: date("2026-11-28")),
            .note("left voicemail, no answer"),
        ])
        #expect(result.updates.map(\.source) == ["acme-dca-return.csv:2", "acme-dca-return.csv:3", "acme-dca-return.csv:4",
                                                  "acme-dca-return.csv:5"])
    }

    @Test("a trace agent's semicolon file becomes a new address and phone, or a note")
    func traceResults() throws {
        let result = try parse("tracewise", "tracewise-results.csv")
        #expect(result.errors.isEmpty)
        #expect(result.updates.map(\.kind) == [
            .traceResult(address: PostalAddress(line1: "4 Rose Lane", line2: nil, town: "Leith", postcode: "EH6 7AA", country: "GB"),
                         phone: "07700 900555", email: nil, on: date("2026-11-26")),
            .note("no trace at any address"),
        ])
    }

    @Test("a repossession agent's XML report becomes a recovery and an auction sale, with each record's line")
    func repossessionReport() throws {
        let result = try parse("northern-recoveries", "northern-recoveries-report.xml")
        #expect(result.errors.isEmpty)
        #expect(result.updates.map(\.kind) == [
            .vehicleRecovered(on: date("2026-11-20"), location: "Compound 3, Wakefield"),
            .soldAtAuction(on: date("2026-11-27"), proceeds: Money(minorUnits: 625_000, currency: .gbp)),
        ])
        #expect(result.updates.map(\.source) == ["northern-recoveries-report.xml:3", "northern-recoveries-report.xml:9"])
    }

    @Test("1,000 rows with 17 bad ones: 983 updates, and the 17 in the report with their line numbers")
    func badRows() throws {
        var lines = ["AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes"]
        var badLines: [Int] = []
        for row in 1...1000 {
            let line = row + 1
            switch row % 58 {
            case 0 where badLines.count < 17:
                badLines.append(line)
                lines.append(["C00000001,ZZZ,01/11/2026,,,unknown code",
                               "C00000001,PAY,31/02/2026,10.00,R,bad date",
                               "C00000001,PAY,01/11/2026,ten,R,amount not a number"][badLines.count % 3])
            default:
                lines.append("C\(String(format: "%08d", row)),PAY,01/11/2026,\(row).00,R\(row),ok")
            }
        }
        let parser = try AgentFileParser(agent: try #require(mappings.agents["acme-dca"]))
        let result = try parser.parse(Array(lines.joined(separator: "\n").utf8), sourceName: "big.csv")
        #expect(badLines.count == 17)
        #expect(result.updates.count == 983)
        #expect(result.errors.map(\.line) == badLines)
        #expect(result.errors.allSatisfy { !$0.reason.isEmpty && !$0.column.isEmpty })
    }

    @Test("an agent whose mapping says windows-1252 has its accents, pound signs and curly quotes read as such")
    func windows1252() throws {
        let header = "ClientRef;Result;TracedOn;NewAddress1;NewAddress2;NewTown;NewPostcode;NewPhone;NewEmail;Comment\n"
        // "Zoë O’Brien owes £5" with ë = 0xEB, ’ = 0x92, £ = 0xA3, as Excel writes it on Windows.
        let row: [UInt8] = Array("C00000013;NOTRACE;2026-11-26;;;;;;;Zo".utf8) + [0xEB] + Array(" O".utf8) + [0x92]
            + Array("Brien owes ".utf8) + [0xA3] + Array("5\n".utf8)
        let trace = try AgentFileParser(agent: try #require(mappings.agents["tracewise"]))
        let result = try trace.parse(Array(header.utf8) + row, sourceName: "cp1252.csv")
        #expect(result.updates.map(\.kind) == [.note("Zoë O’Brien owes £5")])
        let dca = try AgentFileParser(agent: try #require(mappings.agents["acme-dca"]))
        #expect(throws: AgentFileError.self) { try dca.parse(Array("AccountRef,ActionCode\n".utf8) + row, sourceName: "cp1252.csv") }
    }

    @Test("a file that is not UTF-8, lacks its header, or is truncated XML fails as a whole")
    func wholeFileFailures() throws {
        let dca = try AgentFileParser(agent: try #require(mappings.agents["acme-dca"]))
        #expect(throws: AgentFileError.self) { try dca.parse([0x41, 0xFF, 0xFE, 0x0A], sourceName: "latin1.csv") }
        #expect(throws: AgentFileError.self) { try dca.parse(Array("Account,Code\nC1,PAY\n".utf8), sourceName: "noheader.csv") }
        let repo = try AgentFileParser(agent: try #require(mappings.agents["northern-recoveries"]))
        #expect(throws: AgentFileError.self) {
            try repo.parse(Array("<RecoveryReport><Recovery><AgreementNumber>C1</Agree".utf8), sourceName: "cut.xml")
        }
    }

    @Test("a row with more or fewer fields than the header is rejected with its counts, nothing of it applied (issue 11)")
    func fieldCountMismatch() throws {
        let dca = try AgentFileParser(agent: try #require(mappings.agents["acme-dca"]))
        let text = """
            AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes
            C00000050,PAY,28/11/2026,12.50,OK-1,card
            C00000051,PAY,28/11/2026,1,500.00,SHIFT-1,x
            C00000052,NOTE,28/11/2026,,,
            C00000053,NOTE,28/11/2026,,
            "C00000054",NOTE,28/11/2026,,,"a note, with a comma
            and a line break"

            """
        func check(_ updates: [ThirdPartyUpdate], _ errors: [AgentFileParser.RowError]) {
            #expect(updates.map(\.contractNumber) == ["C00000050", "C00000052", "C00000054"])
            #expect(errors.map(\.line) == [3, 5])
            #expect(errors.first?.reason.contains("7 fields where the header has 6") == true)
            #expect(errors.last?.reason.contains("5 fields where the header has 6") == true)
            #expect(!updates.contains { $0.contractNumber == "C00000051" })
        }
        let parsed = try dca.parse(Array(text.utf8), sourceName: "shift.csv")
        check(parsed.updates, parsed.errors)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shift-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        var updates: [ThirdPartyUpdate] = []
        var errors: [AgentFileParser.RowError] = []
        try dca.forEachRecord(fileAt: path, sourceName: "shift.csv") { record in
            switch record {
            case let .update(update, _): updates.append(update)
            case let .error(error): errors.append(error)
            }
        }
        check(updates, errors)
    }
}
