import CollectionsDomain
import CollectionsStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MilesMapping
import MilesMock
import MilesSync
import Testing
import TestSupport

/// A scratch folder outside the repository with a configuration file naming the harness's mock and
/// store, and the team in the store (carol, head of credit, added first; alice, an agent; bob, a team
/// leader), each with a personal token; commands run there as a new user would run them.
struct ScratchSetup {
    let folder: String
    let environment: [String: String]
    let tokens: [String: String]

    init(harness: SyncHarness) async throws {
        folder = temporaryDirectory("first-hour")
        try """
            miles:
              endpoint: \(harness.server.endpoint)
              username: \(MockMilesConfiguration.defaultUsername)
            database: \(harness.storePath)
            mappings: \(repositoryMappings)
            """.write(toFile: folder + "/miles-adapter.yaml", atomically: true, encoding: .utf8)
        environment = ["MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword]
        let people = PeopleDesk(store: try await harness.openStore(), mappings: harness.mappings, cost: 4)
        var tokens: [String: String] = [:]
        var admin: CollectionsUser?
        for (name, role) in [("carol", "headOfCredit"), ("alice", "agent"), ("bob", "teamLeader")] {
            let password = try await people.addUser(name: name, displayName: nil, role: role, password: nil, by: admin)
            let person = try await people.authenticate(name: name, password: password)
            if admin == nil { admin = person }
            tokens[name] = try await people.issueToken(for: person)
        }
        self.tokens = tokens
    }

    /// Runs `miles-adapter ARGUMENTS` in the scratch folder, authenticated as `user` by their personal token.
    func run(_ arguments: [String], as user: String = "alice") async throws -> (status: Int32, output: String, errors: String) {
        try await runAdapterSeparately(arguments + ["--config", folder + "/miles-adapter.yaml"],
                                       environment: environment.merging(["MILES_ADAPTER_TOKEN": tokens[user] ?? ""]) { $1 })
    }

    func file(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
        return folder + "/" + name
    }
}

@Suite("The first hour: exit codes, paths, validation at entry and the audit gate (issue 12)", .serialized, .timeLimit(.minutes(3)))
struct FirstHourTests {
    @Test("command-line mistakes exit 2; --help's exit-code table is the README's; --version names the MILES contract")
    func usageAndVersion() async throws {
        for arguments in [["nosuchcommand"], ["contract", "show"], ["report", "aged-debt", "--as-of", "2026-13-45"],
                          ["contract", "status", "C1", "--to", "termination", "--reason", "X"], ["contract", "hold", "C1", "--type", "nosuch", "--reason", "x"]] {
            let run = try await runAdapterSeparately(arguments, environment: [:])
            #expect(run.status == 2, "\(arguments): \(run.errors)")
        }
        let help = try await runAdapterSeparately(["--help"], environment: [:])
        #expect(help.status == 0)
        let helpRows = help.output.split(separator: "\n").compactMap { $0.wholeMatch(of: /\ \ (\d)\ \ (.+)/).map { "\($0.1) \($0.2)" } }
        let readme = try String(contentsOfFile: repositoryMappings + "/../README.md", encoding: .utf8)
        let readmeRows = readme.split(separator: "\n").compactMap { $0.wholeMatch(of: /\| (\d) \| (.+) \|/).map { "\($0.1) \($0.2)" } }
        #expect(helpRows.count == 8)
        #expect(helpRows == readmeRows)

        let version = try await runAdapterSeparately(["--version"], environment: ["MILES_ADAPTER_MAPPINGS": repositoryMappings])
        #expect(version.status == 0)
        #expect(version.output.contains("MILES contract: http://miles.example.com/collections/2026/01"), "\(version.output)")
    }

