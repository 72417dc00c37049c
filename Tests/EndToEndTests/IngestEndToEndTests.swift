import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesMock
import MilesSync
import TestSupport
import Testing

extension SyncHarness {
    /// A synced store in which `contracts` are placed with `agent` (defaulted in MILES, placement pushed and
    /// synced back), with the mock's journal cleared so a test sees only what its ingest causes.
    func placedStore(agent: String, contracts: [String]) async throws -> any CollectionsStores {
        for number in contracts { await server.miles.setStatusCode(contractNumber: number, to: "DEF") }
        let store = try await openStore()
        _ = try await sync(store: store).run(mode: .resume)
        let now = CollectionsClock.system()
        var changes: [StatusChange] = []
        for number in contracts {
            let contract = try #require(try await store.contract(number: number))
            changes.append(StatusChange(id: 0, contractNumber: number, to: .placedWithAgent, reasonCode: "DCAP", effectiveDate: now.date,
                                courtOrderReference: nil, expectedVersion: contract.version, requestedBy: "bob", requestedAt: now,
                                state: .queued, overrides: []))
        }
        try await store.queuePlacement(agent: agent, fileName: "\(agent)-test.csv", changes: changes, by: "bob", at: now)
        let pushed = try await relay(store).run()
        #expect(pushed.statusChangesApplied == contracts.count)
        _ = try await sync(store: store).run(mode: .resume)
        await server.miles.clearJournal()
        return store
    }

    func ingestDesk(_ store: any IngestDesk.Stores, inbox: String, batchSize: Int = 2_000) -> IngestDesk {
        IngestDesk(store: store, mappings: mappings, inboxDirectory: inbox, batchSize: batchSize)
    }

    /// The MILES writes in the journal, one line each with sorted parameters, in the order MILES received them.
    func milesWrites() async -> String {
        await server.miles.journalEntries().filter { $0.operation != "GetContract" && $0.operation != "FindContracts" }.map { entry in
            "\(entry.operation) \(entry.outcome) " + entry.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " | ")
        }.joined(separator: "\n") + "\n"
    }
}

/// `date` as acme-dca's files write it: day/month/year.
func acmeDate(_ date: LocalDate) -> String {
    let (year, month, day) = date.components
    return String(format: "%02d/%02d/%04d", day, month, year)
}

func temporaryDirectory(_ name: String) -> String {
    // Letters only: the adapter's messages mask a run of digits as a phone number, and a UUID's may be
    // one ("/tmp/x-08350839-4162-…" was shown as "/tmp/x-‹phone›-…"), failing a test that looks for the path.
    let unique = String((0..<16).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement()! })
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(unique)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Compares `text` with a golden file in `folder` of the golden directory, or records it with RECORD_GOLDEN=1.
func expectGolden(_ text: String, _ name: String, folder: String = "agents") throws {
    let path = goldenDirectory + "/" + folder + "/" + name
    if ProcessInfo.processInfo.environment["RECORD_GOLDEN"] == "1" { try text.write(toFile: path, atomically: true, encoding: .utf8) }
    #expect(text == (try String(contentsOfFile: path, encoding: .utf8)), "differs from \(name)")
}

