import CollectionsDomain
import Foundation
import MilesMapping
import Testing

/// The repository's own mappings folder.
let mappingsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("mappings").path

@Suite("mappings check")
struct MappingCheckTests {
    /// A copy of the shipped mappings with one line of one file replaced; returns the folder and the changed line's number.
    func mutatedCopy(file: String, replacing original: String, with replacement: String) throws -> (String, Int) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mappings-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: mappingsDirectory, toPath: directory.path)
        let path = directory.appendingPathComponent(file).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        let index = try #require(lines.firstIndex(of: original), "line '\(original)' not in \(file)")
        lines[index] = replacement
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return (directory.path, index + 1)
    }

    func problems(in directory: String) -> [MappingProblem] {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            _ = try MappingSet.load(directory: directory)
            return []
        } catch {
            return error.problems
        }
    }

    @Test("the shipped mappings are valid against the shipped schema")
    func shippedMappingsLoad() throws {
        let mappings = try MappingSet.load(directory: mappingsDirectory)
        #expect(mappings.contract.operations[.findContracts]?.recordsPath == ["Contracts", "Contract"])
        #expect(mappings.statusCodes.internalStatus(forMilesCode: "DCA") == .placedWithAgent)
        #expect(mappings.statusCodes.milesCode(for: .writtenOff) == "WOF")
        #expect(mappings.authorityMatrix.tiers.map(\.role.name) == ["agent", "teamLeader", "headOfCredit", "financeDirector"])
        #expect(mappings.authorityMatrix.tiers.first?.approvalLimit == 25_000)
        #expect(mappings.statusCodes.milesCode(for: .insolvency) == "INSO")
    }

    @Test("an unknown model field is reported at its line")
    func unknownModelField() throws {
        let (directory, line) = try mutatedCopy(file: "contract.yaml", replacing: "  customer.name: Customer/Name",
                                                with: "  customer.nmae: Customer/Name")
        let found = problems(in: directory)
        #expect(found.contains { $0.kind == .unknownModelField && $0.line == line && $0.file.hasSuffix("contract.yaml") })
        #expect(found.contains { $0.kind == .missingField && $0.message.contains("customer.name") })
    }

    @Test("a path that is not in the XSD is reported at its line")
    func pathNotInSchema() throws {
        let (directory, line) = try mutatedCopy(file: "contract.yaml", replacing: "  vehicle.vin: Vehicle/VIN",
                                                with: "  vehicle.vin: Vehicle/Vin")
        let found = problems(in: directory)
        #expect(found.count == 1)
        #expect(found.first?.kind == .pathNotInSchema)
        #expect(found.first?.line == line)
        #expect(found.first?.message.contains("Vehicle/Vin") == true)
    }

    @Test("a MILES code listed twice is reported at the second occurrence")
    func duplicateCode() throws {
        let (directory, line) = try mutatedCopy(file: "status-codes.yaml", replacing: "  CLS: closed",
                                                with: "  CLS: closed\n  ACT: closed")
        let found = problems(in: directory)
        #expect(found.contains { $0.kind == .duplicateCode && $0.line == line + 1 && $0.message.contains("ACT") })
    }

    @Test("a code with no internal status, or an unknown one, is reported at its line")
    func codeWithoutStatus() throws {
        let (emptyDirectory, emptyLine) = try mutatedCopy(file: "status-codes.yaml", replacing: "  TER: terminated", with: "  TER:")
        #expect(problems(in: emptyDirectory).contains { $0.kind == .unknownInternalValue && $0.line == emptyLine })
        let (unknownDirectory, unknownLine) = try mutatedCopy(file: "status-codes.yaml", replacing: "  TER: terminated",
                                                              with: "  TER: endOfTheWorld")
        let found = problems(in: unknownDirectory)
        #expect(found.contains { $0.kind == .unknownInternalValue && $0.line == unknownLine && $0.message.contains("endOfTheWorld") })
    }

    @Test("defaultReasons: a code not in statusChangeReasons, or a key that is not a status, is reported at its line")
    func defaultReasons() throws {
        let (codeDirectory, codeLine) = try mutatedCopy(
            file: "status-codes.yaml", replacing: "  legal: LEGL                            # an agent reports legal action started",
            with: "  legal: SUE")
        #expect(problems(in: codeDirectory).contains { $0.kind == .invalidValue && $0.line == codeLine && $0.message.contains("SUE") })
        let (keyDirectory, keyLine) = try mutatedCopy(
            file: "status-codes.yaml", replacing: "  legal: LEGL                            # an agent reports legal action started",
            with: "  lawsuit: LEGL")
        #expect(problems(in: keyDirectory).contains { $0.kind == .unknownInternalValue && $0.line == keyLine && $0.message.contains("lawsuit") })
        let (missingDirectory, _) = try mutatedCopy(
            file: "status-codes.yaml", replacing: "  defaulted: RECL                        # placement recall (the account goes back to defaulted)",
            with: "")
        #expect(problems(in: missingDirectory).contains { $0.kind == .missingField && $0.message.contains("defaulted") })
    }

    @Test("authority matrix: limits that do not rise are reported at their line")
    func nonMonotonicLimits() throws {
        let (directory, line) = try mutatedCopy(file: "authority-matrix.yaml", replacing: "    approveUpTo: 5000.00",
                                                with: "    approveUpTo: 200.00")
        let found = problems(in: directory)
        #expect(found.contains { $0.kind == .invalidValue && $0.line == line && $0.message.contains("limits must rise") })
    }

    @Test("authority matrix: a top tier with a limit is a missing tier")
    func missingTopTier() throws {
        let (directory, _) = try mutatedCopy(file: "authority-matrix.yaml", replacing: "    approveUpTo: unlimited",
                                             with: "    approveUpTo: 90000.00")
        #expect(problems(in: directory).contains { $0.kind == .missingField && $0.message.contains("missing tier") })
    }

    @Test("authority matrix: an unknown role for a reason, and a duplicate role, are reported at their lines")
    func unknownAndDuplicateRoles() throws {
        let (directory, line) = try mutatedCopy(file: "authority-matrix.yaml", replacing: "  insolvency: teamLeader",
                                                with: "  insolvency: teamLead")
        #expect(problems(in: directory).contains { $0.kind == .unknownInternalValue && $0.line == line && $0.message.contains("teamLead") })
        let (duplicateDirectory, duplicateLine) = try mutatedCopy(file: "authority-matrix.yaml", replacing: "  - role: headOfCredit",
                                                                  with: "  - role: teamLeader")
        #expect(problems(in: duplicateDirectory).contains { $0.kind == .duplicateCode && $0.line == duplicateLine })
    }

    @Test("risk rules and arrangement limits: the shipped files load; an unknown agent status and limits out of order are reported at their lines")
    func riskRulesAndArrangementLimits() throws {
        let shipped = try MappingSet.load(directory: mappingsDirectory)
        #expect(shipped.riskRules.arrearsGrowingSyncs == 3)
        #expect(shipped.riskRules.agentStatuses == [.bankrupt, .deceased])
        #expect(shipped.authorityMatrix.arrangementLimits.tiers.map(\.longestTermMonths) == [12, 24, 60, nil])
        #expect(shipped.authorityMatrix.arrangementLimits.tokenPlans.role.name == "teamLeader")
        let (statusDirectory, statusLine) = try mutatedCopy(file: "risk-rules.yaml", replacing: "  agentStatuses: [bankrupt, deceased]",
                                                            with: "  agentStatuses: [bankrupt, dead]")
        #expect(problems(in: statusDirectory).contains { $0.kind == .unknownInternalValue && $0.line == statusLine && $0.message.contains("dead") })
        let (orderDirectory, orderLine) = try mutatedCopy(file: "authority-matrix.yaml", replacing: "      longestTermMonths: 24",
                                                          with: "      longestTermMonths: lots")
        #expect(problems(in: orderDirectory).contains { $0.kind == .invalidValue && $0.line == orderLine })
        let (topDirectory, _) = try mutatedCopy(file: "authority-matrix.yaml", replacing: "      largestReduction: unlimited",
                                                with: "      largestReduction: 90000.00")
        #expect(problems(in: topDirectory).contains { $0.message.contains("must have no limits") })
    }

    @Test("agents: an unknown encoding, an unknown update kind and an unmapped column name are reported at their lines")
    func agentMappingProblems() throws {
        let (encodingDirectory, encodingLine) = try mutatedCopy(file: "third-party/tracewise.yaml", replacing: "  encoding: windows-1252",
                                                                with: "  encoding: ebcdic")
        #expect(problems(in: encodingDirectory).contains { $0.kind == .invalidValue && $0.line == encodingLine && $0.message.contains("encoding") })
        let (kindDirectory, kindLine) = try mutatedCopy(file: "third-party/acme-dca.yaml", replacing: "    DEC: deceased",
                                                        with: "    DEC: passedAway")
        #expect(problems(in: kindDirectory).contains { $0.kind == .unknownInternalValue && $0.line == kindLine && $0.message.contains("passedAway") })
        let (fieldDirectory, fieldLine) = try mutatedCopy(file: "third-party/acme-dca.yaml", replacing: "    amount: Amount",
                                                          with: "    amount:")
        #expect(problems(in: fieldDirectory).contains { $0.kind == .invalidValue && $0.line == fieldLine })
    }

    @Test("the problem prints as file:line: message")
    func problemFormat() {
        let problem = MappingProblem(file: "mappings/contract.yaml", line: 12, kind: .unknownModelField, message: "unknown model field 'x'")
        #expect(problem.description == "mappings/contract.yaml:12: unknown model field 'x'")
    }
}
