import CollectionsDomain
import Foundation
import MilesMapping
import Testing

/// Issue 11: agents' files read as an attacker or a careless agency would send them.
@Suite("Agents' files are hostile until proven otherwise: encodings, NULs and limits (issue 11)")
struct HostileAgentFileTests {
    let mappings: MappingSet

    init() throws {
        mappings = try MappingSet.load(directory: mappingsDirectory)
    }

    func parser(_ agent: String, limits change: (inout AgentMapping.Limits) -> Void = { _ in }) throws -> AgentFileParser {
        var mapping = try #require(mappings.agents[agent])
        change(&mapping.updates!.limits)
        return try AgentFileParser(agent: mapping)
    }

    static let header = "AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes\n"

    @Test("a UTF-8 byte-order mark is understood; in a file declared windows-1252, or a UTF-16 file, it refuses the file naming the encoding")
    func byteOrderMarks() throws {
        let withMark: [UInt8] = [0xEF, 0xBB, 0xBF] + Array((Self.header + "C00000050,PAY,28/11/2026,12.50,R-1,card\n").utf8)
        let result = try parser("acme-dca").parse(withMark, sourceName: "bom.csv")
        #expect(result.errors.isEmpty)
        #expect(result.updates.map(\.contractNumber) == ["C00000050"])

        let trace: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("ClientRef;Result;TracedOn\nC1;NOTRACE;2026-11-28\n".utf8)
        let misdeclared = #expect(throws: AgentFileError.self) { try parser("tracewise").parse(trace, sourceName: "trace.csv") }
        #expect(misdeclared?.description.contains("declares windows-1252") == true)

        let utf16: [UInt8] = [0xFF, 0xFE] + Array("A\0,\0".utf8)
        let wide = #expect(throws: AgentFileError.self) { try parser("acme-dca").parse(utf16, sourceName: "wide.csv") }
        #expect(wide?.description.contains("UTF-16") == true)
    }

    @Test("a NUL rejects its row with the column and position; the other rows are applied")
    func nulByte() throws {
        let text = Self.header + "C00000050,NOTE,28/11/2026,,,before\0after\nC00000051,NOTE,28/11/2026,,,fine\n"
        let result = try parser("acme-dca").parse(Array(text.utf8), sourceName: "nul.csv")
        #expect(result.updates.map(\.contractNumber) == ["C00000051"])
        let error = try #require(result.errors.first)
        #expect((error.line, error.column) == (2, "Notes"))
        #expect(error.value.isEmpty)
        #expect(error.reason.contains("a NUL byte at character 7"))
    }

    @Test("bytes invalid in the declared encoding refuse the file with the line, field and byte")
    func invalidBytes() throws {
        let bytes = Array((Self.header + "C00000050,NOTE,28/11/2026,,,ok\nC00000051,NOTE,28/11/2026,,,caf").utf8) + [0xE9, 0x0A]
        let error = #expect(throws: AgentFileError.self) { try parser("acme-dca").parse(bytes, sourceName: "latin.csv") }
        #expect(error?.code == .unreadable)
        #expect(error?.description.contains("line 3, field 6: byte 0xE9 (byte 4 of the field) is not utf-8") == true)
        // The agent's mapping chose the encoding, so that is where another one is declared.
        #expect(error?.description.contains("set updates.encoding in its mapping") == true)
    }

    @Test("a field over the limit rejects its row, naming the limit, without the value kept; the file goes on")
    func fieldLimit() throws {
        let dca = try parser("acme-dca") { $0.maxFieldBytes = 64 }
        let long = String(repeating: "x", count: 10_000)
        let text = Self.header + "C00000050,NOTE,28/11/2026,,,\(long)\nC00000051,NOTE,28/11/2026,,,\"quoted \(long)\"\nC00000052,NOTE,28/11/2026,,,short\n"
        let parsed = try dca.parse(Array(text.utf8), sourceName: "long.csv")
        for result in [(parsed.updates, parsed.errors), try records(dca, text)] {
            #expect(result.0.map(\.contractNumber) == ["C00000052"])
            #expect(result.1.map(\.line) == [2, 3])
            #expect(result.1.allSatisfy { $0.column == "Notes" && $0.value.isEmpty && $0.reason.contains("64-byte field limit") })
        }
    }