@Suite("Agents' updates ingested: effects, MILES calls, nothing lost or repeated", .serialized, .timeLimit(.minutes(2)))
struct IngestEndToEndTests {
    @Test("risk: an agent reporting the customer bankrupt raises the agent-report alert with the batch; a dispute (not in agentStatuses) does not",
          arguments: StoreKind.available)
    func agentReportsRisk(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008", "C00000013"])
            let inbox = temporaryDirectory("inbox")
            defer { try? FileManager.default.removeItem(atPath: inbox) }
            let file = inbox + "/return.csv"
            try """
                AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes
                C00000008,BKR,27/11/2026,,,bankruptcy order made
                C00000013,DIS,28/11/2026,,,customer disputes the arrears

                """.write(toFile: file, atomically: true, encoding: .utf8)
            let outcome = try await harness.ingestDesk(store, inbox: inbox + "/in").ingest(path: file, agent: "acme-dca", channel: "file")
            #expect(outcome.file.applied == 2)
            let alerts = try await store.riskAlerts(includeAcknowledged: true, limit: 10)
            #expect(alerts.map(\.alert.rule) == [RiskRules.agentReport])
            #expect(alerts.first?.alert.contractNumber == "C00000008")
            #expect(alerts.first?.alert.facts == "acme-dca reported bankrupt on 2026-11-27")
        }
    }

    @Test("a DCA's return file: payments, a plan, a dispute and a note reach MILES (golden calls); the same file again changes nothing",
          arguments: StoreKind.available)
    func dcaReturn(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008", "C00000013", "C00000026"])
            let inbox = temporaryDirectory("inbox")
            defer { try? FileManager.default.removeItem(atPath: inbox) }
            let desk = harness.ingestDesk(store, inbox: inbox)
            let outcome = try await desk.ingest(path: goldenDirectory + "/agents/acme-dca-return.csv", agent: "acme-dca", channel: "file")
            #expect(outcome.file.state == .processed)
            #expect(!outcome.duplicate)
            #expect((outcome.file.applied, outcome.file.refused, outcome.file.rejected) == (4, 0, 0))
            let updates = try await store.thirdPartyUpdates(fileId: outcome.file.id)
            #expect(updates.map(\.kind) == ["paymentCollected", "activePlan", "disputed", "note"])
            #expect(updates.map(\.line) == [2, 3, 4, 5])
            #expect(try await store.holds(contractNumber: "C00000013").map(\.kind) == [.dispute])
            #expect(try await store.paymentsInTransit(contractNumber: "C00000008").map(\.amount) == [Money(minorUnits: 15_000, currency: .gbp)])
            let queued = try await store.outboxEntries(state: .pending).count

            let again = try await desk.ingest(path: goldenDirectory + "/agents/acme-dca-return.csv", agent: "acme-dca", channel: "file")
            #expect(again.duplicate)
            #expect(again.file.id == outcome.file.id)
            #expect(try await store.outboxEntries(state: .pending).count == queued)
            #expect(try await store.thirdPartyUpdates(fileId: outcome.file.id).count == 4)

            let pushed = try await harness.relay(store).run()
            #expect(pushed.deadLettered == 0)
            try expectGolden(await harness.milesWrites(), "acme-dca-return.miles-calls.txt")
            // The plan the agent reports waits for the team to propose it: MILES's status is not changed by the agent.
            #expect(await harness.server.miles.contract(number: "C00000008")?.statusCode != "PPL")
            let reported = try await store.reportedArrangements(open: true, limit: 10)
            #expect(reported.map(\.contractNumber) == ["C00000008"] && reported.first?.source == "acme-dca/acme-dca-return.csv#1:3")
            // Once the team proposes a plan for the contract, the report is linked to it and no longer open.
            let contract = try #require(try await store.contract(number: "C00000008"))
            let today = CollectionsClock.system().date
            let plan = try PaymentArrangement.regular(contractNumber: contract.contractNumber, frequency: .monthly, firstDate: today.adding(days: 7),
                                                      count: 2, amount: contract.monthlyPayment)
            let proposer = CollectionsUser(name: "bob", role: try #require(harness.mappings.authorityMatrix.role(named: "teamLeader")))
            let id = try await ArrangementDesk(store: store, mappings: harness.mappings).propose(plan, income: IncomeAndExpenditure(
                monthlyIncome: contract.monthlyPayment, monthlyExpenditure: Money(minorUnits: 0, currency: contract.currency), recordedOn: today,
                recordedBy: "bob"), by: proposer)
            #expect(try await store.reportedArrangements(open: true, limit: 10).isEmpty)
            #expect(try await store.reportedArrangements(open: false, limit: 10).map(\.proposal) == [id])
        }
    }

    @Test("a MILES that maps no AddContractNote, UpdateContactDetails or UpdateContractStatus: agents' updates are kept, a trace result and a legal status are refused for the team naming what is missing, and nothing is queued that push could not send",
          arguments: StoreKind.available)
    func partialMiles(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008", "C00000013", "C00000026"])
            _ = try await harness.placedStore(agent: "tracewise", contracts: ["C00000031"])
            let folder = temporaryDirectory("partial-miles")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let mappings = try partialMappings(in: folder, leavingOut: ["addContractNote", "updateContactDetails", "updateContractStatus"])
            let desk = IngestDesk(store: store, mappings: mappings, inboxDirectory: folder + "/inbox")
            let outboxBefore = try await store.outboxEntries(state: nil)

            let returned = try await desk.ingest(path: goldenDirectory + "/agents/acme-dca-return.csv", agent: "acme-dca", channel: "file")
            #expect((returned.file.applied, returned.file.refused, returned.file.rejected) == (4, 0, 0))
            #expect(try await store.holds(contractNumber: "C00000013").map(\.kind) == [.dispute])
            #expect(try await store.paymentsInTransit(contractNumber: "C00000008").map(\.amount) == [Money(minorUnits: 15_000, currency: .gbp)])
            #expect(try await store.reportedArrangements(open: true, limit: 10).map(\.contractNumber) == ["C00000008"])

            let legal = folder + "/legal.csv", traced = folder + "/traced.csv"
            try "AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes\nC00000026,LEG,\(acmeDate(CollectionsClock.system().date)),,,claim issued\n"
                .write(toFile: legal, atomically: true, encoding: .utf8)
            try "ClientRef;Result;TracedOn;NewAddress1;NewAddress2;NewTown;NewPostcode;NewPhone;NewEmail;Comment\n"
                .appending("C00000031;TRACED;2026-11-26;4 Rose Lane;;Leith;EH6 7AA;07700 900555;;moved in with family\n")
                .write(toFile: traced, atomically: true, encoding: .utf8)
            let legalOutcome = try await desk.ingest(path: legal, agent: "acme-dca", channel: "file")
            let tracedOutcome = try await desk.ingest(path: traced, agent: "tracewise", channel: "file")
            #expect((legalOutcome.file.refused, tracedOutcome.file.refused) == (1, 1))
            let refused = try await store.refusedUpdates(limit: 10)
            let legalRefusal = try #require(refused.first { $0.contractNumber == "C00000026" }?.refusal)
            #expect(legalRefusal.contains("status change to legal") && legalRefusal.contains("UpdateContractStatus, not mapped in contract.yaml"), "\(legalRefusal)")
            let traceRefusal = try #require(refused.first { $0.contractNumber == "C00000031" }?.refusal)
            #expect(traceRefusal.contains("new contact details") && traceRefusal.contains("UpdateContactDetails"), "\(traceRefusal)")
            #expect(try await store.contract(number: "C00000031")?.customer.address.line1 != "4 Rose Lane")

            #expect(try await store.outboxEntries(state: nil) == outboxBefore, "nothing queued for MILES")
        }
    }

    @Test("a trace result updates the customer's address and phone in MILES (partner version) and in the store",
          arguments: StoreKind.available)
    func traceResult(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "tracewise", contracts: ["C00000013", "C00000026"])
            let before = try #require(try await store.contract(number: "C00000013")).customer
            let inbox = temporaryDirectory("inbox")
            defer { try? FileManager.default.removeItem(atPath: inbox) }
            let outcome = try await harness.ingestDesk(store, inbox: inbox)
                .ingest(path: goldenDirectory + "/agents/tracewise-results.csv", agent: "tracewise", channel: "file")
            #expect(try await store.thirdPartyUpdates(fileId: outcome.file.id).map(\.kind) == ["traceResult", "note"])
            // Someone else changes the customer in MILES first: the relay re-reads the partner version and still applies it.
            _ = await harness.server.miles.changeBehindTheAdaptersBack(contractNumber: "C00000013", customerVulnerable: before.vulnerable)
            let pushed = try await harness.relay(store).run()
            #expect(pushed.contactChangesApplied == 1)
            #expect(pushed.deadLettered == 0)
            let inMiles = try #require(await harness.server.miles.customer(partnerId: before.partnerId))
            let newAddress = PostalAddress(line1: "4 Rose Lane", line2: nil, town: "Leith", postcode: "EH6 7AA", country: "GB")
            #expect(inMiles.address == newAddress)
            #expect(inMiles.phones.first == "07700 900555")
            #expect(inMiles.version == before.version + 2, "one version by the other user, one by the trace result")
            let stored = try #require(try await store.contract(number: "C00000013")).customer
            #expect(stored.address == newAddress)
            #expect(stored.phones.first == "07700 900555")
            #expect(stored.version == inMiles.version)
            try expectGolden(await harness.milesWrites(), "tracewise-results.miles-calls.txt")
        }
    }

    @Test("a repossession agent's XML report: the recovery and the sale reach the contract file (golden calls)",
          arguments: StoreKind.available)
    func repossessionReport(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "northern-recoveries", contracts: ["C00000008"])
            let inbox = temporaryDirectory("inbox")
            defer { try? FileManager.default.removeItem(atPath: inbox) }
            let outcome = try await harness.ingestDesk(store, inbox: inbox)
                .ingest(path: goldenDirectory + "/agents/northern-recoveries-report.xml", agent: "northern-recoveries", channel: "file")
            #expect(try await store.thirdPartyUpdates(fileId: outcome.file.id).map(\.kind) == ["vehicleRecovered", "soldAtAuction"])
            _ = try await harness.relay(store).run()
            try expectGolden(await harness.milesWrites(), "northern-recoveries-report.miles-calls.txt")
        }
    }

    @Test("'deceased' sets the hold and pauses the placement; a status a guard refuses is kept for the team; recall waits for a payment in transit",
          arguments: StoreKind.available)
    func deceasedAndRefused(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008", "C00000013", "C00000026"])
            let inbox = temporaryDirectory("inbox")
            defer { try? FileManager.default.removeItem(atPath: inbox) }
            let today = CollectionsClock.system().date
            let uk = acmeDate(today)
            // Legal action needs no open ombudsman complaint: C00000026 has one.
            try await ContractDesk(store: store, mappings: harness.mappings)
                .setHold(contractNumber: "C00000026", kind: .ombudsmanComplaint, reason: "FOS case 123", by: "bob")
            let file = inbox + "-return.csv"
            defer { try? FileManager.default.removeItem(atPath: file) }
            try """
                AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes
                C00000013,DEC,\(uk),,,informed by the family
                C00000026,LEG,\(uk),,,claim issued
                C00000008,PAY,\(uk),20.00,ACME-1,
                """.write(toFile: file, atomically: true, encoding: .utf8)
            let outcome = try await harness.ingestDesk(store, inbox: inbox).ingest(path: file, agent: "acme-dca", channel: "file")
            #expect((outcome.file.applied, outcome.file.refused) == (2, 1))
            #expect(try await store.holds(contractNumber: "C00000013").map(\.kind) == [.deceased])
            #expect(try await store.agentInstructions(agent: "acme-dca").map { "\($0.contractNumber) \($0.kind)" } == ["C00000026 pause", "C00000013 pause"])
            let refused = try await store.refusedUpdates(limit: 10)
            #expect(refused.map(\.contractNumber) == ["C00000026"])
            #expect(refused.first?.refusal?.contains(CollectionsGuards.ombudsmanRule) == true)

            let bob = try WriteOffDesk(store: store, mappings: harness.mappings).user(named: "bob", roles: teamRoles)
            let placements = PlacementDesk(store: store, mappings: harness.mappings)
            let output = temporaryDirectory("recalls")
            defer { try? FileManager.default.removeItem(atPath: output) }
            let recall = try await placements.recall(agent: "acme-dca", contractNumbers: ["C00000008"], force: false, by: bob, reasonCode: "RECL",
                                               directory: output)
            #expect(recall.placed.isEmpty)
            #expect(recall.refused.first?.reason.contains("payment is in transit") == true)
            // Once MILES shows a payment on or after that date, the payment is no longer in transit.
            var contract = try #require(try await store.contract(number: "C00000008"))
            contract.lastPaymentDate = today
            contract.version += 1
            try await store.upsertContract(contract)
            #expect(try await store.paymentsInTransit(contractNumber: "C00000008").isEmpty)
        }
    }

    @Test("1,000 rows with 17 bad ones (bad code, date, amount, unknown contract, not placed): 983 applied, 17 reported by line",
          arguments: StoreKind.available)
    func thousandRows(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let placed = (1...20).map { "C\(String(format: "%08d", $0))" }
            let store = try await harness.placedStore(agent: "acme-dca", contracts: placed)
            let inbox = temporaryDirectory("inbox")
            defer { try? FileManager.default.removeItem(atPath: inbox) }
            var lines = ["AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes"]
            var badLines: [Int] = []
            let bad = ["C00000001,ZZZ,01/11/2026,,,unknown code", "C00000001,PAY,31/02/2026,10.00,R,bad date",
                       "C00000001,PAY,01/11/2026,ten,R,amount not a number", "C99999999,PAY,01/11/2026,1.00,R,unknown contract",
                       "C00000040,PAY,01/11/2026,1.00,R,not placed with this agent"]
            for row in 1...1000 {
                if row % 58 == 0, badLines.count < 17 {
                    lines.append(bad[badLines.count % bad.count])
                    badLines.append(row + 1)
                } else {
                    lines.append("\(placed[row % placed.count]),NOTE,01/11/2026,,,call \(row)")
                }
            }
            let file = inbox + "-big.csv"
            defer { try? FileManager.default.removeItem(atPath: file) }
            try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let outcome = try await harness.ingestDesk(store, inbox: inbox, batchSize: 100).ingest(path: file, agent: "acme-dca", channel: "file")
            #expect((outcome.file.applied, outcome.file.rejected) == (983, 17))
            let errors = try await store.ingestRowErrors(fileId: outcome.file.id)
            #expect(errors.map(\.line) == badLines)
            #expect(errors.contains { $0.reason.contains("not placed with acme-dca") && $0.value == "C00000040" })
            #expect(errors.contains { $0.reason.contains("no contract C99999999") })
            #expect(try await store.outboxEntries(state: .pending).count == 983)
        }
    }
}