    @Test("mappings are found relative to the configuration file; a missing folder names the setting and the variable")
    func mappingsPaths() async throws {
        let folder = temporaryDirectory("paths")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/etc", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repositoryMappings, toPath: folder + "/etc/my-mappings")
        try "mappings: my-mappings\ndatabase: \(folder)/store.sqlite\n".write(toFile: folder + "/etc/adapter.yaml", atomically: true, encoding: .utf8)
        let found = try await runAdapterSeparately(["mappings", "check", "--config", folder + "/etc/adapter.yaml"], environment: [:])
        #expect(found.status == 0, "\(found.errors)")
        #expect(found.output.contains(folder + "/etc/my-mappings"))

        try "mappings: nowhere\n".write(toFile: folder + "/etc/adapter.yaml", atomically: true, encoding: .utf8)
        let missing = try await runAdapterSeparately(["ingest", "list", "--config", folder + "/etc/adapter.yaml"], environment: [:])
        #expect(missing.status == 5)
        #expect(missing.errors.contains("mappings: in \(folder)/etc/adapter.yaml names \(folder)/etc/nowhere"), "\(missing.errors)")
        // Installed: miles-adapter in PREFIX/bin finds PREFIX/share/miles-adapter/mappings from any folder.
        try FileManager.default.createDirectory(atPath: folder + "/prefix/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/prefix/share/miles-adapter", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repositoryMappings, toPath: folder + "/prefix/share/miles-adapter/mappings")
        let installed = folder + "/prefix/bin/miles-adapter"
        if link(AdapterProcess.executable.path, installed) != 0 { try FileManager.default.copyItem(atPath: AdapterProcess.executable.path, toPath: installed) }
        let share = try await runAdapterSeparately(["mappings", "check"], environment: ["MILES_ADAPTER_DATABASE": folder + "/store.sqlite"],
                                                   executable: URL(fileURLWithPath: installed), in: folder + "/etc", inheritingEnvironment: false)
        #expect(share.status == 0, "\(share.errors)")
        #expect(share.output.contains(folder + "/prefix/share/miles-adapter/mappings"), "\(share.output)")

        let unset = try await runAdapterSeparately(["ingest", "list"], environment: ["MILES_ADAPTER_DATABASE": folder + "/store.sqlite"], in: folder)
        #expect(unset.status == 5)
        #expect(unset.errors.contains("set mappings: in miles-adapter.yaml or MILES_ADAPTER_MAPPINGS"), "\(unset.errors)")
    }

    @Test("miles-mock started from any folder serves its WSDL, which is the adapter's mappings/wsdl")
    func mockFromAnywhere() async throws {
        let shipped = AdapterProcess.executable.deletingLastPathComponent()
            .appendingPathComponent("miles-collections-adapter_miles-mock.resources/contract").path
        for name in ["miles-collections.wsdl", "miles-collections.xsd"] {
            #expect(FileManager.default.contents(atPath: shipped + "/" + name) == FileManager.default.contents(atPath: repositoryMappings + "/wsdl/" + name),
                    "the mock's \(name) differs from mappings/wsdl/\(name)")
        }
        let folder = temporaryDirectory("mock-anywhere")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let process = Process()
        process.executableURL = AdapterProcess.executable.deletingLastPathComponent().appendingPathComponent("miles-mock")
        process.arguments = ["--port", "0", "--contracts", "5"]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        let pipe = Pipe()
        process.standardOutput = pipe
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { continuation.finish() } else { continuation.yield(String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
            pipe.fileHandleForReading.readabilityHandler = nil
        }
        var announced = ""
        for await text in lines {
            announced += text
            if announced.contains("\n") { break }
        }
        let endpoint = try #require(announced.firstMatch(of: /listening on (http:\/\/[^ ]+)/)).1
        let (data, response) = try await URLSession.shared.data(from: URL(string: "\(endpoint)/ContractService?wsdl")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: data, as: UTF8.self).contains("wsdl:definitions"))
    }