    @Test("more rows than the limit, or more bytes, refuse the file before anything is applied")
    func rowAndSizeLimits() throws {
        let rows = (1...5).map { "C0000005\($0),NOTE,28/11/2026,,,n\n" }.joined()
        let tooMany = #expect(throws: AgentFileError.self) { try records(try parser("acme-dca") { $0.maxRows = 4 }, Self.header + rows) }
        #expect(tooMany?.code == .overLimit)
        #expect(tooMany?.description.contains("more than 4 rows") == true)
        #expect(try records(try parser("acme-dca") { $0.maxRows = 5 }, Self.header + rows).updates.count == 5)

        let small = try parser("acme-dca") { $0.maxFileBytes = 100 }
        let tooLarge = #expect(throws: AgentFileError.self) { try small.parse(Array((Self.header + rows).utf8), sourceName: "big.csv") }
        #expect(tooLarge?.code == .overLimit)
        #expect(tooLarge?.description.contains("maxFileBytes") == true)

        let repo = try parser("northern-recoveries") { $0.maxRows = 1 }
        let xml = "<Report><Recovery><AgreementNumber>C1</AgreementNumber><Event>NOACCESS</Event></Recovery>"
            + "<Recovery><AgreementNumber>C2</AgreementNumber><Event>NOACCESS</Event></Recovery></Report>"
        #expect(throws: AgentFileError.self) { try repo.parse(Array(xml.utf8), sourceName: "two.xml") }
    }

    @Test("a note longer than MILES takes, or a contact detail, is rejected by default, naming the limit")
    func noteAndContactLimits() throws {
        let note = String(repeating: "n", count: ContractNote.maxTextLength + 1)
        let result = try parser("acme-dca").parse(Array((Self.header + "C00000050,NOTE,28/11/2026,,,\(note)\n").utf8), sourceName: "note.csv")
        #expect(result.updates.isEmpty)
        #expect(result.errors.first?.reason.contains("MILES takes at most 4000") == true)
        #expect((result.errors.first?.value.count ?? 0) < 200, "a long value is not copied whole into the report")

        let town = String(repeating: "t", count: 600)
        let trace = "ClientRef;Result;TracedOn;NewAddress1;NewTown;NewPostcode\nC1;TRACED;2026-11-28;1 High St;\(town);LS1 1AA\n"
        let traced = try parser("tracewise").parse(Array(trace.utf8), sourceName: "trace.csv")
        #expect(traced.updates.isEmpty)
        #expect(traced.errors.first?.column == "NewTown")
    }

    @Test("limits in an agent's mapping are read, and one above MILES's own is a mapping problem")
    func limitsInTheMapping() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("limits-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: mappingsDirectory, toPath: directory)
        let file = directory + "/third-party/acme-dca.yaml"
        let original = try String(contentsOfFile: file, encoding: .utf8)
        try (original + "  limits:\n    maxRows: 10\n    maxFileBytes: 2048\n").write(toFile: file, atomically: true, encoding: .utf8)
        let limits = try #require(try MappingSet.load(directory: directory).agents["acme-dca"]?.updates?.limits)
        #expect((limits.maxRows, limits.maxFileBytes, limits.maxFieldBytes) == (10, 2048, 16 << 10))

        try (original + "  limits:\n    maxNoteLength: 5000\n").write(toFile: file, atomically: true, encoding: .utf8)
        let problem = #expect(throws: MappingCheckFailure.self) { try MappingSet.load(directory: directory) }
        #expect(problem?.description.contains("maxNoteLength must be a whole number from 1 to 4000") == true)
    }

    @Test("MILES's note limit is the schema's: AddContractNote/Text's maxLength")
    func noteLimitFromTheSchema() throws {
        let schema = try String(contentsOfFile: mappingsDirectory + "/wsdl/miles-collections.xsd", encoding: .utf8)
        let note = try #require(schema.range(of: "<xs:element name=\"AddContractNote\">"))
        let text = try #require(schema.range(of: "<xs:element name=\"Text\">", range: note.upperBound..<schema.endIndex))
        let limit = try #require(schema[text.upperBound...].firstMatch(of: /maxLength value="(\d+)"/))
        #expect(Int(limit.1) == ContractNote.maxTextLength)
    }

    /// The streaming path, from a file on disk, collected like `parse`.
    func records(_ parser: AgentFileParser, _ text: String) throws -> (updates: [ThirdPartyUpdate], errors: [AgentFileParser.RowError]) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        var result: (updates: [ThirdPartyUpdate], errors: [AgentFileParser.RowError]) = ([], [])
        try parser.forEachRecord(fileAt: path, sourceName: "file.csv") { record in
            switch record {
            case let .update(update, _): result.updates.append(update)
            case let .error(error): result.errors.append(error)
            }
        }
        return result
    }
}