@Suite("The drop folder", .serialized, .timeLimit(.minutes(2)))
struct DropFolderTests {
    @Test("a half-written file is not taken until complete; a done-file is taken at once; a broken file goes to failed/ with a report",
          arguments: StoreKind.available)
    func completeFilesOnly(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008", "C00000013"])
            let inbox = temporaryDirectory("inbox")
            let drop = temporaryDirectory("drop")
            defer {
                try? FileManager.default.removeItem(atPath: inbox)
                try? FileManager.default.removeItem(atPath: drop)
            }
            let folder = drop + "/acme-dca"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let clock = FakeClock()
            let watcher = DropFolderWatcher(desk: harness.ingestDesk(store, inbox: inbox), directory: drop, stableFor: .seconds(10),
                                            clock: { clock.now })
            let path = folder + "/return.csv"
            let handle = try #require({ () -> FileHandle? in
                FileManager.default.createFile(atPath: path, contents: nil)
                return FileHandle(forWritingAtPath: path)
            }())
            try handle.write(contentsOf: Data("AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes\nC00000008,NOTE,01/11/2026,,,fir".utf8))
            clock.now = Date().addingTimeInterval(1)
            #expect(try await watcher.scan().isEmpty)
            clock.now = Date().addingTimeInterval(60)
            try handle.write(contentsOf: Data("st call\nC00000013,NOTE,01/11/2026,,,second call\n".utf8))
            try handle.close()
            // Grown since the last look: still being written.
            #expect(try await watcher.scan().isEmpty)
            let taken = try await watcher.scan()
            #expect(taken.map(\.movedTo) == [folder + "/processed/return.csv"])
            let file = try #require(taken.first?.outcome?.file)
            #expect(try await store.thirdPartyUpdates(fileId: file.id).map(\.details) == ["first call", "second call"])
            #expect(!FileManager.default.fileExists(atPath: path))

            // A done-file says the file is complete, however recently written.
            clock.now = Date()
            try "AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes\nC00000008,NOTE,02/11/2026,,,third call\n"
                .write(toFile: folder + "/next.csv", atomically: true, encoding: .utf8)
            FileManager.default.createFile(atPath: folder + "/next.csv.done", contents: nil)
            #expect(try await watcher.scan().map(\.movedTo) == [folder + "/processed/next.csv"])
            #expect(FileManager.default.fileExists(atPath: folder + "/processed/next.csv.done"))

            // A rejected value a spreadsheet would run reaches the error report as text (issue 11).
            try "AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes\nC00000008,PAY,02/11/2026,=1+2,REF-F,formula\n"
                .write(toFile: folder + "/formula.csv", atomically: true, encoding: .utf8)
            FileManager.default.createFile(atPath: folder + "/formula.csv.done", contents: nil)
            #expect(try await watcher.scan().map(\.movedTo) == [folder + "/processed/formula.csv"])
            let errorReport = try String(contentsOfFile: folder + "/processed/formula.csv.errors.csv", encoding: .utf8)
            #expect(errorReport.contains(",'=1+2,"))
            #expect(!errorReport.contains(",=1+2,"))

            // Not UTF-8: refused as a whole, kept in failed/ with the reason beside it.
            FileManager.default.createFile(atPath: folder + "/broken.csv", contents: Data([0x41, 0x2C, 0xFF, 0xFE, 0x0A]))
            FileManager.default.createFile(atPath: folder + "/broken.csv.done", contents: nil)
            let failed = try await watcher.scan()
            #expect(failed.map(\.movedTo) == [folder + "/failed/broken.csv"])
            let report = try String(contentsOfFile: folder + "/failed/broken.csv.report.txt", encoding: .utf8)
            #expect(report.contains("refused as a whole"))
            #expect(try await store.inboxFiles(agent: "acme-dca", state: .failed, limit: 5).count == 1)
            // Nothing left to take; the watchers' hidden claim folder is their working space.
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).filter { !$0.hasPrefix(".") }.sorted() == ["failed", "processed"])
        }
    }
}