    @Test("a default notice that could never satisfy its guard is refused when recorded, and nothing is stored",
          arguments: StoreKind.available)
    func noticeValidatedAtEntry(kind: StoreKind) async throws {
        try await withHarness(contracts: 20, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore(minimumOpen: 0)
            let desk = ContractDesk(store: store, mappings: harness.mappings)
            let served = try #require(LocalDate.parse("2026-11-01"))
            for remedy in [served.adding(days: 4), served.adding(days: -3)] {
                await #expect { try await desk.recordNotice(contractNumber: "C00000001", arrearsNoticeSentOn: nil,
                                                            defaultNotice: .init(served: served, remedyDate: remedy), by: "bob") }
                    throws: { ($0 as? ContractDeskError)?.code == .invalidNotice }
            }
            // A date before the agreement began (a slip, or made up) would unlock termination, repossession and placement.
            let start = try #require(try await store.contract(number: "C00000001")).startDate
            let early = await #expect(throws: ContractDeskError.self) {
                try await desk.recordNotice(contractNumber: "C00000001", arrearsNoticeSentOn: start.adding(days: -1),
                                            defaultNotice: .init(served: LocalDate.parse("2000-01-01")!, remedyDate: LocalDate.parse("2000-01-15")!),
                                            by: "bob")
            }
            #expect(early?.description.contains("the default notice's service date 2000-01-01 is before the agreement began on \(start)") == true)
            #expect(early?.description.contains("the arrears notice's date \(start.adding(days: -1)) is before the agreement began") == true)
            #expect(try await store.notices(contractNumber: "C00000001").defaultNotice == nil)
            try await desk.recordNotice(contractNumber: "C00000001", arrearsNoticeSentOn: nil,
                                        defaultNotice: .init(served: served, remedyDate: served.adding(days: 14)), by: "bob")
            #expect(try await store.notices(contractNumber: "C00000001").defaultNotice?.remedyDate == served.adding(days: 14))
        }
    }

    @Test("partly done exits 6, nothing done 1, nothing to do 0 with a line saying so",
          arguments: StoreKind.available)
    func partialOutcomes(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let (_, candidates) = try await harness.syncedAnyStore()
            let scratch = try await ScratchSetup(harness: harness)
            defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
            let header = "contract_number,amount,invoice_numbers,reason_code,comment\n"
            let mixed = try scratch.file("mixed.csv", header + "\(candidates[0].contractNumber),1.00,,UNEC,ok\nC99999999,1.00,,UNEC,unknown\n")
            let partly = try await scratch.run(["writeoff", "prepare", mixed])
            #expect(partly.status == 6, "\(partly.output)\(partly.errors)")
            let none = try scratch.file("none.csv", header + "C99999998,1.00,,UNEC,unknown\n")
            #expect(try await scratch.run(["writeoff", "prepare", none]).status == 1)
            let nothing = try await scratch.run(["placement", "create", "--agent", "acme-dca", "--status", "terminated", "--output", scratch.folder + "/p"], as: "bob")
            #expect(nothing.status == 0, "\(nothing.errors)")
            #expect(nothing.output.contains("nothing to place: no stored contract has the collections status terminated"))
        }
    }

    @Test("a broken audit log stops decisions and pushes until an authorised person acknowledges it; the acknowledgement is audited",
          arguments: StoreKind.available)
    func auditGate(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let scratch = try await ScratchSetup(harness: harness)
            defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
            let header = "contract_number,amount,invoice_numbers,reason_code,comment\n"
            #expect(try await scratch.run(["writeoff", "prepare", try scratch.file("a.csv", header + "\(candidates[0].contractNumber),1.00,,UNEC,a\n")]).status == 0)
            try await harness.database.execute("UPDATE audit_log SET details = 'nothing' WHERE sequence = 1")

            let stopped = try await scratch.run(["writeoff", "prepare", try scratch.file("b.csv", header + "\(candidates[1].contractNumber),1.00,,UNEC,b\n")])
            #expect(stopped.status == 5)
            #expect(stopped.errors.contains("the audit log is broken at entry 1"), "\(stopped.errors)")
            #expect(try await scratch.run(["push"]).status == 5)
            #expect(try await store.writeOffRequests(state: nil).count == 1)

            let refused = try await scratch.run(["audit", "acknowledge", "--reason", "looked"], as: "alice")
            #expect(refused.status == 1)
            #expect(refused.errors.contains("needs headOfCredit"))
            let acknowledged = try await scratch.run(["audit", "acknowledge", "--reason", "a test edit of entry 1; restored from backup"], as: "carol")
            #expect(acknowledged.status == 0, "\(acknowledged.errors)")
            #expect(acknowledged.output.contains("except at entry 1, investigated and acknowledged"))
            let entry = try #require(try await store.auditEntries().last)
            #expect((entry.actor, entry.action, entry.subject) == ("carol", auditAcknowledgementAction, "audit:1"))

            #expect(try await scratch.run(["writeoff", "prepare", scratch.folder + "/b.csv"]).status == 0)
            try await harness.database.execute("UPDATE audit_log SET details = 'again' WHERE sequence = 2")
            #expect(try await scratch.run(["writeoff", "prepare", scratch.folder + "/b.csv"]).status == 5, "a new break stops work again")
        }
    }

    @Test("outbox entries are listed with their business reference and retried or skipped by it; aged debt says its date; contract show lists open invoices",
          arguments: StoreKind.available)
    func referencesAndDates(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            _ = try await harness.approvedWriteOffs([candidates[0]], store: store)
            let scratch = try await ScratchSetup(harness: harness)
            defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
            let entry = try #require(try await store.outboxEntries(state: .pending).first)
            let listed = try await scratch.run(["outbox", "list"])
            #expect(listed.output.contains("queue \(entry.id)\t\(entry.clientReference)\twrite-off request (PostWriteOff)\tpending"), "\(listed.output)")
            let skipped = try await scratch.run(["outbox", "skip", entry.clientReference, "--reason", "posted by hand"], as: "bob")
            #expect(skipped.status == 0, "\(skipped.errors)")
            #expect(try await store.outboxEntries(state: .skipped).map(\.id) == [entry.id])
            #expect(try await scratch.run(["outbox", "retry", entry.clientReference], as: "bob").status == 0)
            #expect(try await scratch.run(["outbox", "retry", "WO-999"], as: "bob").errors.contains("no outbox entry WO-999"))

            let aged = try await scratch.run(["report", "aged-debt"])
            let lastSync = try #require(try await store.runs(job: "contracts", limit: 1).first)
            #expect(aged.output.contains("aged to \(lastSync.startedAt.date): MILES's state at the last completed contract sync"), "\(aged.output)")

            let contract = try #require(candidates.first { !$0.openInvoices.isEmpty })
            let shown = try await scratch.run(["contract", "show", contract.contractNumber])
            for invoice in contract.openInvoices where invoice.openAmount.minorUnits > 0 {
                #expect(shown.output.contains("    \(invoice.number)  due \(invoice.dueDate)"), "\(shown.output)")
            }
        }
    }

    @Test("CCA s.90: consent or abandonment evidence, given on the command line, satisfies the guard and is recorded and audited",
          arguments: StoreKind.available)
    func protectedGoodsEvidence(kind: StoreKind) async throws {
        try await withHarness(contracts: 400, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore(minimumOpen: 0)
            var found: Contract?
            try await store.forEachContract {
                if found == nil, $0.statusCode == "DEF", !$0.customer.vulnerable, CollectionsGuards.isProtectedGoods($0) { found = $0 }
            }
            let contract = try #require(found, "a defaulted hire-purchase contract with a third paid")
            try await store.recordNotice(contractNumber: contract.contractNumber, arrearsNoticeSentOn: nil,
                                         defaultNotice: .init(served: LocalDate.parse("2026-01-05")!, remedyDate: LocalDate.parse("2026-01-25")!),
                                         by: "bob", at: CollectionsClock.system())
            let scratch = try await ScratchSetup(harness: harness)
            defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
            let asked = ["contract", "status", contract.contractNumber, "--to", "repossession", "--reason", "REPO"]
            let refused = try await scratch.run(asked, as: "carol")
            #expect(refused.status == 1)
            #expect(refused.errors.contains("[\(CollectionsGuards.protectedGoods)]"), "\(refused.errors)")
            #expect(refused.errors.contains("here: --court-order REFERENCE, --customer-consent 'what shows it' or --abandoned 'what shows it'"))

            let consented = try await scratch.run(asked + ["--customer-consent", "signed consent form, 2026-11-02"], as: "carol")
            #expect(consented.status == 0, "\(consented.errors)")
            let change = try #require(try await store.outboxEntries(state: .pending).last)
            #expect(try await store.statusChange(id: change.subjectId)?.customerConsent == "signed consent form, 2026-11-02")
            #expect(try await store.auditEntries().contains {
                $0.action == "status.requested" && $0.details.contains("customer's consent: signed consent form, 2026-11-02")
            })
        }
    }

    @Test("MILES's vulnerability flag: contract show and a lift both say it is cleared in MILES, not here",
          arguments: StoreKind.available)
    func vulnerabilityFlag(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore(minimumOpen: 0)
            var found: Contract?
            try await store.forEachContract { if found == nil, $0.statusCode == "DEF", !$0.customer.vulnerable { found = $0 } }
            let number = try #require(found).contractNumber
            _ = await harness.server.miles.changeBehindTheAdaptersBack(contractNumber: number, customerVulnerable: true)
            _ = try await harness.sync(store: store).run(mode: .full)
            #expect(try await store.contract(number: number)?.customer.vulnerable == true)
            let scratch = try await ScratchSetup(harness: harness)
            defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
            let lift = try await scratch.run(["contract", "hold", number, "--type", "vulnerable", "--lift", "--reason", "resolved"], as: "bob")
            #expect(lift.status == 1)
            #expect(lift.errors.contains("that flag is MILES's own. It is cleared on the customer's record in MILES"), "\(lift.errors)")
            let shown = try await scratch.run(["contract", "show", number])
            #expect(shown.output.contains("the vulnerability flag is MILES's own: it is cleared on the customer's record in MILES"), "\(shown.output)")
            #expect(!shown.output.contains("lift the recorded hold"))
        }
    }

    @Test("contract show and a refused status change come from one evaluation: the transition table shows in both",
          arguments: StoreKind.available)
    func showAndRefusalAgree(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore(minimumOpen: 0)
            var found: Contract?
            try await store.forEachContract { if found == nil, $0.statusCode == "ACT" { found = $0 } }
            let contract = try #require(found)
            let scratch = try await ScratchSetup(harness: harness)
            defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
            let refused = try await scratch.run(["contract", "status", contract.contractNumber, "--to", "terminated", "--reason", "TERM"], as: "carol")
            #expect(refused.status == 1)
            let refusalLines = refused.errors.split(separator: "\n").filter { $0.hasPrefix("  [") }.map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(refusalLines.contains { $0.hasPrefix("[status-transition]") }, "\(refused.errors)")
            let shown = try await scratch.run(["contract", "show", contract.contractNumber])
            let section = shown.output.split(separator: "\n").drop { !$0.contains("termination (to terminated): refused") }.dropFirst()
                .prefix { $0.hasPrefix("    ") }.filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("[") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(Array(section) == refusalLines, "show: \(section)\nstatus: \(refusalLines)")
        }
    }
}