/// A clock the test moves by hand, so "stable for ten seconds" needs no waiting.
final class FakeClock: @unchecked Sendable {
    var now = Date()
}

@Suite("Ingest survives a kill", .serialized, .timeLimit(.minutes(3)))
struct IngestCrashTests {
    @Test("'ingest' killed with SIGKILL in the middle of a file, then run again: every row applied exactly once",
          arguments: StoreKind.available)
    func killedMidFile(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let placed = (1...10).map { "C\(String(format: "%08d", $0))" }
            let store = try await harness.placedStore(agent: "acme-dca", contracts: placed)
            let rows = 20_000
            var lines = ["AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes"]
            for row in 1...rows { lines.append("\(placed[row % placed.count]),PAY,01/11/2026,\(row % 90 + 1).00,R\(row),") }
            let file = temporaryDirectory("drop") + "/big.csv"
            let inbox = temporaryDirectory("inbox")
            defer {
                try? FileManager.default.removeItem(atPath: (file as NSString).deletingLastPathComponent)
                try? FileManager.default.removeItem(atPath: inbox)
            }
            try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let arguments = ["ingest", file, "--agent", "acme-dca", "--batch-size", "20"]
            // At the lowest priority: while other tests keep both cores (and this process's two cooperative threads, on
            // which the look below runs) busy, the ingest barely moves, so it cannot finish the file unseen.
            let first = try AdapterProcess(arguments, harness: harness, environment: ["MILES_ADAPTER_INBOX": inbox], niceness: 19)
            let midway = try await waitUntil(seconds: 60) {
                try await store.inboxFiles(agent: "acme-dca", state: .received, limit: 1).first.map { $0.linesDone > 2_000 } ?? false
            }
            #expect(midway)
            kill(first.process.processIdentifier, SIGKILL)
            #expect(await first.exitStatus() == SIGKILL)
            let interrupted = try #require(try await store.inboxFiles(agent: "acme-dca", state: nil, limit: 1).first)
            #expect(interrupted.state == .received)
            #expect(interrupted.linesDone < rows + 1)

            let second = try AdapterProcess(arguments, harness: harness, environment: ["MILES_ADAPTER_INBOX": inbox])
            #expect(await second.exitStatus() == 0)
            let done = try #require(try await store.inboxFile(id: interrupted.id))
            #expect(done.state == .processed)
            #expect(done.applied == rows)
            let updates = try await store.thirdPartyUpdates(fileId: done.id)
            #expect(updates.count == rows)
            #expect(updates.map(\.line) == Array(2...(rows + 1)))
            #expect(try await store.outboxEntries(state: .pending).count == rows)
            #expect(try await store.inboxFiles(agent: nil, state: nil, limit: 10).count == 1)
            let verify = try AdapterProcess(["audit", "verify"], harness: harness)
            #expect(await verify.exitStatus() == 0)
        }
    }
}

@Suite("Several ingest watchers share a drop folder (issue 15)", .serialized, .timeLimit(.minutes(3)))
struct IngestWorkersTests {
    static let header = "AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes\n"

    @Test("two 'ingest watch' processes on one folder: each file taken by one of them, every row applied once, both did some",
          arguments: StoreKind.available)
    func twoWatchersShareTheFolder(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008"])
            let root = temporaryDirectory("watchers")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let folder = root + "/drop/acme-dca"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let names = (1...12).map { String(format: "return-%02d.csv", $0) }
            for (index, name) in names.enumerated() {
                let rows = (1...300).map { "C00000008,NOTE,28/11/2026,,,file \(index) call \($0)\n" }.joined()
                try (Self.header + rows).write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
                FileManager.default.createFile(atPath: folder + "/" + name + ".done", contents: nil)
            }
            let environment = ["MILES_ADAPTER_DATABASE": harness.storePath, "MILES_ADAPTER_MAPPINGS": repositoryMappings,
                               "MILES_ADAPTER_INBOX": root + "/inbox"]
            async let first = runAdapter(["ingest", "watch", root + "/drop", "--once", "--batch-size", "50"], environment: environment)
            async let second = runAdapter(["ingest", "watch", root + "/drop", "--once", "--batch-size", "50"], environment: environment)
            let runs = try await [first, second]
            var takenBy: [[String]] = []
            for run in runs {
                #expect(run.status == 0, "\(run.output)")
                takenBy.append(names.filter { run.output.contains("/\($0) -> ") })
            }
            #expect(takenBy.allSatisfy { !$0.isEmpty }, "each watcher took some: \(takenBy)")
            #expect(takenBy.flatMap { $0 }.sorted() == names, "each file taken once: \(takenBy)")
            let processed = try FileManager.default.contentsOfDirectory(atPath: folder + "/processed").filter { !$0.hasSuffix(".done") }
            #expect(processed.sorted() == names)
            #expect(!FileManager.default.fileExists(atPath: folder + "/failed"))
            let deliveries = try await store.inboxFiles(agent: "acme-dca", state: nil, limit: 100)
            #expect(deliveries.count == 12)
            #expect(deliveries.allSatisfy { $0.state == .processed && $0.applied == 300 })
            #expect(try await store.ingestTotals().received == 3_600)
        }
    }

    @Test("what a watcher that has ended had claimed goes back into the folder and is taken; a delivery another process holds is left to it",
          arguments: StoreKind.available)
    func abandonedClaimsAndHeldDeliveries(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008"])
            let root = temporaryDirectory("abandoned")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let folder = root + "/drop/acme-dca"
            let ended = Process()
            ended.executableURL = URL(fileURLWithPath: "/bin/true")
            try ended.run()
            ended.waitUntilExit()
            let claims = folder + "/.taking/\(Processes.outboxWorker().host)/\(ended.processIdentifier)"
            try FileManager.default.createDirectory(atPath: claims, withIntermediateDirectories: true)
            try (Self.header + "C00000008,NOTE,28/11/2026,,,claimed then killed\n").write(toFile: claims + "/late.csv", atomically: true, encoding: .utf8)
            // Meanwhile the agent delivered a newer file of the same name: both are taken, neither lost.
            try (Self.header + "C00000008,NOTE,29/11/2026,,,the next day\n").write(toFile: folder + "/late.csv", atomically: true, encoding: .utf8)
            let desk = harness.ingestDesk(store, inbox: root + "/inbox")
            let watcher = DropFolderWatcher(desk: desk, directory: root + "/drop", stableFor: .zero)
            #expect(try await watcher.scan().map(\.movedTo) == [folder + "/processed/late.csv", folder + "/processed/late.csv.2"])
            #expect(!FileManager.default.fileExists(atPath: claims))
            #expect(try await store.ingestTotals().received == 2)

            // A delivery being processed elsewhere (here: a process on another machine) is not processed twice.
            try (Self.header + "C00000008,NOTE,28/11/2026,,,held elsewhere\n").write(toFile: root + "/held.csv", atomically: true, encoding: .utf8)
            let (held, _) = try await desk.receive(path: root + "/held.csv", agent: "acme-dca", channel: "file")
            let elsewhere = JobLockHolder(processId: 1, host: "another-machine", since: CollectionsClock.system())
            #expect(try await store.acquireJobLock(job: "delivery:\(held.id)", for: elsewhere, isGone: Processes.isGone) == .acquired)
            #expect(try await desk.process(held).state == .received)
            #expect(try await store.thirdPartyUpdates(fileId: held.id).isEmpty)
            try await store.releaseJobLock(job: "delivery:\(held.id)", for: elsewhere)
            #expect(try await desk.process(held).applied == 1)
        }
    }
}
