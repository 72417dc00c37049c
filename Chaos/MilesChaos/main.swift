import CollectionsDomain
import CollectionsStore
import CollectionsStorePostgres
import CollectionsStoreSQLite
import Crypto
import Foundation
import Logging
import MilesMapping
import MilesMock
import MilesSync

// miles-chaos: the nightly jobs against a MILES that fails at random, killed at random moments.
//
// A mock MILES in this process fails a share of every call (every kind of fault, from a seed), and the
// adapter's jobs run as `miles-adapter` subprocesses: sync, then ingest of agents' files from a drop
// folder, then push of write-offs, placements, credit notes, payment arrangements, letters and the ingest's notes. Each is killed with SIGKILL at a
// random moment until enough kills have happened, then restarted until it completes; ingest runs as two
// watchers at once and push as three workers, each killed and restarted on its own. With --postgres the
// store is a PostgreSQL server of the run's own, itself stopped as a crash would stop it (pg_ctl stop -m
// immediate) in the middle of the ingest and of the push, and started again. Finally the faults
// stop, one clean sync runs, and everything is checked: the store against MILES field by field, MILES's
// ledgers of write-offs, status changes, credit notes, arrangements and letters, the notes and updates of every ingested row, the audit log,
// and the drop folder. `make chaos` runs the long form; `make chaos CHAOS_ARGS=--short` the CI form.

struct Settings {
    var contracts = 100_000
    var writeOffs = 300
    var placements = 60
    var files = 4
    var rowsPerFile = 1_500
    var faultPercent = 20
    var killsPerJob = 10
    var seed: UInt64 = 2026
    var pushWorkers = 3
    var ingestWorkers = 2
    var postgres = false

    init(arguments: [String]) {
        postgres = arguments.contains("--postgres")
        if arguments.contains("--short") {
            contracts = 3_000
            writeOffs = 40
            placements = 15
            files = 3
            rowsPerFile = 400
            killsPerJob = 2
        }
        if let index = arguments.firstIndex(of: "--seed"), index + 1 < arguments.count, let seed = UInt64(arguments[index + 1]) {
            self.seed = seed
        }
    }
}

let settings = Settings(arguments: CommandLine.arguments)
let repository = FileManager.default.currentDirectoryPath
let mappingsDirectory = ProcessInfo.processInfo.environment["MILES_ADAPTER_MAPPINGS"] ?? repository + "/mappings"
let adapter = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("miles-adapter").path
let work = FileManager.default.temporaryDirectory.appendingPathComponent("miles-chaos-\(UUID().uuidString)").path
/// The output of every job run, in the order they ran.
let jobsLog = work + "/jobs.log"
/// The PostgreSQL server of the run (--postgres), in a folder of its own.
let postgresFolder = repository + "/.build/chaos-postgres"

/// Runs scripts/postgres-test-server with `arguments` on the run's server folder; the server's URL.
func postgresServer(_ arguments: [String]) throws -> String {
    let script = Process()
    script.executableURL = URL(fileURLWithPath: repository + "/scripts/postgres-test-server")
    script.arguments = [arguments[0], postgresFolder] + arguments.dropFirst()
    // Not a pipe: the server the script starts inherits its output, so a pipe would never reach its end.
    script.standardOutput = FileHandle.nullDevice
    try script.run()
    script.waitUntilExit()
    guard script.terminationStatus == 0 else { throw ChaosFailure("scripts/postgres-test-server \(arguments.joined(separator: " ")) failed") }
    return ((try? String(contentsOfFile: postgresFolder + "/url", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A new database `name` on the PostgreSQL server at `server`; its URL.
func createDatabase(_ name: String, on server: String) throws -> String {
    let psql = Process()
    psql.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
    psql.arguments = [server, "-q", "-c", "CREATE DATABASE \(name)"]
    try psql.run()
    psql.waitUntilExit()
    guard psql.terminationStatus == 0 else { throw ChaosFailure("cannot create the database \(name) on \(server)") }
    return server.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
}

/// What `database:` says: an SQLite file in the work folder, or a database on the run's PostgreSQL
/// server (started fresh and crash-safe: the run stops it as a crash would, and a commit it acknowledged
/// must survive that, as in production; with commits not waiting for their WAL, a batch of ingested rows
/// was once lost with its file already moved to processed/).
let database: String = {
    do {
        return settings.postgres ? try createDatabase("chaos", on: try postgresServer(["start", "--crash-safe"])) : work + "/store.sqlite"
    } catch {
        abandon(error)
    }
}()

/// The store the checks read, as the adapter's jobs open it.
func openStore() async throws -> any CollectionsStores {
    settings.postgres ? try await PostgresStore(location: PostgresLocation(url: database, password: nil)) : try SQLiteStore(path: database)
}
let drop = work + "/drop"
let agent = "acme-dca"
var kills = 0
var restarts = 0
/// The jobs' processes running now, killed if the run is abandoned so that none outlives it.
var runningJobs: Set<Int32> = []
var problems: [String] = []

/// Writes a line at once, not into stdio's buffer: the output goes to a file or pipe in CI, where the buffer
/// would hold back how far a run got until it ends, or for ever if it crashes.
func say(_ text: String) { try? FileHandle.standardOutput.write(contentsOf: Data((text + "\n").utf8)) }

@MainActor func check(_ condition: Bool, _ problem: @autoclosure () -> String) {
    if !condition { problems.append(problem()) }
}

/// Runs `arguments` until it exits 0 and `done` holds: killed at a random moment while this job
/// still owes kills, restarted after a kill or a failure. The budget is time, not runs: a worker
/// that finds its work held by another (a delivery another watcher is processing while the
/// PostgreSQL server is down, up to the store's 60-second timeout) ends each run at once, and would
/// use up any count of runs before the other is done.
@MainActor func runUntilDone(_ arguments: [String], endpoint: String, killsWanted: Int, killWithin: ClosedRange<Int> = 100...1_200,
                             done: () async throws -> Bool) async throws {
    var killed = 0
    let deadline = ContinuousClock.now + .seconds(600)
    var run = 0
    while ContinuousClock.now < deadline {
        run += 1
        let process = Process()
        process.executableURL = URL(fileURLWithPath: adapter)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging([
            "MILES_ADAPTER_ENDPOINT": endpoint, "MILES_ADAPTER_USERNAME": MockMilesConfiguration.defaultUsername,
            "MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword, "MILES_ADAPTER_DATABASE": database,
            "MILES_ADAPTER_MAPPINGS": mappingsDirectory, "MILES_ADAPTER_INBOX": work + "/inbox", "MILES_ADAPTER_USER": "bob",
            "MILES_ADAPTER_REQUEST_TIMEOUT": "2", "MILES_ADAPTER_PAGE_SIZE": "500",
        ]) { $1 }
        // Appending: several workers write to the log at once. Foundation's `write(_:)` would stop the
        // run with a trap, not an error naming the log, if the log could not be written (a full disk).
        let descriptor = open(jobsLog, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard descriptor >= 0 else { throw ChaosFailure("cannot open \(jobsLog): \(String(cString: strerror(errno)))") }
        let log = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try log.write(contentsOf: Data("\n== \(arguments.joined(separator: " ")) (run \(run))\n".utf8))
        } catch {
            throw ChaosFailure("cannot write to \(jobsLog): \(error)")
        }
        process.standardOutput = log
        process.standardError = log
        let exited = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in exited.continuation.yield(); exited.continuation.finish() }
        try process.run()
        runningJobs.insert(process.processIdentifier)
        defer { runningJobs.remove(process.processIdentifier) }
        if killed < killsWanted {
            let pid = process.processIdentifier
            // Early enough to land before most runs end, so the kills come; each run still gets some way.
            let delay = Int.random(in: killWithin)
            Task {
                try? await Task.sleep(for: .milliseconds(delay))
                if process.isRunning { kill(pid, SIGKILL) }
            }
        }
        for await _ in exited.stream {}
        try? log.close()
        if process.terminationReason == .uncaughtSignal, process.terminationStatus == SIGKILL {
            killed += 1
            kills += 1
            continue
        }
        // Checked after a failure too: a check may also repair, as the team would (a dead letter retried).
        // A store that cannot be reached (the PostgreSQL server stopped meanwhile) is not done yet.
        let finished: Bool
        do { finished = try await done() } catch { finished = false }
        if process.terminationStatus == 0, finished { return }
        restarts += 1
    }
    throw ChaosFailure("\(arguments.joined(separator: " ")) did not complete in 10 minutes (\(run) runs)")
}

/// Runs `workers` copies of `arguments` at once, each as `runUntilDone` runs one: killed and
/// restarted on its own, until `done` holds for each.
@MainActor func runWorkersUntilDone(_ workers: Int, _ arguments: [String], endpoint: String, killsWanted: Int,
                                    killWithin: ClosedRange<Int> = 100...1_200, done: @escaping @Sendable @MainActor () async throws -> Bool) async throws {
    let runs = (1...workers).map { _ in
        Task { @MainActor in try await runUntilDone(arguments, endpoint: endpoint, killsWanted: killsWanted, killWithin: killWithin, done: done) }
    }
    for run in runs { try await run.value }
}

/// With --postgres: stops the server as a crash would after `delay`, and starts it again `downFor` later.
var serverCrashes = 0
@MainActor func crashPostgres(after delay: Duration, downFor: Duration) -> Task<Void, Never> {
    Task { @MainActor in
        guard settings.postgres else { return }
        try? await Task.sleep(for: delay)
        do {
            _ = try postgresServer(["crash"])
            serverCrashes += 1
            try await Task.sleep(for: downFor)
            _ = try postgresServer(["restart"])
        } catch {
            problems.append("the PostgreSQL server could not be crashed and started again: \(error)")
        }
    }
}

struct ChaosFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func sha256(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { SHA256.hash(data: $0).map { String(format: "%02x", $0) }.joined() }
}

/// Ends the run on a failure that stops it before its checks (a job that never completes, a server that
/// does not start), as a failed check ends it, not as a crash: with the failure, the end of the jobs' log
/// and of the PostgreSQL server's, which a CI record keeping only the tail of the output would otherwise
/// lose, and the work folder kept.
@MainActor func abandon(_ error: any Error) -> Never {
    say("chaos: FAILED: \(error)")
    for pid in runningJobs { kill(pid, SIGKILL) }
    for (name, path) in [("the jobs' log", jobsLog), ("the PostgreSQL server's log", postgresFolder + "/server.log")]
    where path == jobsLog || settings.postgres {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty else { continue }
        say("chaos: the end of \(name), \(path):")
        for line in text.split(separator: "\n").suffix(40) { say("  " + line.prefix(400)) }
    }
    if settings.postgres { _ = try? postgresServer(["stop"]) }
    if FileManager.default.fileExists(atPath: work) { say("chaos: the work folder is kept: \(work)") }
    exit(1)
}

do {
    try FileManager.default.createDirectory(atPath: drop + "/" + agent, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: jobsLog, contents: nil)
    let server = try await MockMilesServer.start(
        configuration: MockMilesConfiguration(contractCount: settings.contracts, seed: 42, contractDirectory: mappingsDirectory + "/wsdl",
                                              faultSeed: settings.seed),
        logger: Logger(label: "miles-mock", factory: { _ in SwiftLogNoOpLogHandler() }))
    let miles = server.miles
    let mappings = try MappingSet.load(directory: mappingsDirectory)
    say("chaos: \(settings.contracts) contracts, \(settings.faultPercent) % of calls failed at random (fault seed \(settings.seed)), work in \(work)")

    // Every kind of fault a retry can cure, on every operation; a skipped cursor is left out because only a
    // full sync repairs it (the sync reports it as a discrepancy).
    var everyKind = FaultRule(operation: nil, count: 0, percent: settings.faultPercent, delayMilliseconds: 2_500, sizeBytes: 2 << 20)
    everyKind.kinds = FaultKind.allCases.filter { $0 != .cursorSkip }
    await miles.injectFault(everyKind)

    // 1. The nightly sync.
    try await runUntilDone(["sync", "contracts"], endpoint: server.endpoint, killsWanted: settings.killsPerJob) {
        try await openStore().runs(job: "contracts", limit: 1).first?.outcome == .completed
    }
    say("sync done: \(kills) kills so far, \(restarts) restarts after a failure")

    // 2. The team's work, in the store: write-offs raised and approved, accounts placed with the agency,
    // credit notes and payment arrangements approved, arrears notices asked of MILES.
    var approvedWriteOffs: [Int64] = []
    var queuedStatusChanges: [Int64] = []
    var placed: [String] = []
    var approvedCredits: [Int64] = []
    var approvedArrangements: [Int64] = []
    var queuedLetters: [Int64] = []
    do {
        let store = try await openStore()
        let roles = ["alice": "agent", "bob": "teamLeader"]
        let desk = WriteOffDesk(store: store, mappings: mappings)
        var lines = ["contract_number,amount,invoice_numbers,reason_code,comment"]
        var defaulted: [Contract] = []
        try await store.forEachContract { contract in
            if contract.openBalance.minorUnits > 100, lines.count <= settings.writeOffs, contract.statusCode != "DEF" {
                lines.append("\(contract.contractNumber),0.01,,UNEC,chaos")
            }
            if contract.statusCode == "DEF", !contract.customer.vulnerable, defaulted.count < settings.placements { defaulted.append(contract) }
        }
        let file = work + "/writeoffs.csv"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let report = try await desk.prepare(file: try WriteOffFile(path: file), by: try desk.user(named: "alice", roles: roles))
        for (id, result) in await desk.approve(ids: report.created.map(\.id), by: try desk.user(named: "bob", roles: roles), comment: nil) {
            if case .success = result { approvedWriteOffs.append(id) }
        }
        for contract in defaulted {
            try await store.recordNotice(contractNumber: contract.contractNumber, arrearsNoticeSentOn: nil,
                                   defaultNotice: .init(served: LocalDate.parse("2026-01-05")!, remedyDate: LocalDate.parse("2026-01-25")!),
                                   by: "bob", at: CollectionsClock.system())
        }
        let placement = try await PlacementDesk(store: store, mappings: mappings)
            .create(agent: agent, contractNumbers: defaulted.map(\.contractNumber), by: try desk.user(named: "bob", roles: roles),
                    reasonCode: "DCAP", directory: work + "/placements")
        placed = placement.placed
        queuedStatusChanges = try await store.outboxEntries(state: .pending).filter { $0.kind == .updateContractStatus }.map(\.subjectId)

        let alice = try desk.user(named: "alice", roles: roles)
        let bob = try desk.user(named: "bob", roles: roles)
        var inArrears: [Contract] = []
        try await store.forEachContract { contract in
            if contract.statusCode == "ARR", contract.arrears.amount.minorUnits > 0, inArrears.count < settings.writeOffs { inArrears.append(contract) }
        }
        let credits = CreditDesk(store: store, mappings: mappings)
        var raised: [Int64] = []
        for contract in inArrears.prefix(settings.writeOffs / 2) {
            if case let .created(id) = try await credits.raiseCreditNote(contractNumber: contract.contractNumber, amount: "0.01", invoiceNumbers: [],
                                                                         reasonCode: "BILL", comment: "chaos", by: alice) {
                raised.append(id)
            }
        }
        approvedCredits = await credits.approve(.raiseCreditNote, ids: raised, by: bob, comment: nil).compactMap { (try? $0.result.get()) == true ? $0.id : nil }
        let arrangements = ArrangementDesk(store: store, mappings: mappings)
        let today = CollectionsClock.system().date
        var proposed: [Int64] = []
        for contract in inArrears.suffix(settings.placements) {
            let plan = try PaymentArrangement.regular(contractNumber: contract.contractNumber, frequency: .monthly, firstDate: today.adding(days: 5),
                                                      count: 3, amount: contract.monthlyPayment)
            let statement = IncomeAndExpenditure(monthlyIncome: contract.monthlyPayment, monthlyExpenditure: Money(minorUnits: 0, currency: contract.currency),
                                                 recordedOn: today, recordedBy: "alice")
            proposed.append(try await arrangements.propose(plan, income: statement, by: alice))
        }
        approvedArrangements = await arrangements.approve(ids: proposed, by: bob, comment: nil).compactMap { (try? $0.result.get()) == true ? $0.id : nil }
        let contractDesk = ContractDesk(store: store, mappings: mappings)
        for contract in inArrears.prefix(settings.placements) {
            if case let .created(id) = try await contractDesk.requestLetter(contractNumber: contract.contractNumber, type: .arrearsNotice, by: "bob") {
                queuedLetters.append(id)
            }
        }
    }
    say("team: \(approvedWriteOffs.count) write-offs approved, \(placed.count) accounts placed with \(agent), \(approvedCredits.count) credit notes "
        + "and \(approvedArrangements.count) payment arrangements approved, \(queuedLetters.count) arrears notices asked for")

    // 3. The agency's return files in the drop folder, with their done-files.
    var delivered: [String: String] = [:]
    var rowsDelivered = 0
    for file in 1...settings.files {
        var lines = ["AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes"]
        for row in 1...settings.rowsPerFile {
            let contract = placed[(file * 7 + row) % placed.count]
            lines.append(row % 3 == 0 ? "\(contract),PAY,27/11/2026,\(row % 50 + 1).00,F\(file)R\(row)," : "\(contract),NOTE,27/11/2026,,,file \(file) row \(row)")
        }
        let name = "return-\(file).csv"
        let path = drop + "/" + agent + "/" + name
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: path + ".done", contents: nil)
        delivered[name] = sha256(path)
        rowsDelivered += settings.rowsPerFile
    }

    // 4. Ingest the drop folder, with two watchers at once.
    // Ingest is quick: it is killed sooner, often while loading, sometimes in the middle of a file. A file
    // is done when it is neither waiting nor claimed by a watcher (a killed one's claim is returned by the next).
    let ingestCrash = crashPostgres(after: .milliseconds(Int.random(in: 300...1_500)), downFor: .seconds(2))
    try await runWorkersUntilDone(settings.ingestWorkers, ["ingest", "watch", drop, "--once", "--batch-size", "10"], endpoint: server.endpoint,
                                  killsWanted: settings.killsPerJob, killWithin: 20...400) {
        let folder = drop + "/" + agent
        let claimed = FileManager.default.enumerator(atPath: folder + "/.taking")?.allObjects.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".csv") } ?? []
        return try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".csv") }.isEmpty && claimed.isEmpty
    }
    await ingestCrash.value
    say("ingest done (\(settings.ingestWorkers) watchers): \(kills) kills so far")

    // 5. Push everything to MILES with three workers at once; a dead letter (too many failed attempts in a
    // row) is retried by hand, as the team would.
    let pushCrash = crashPostgres(after: .milliseconds(Int.random(in: 500...2_500)), downFor: .seconds(3))
    try await runWorkersUntilDone(settings.pushWorkers, ["push"], endpoint: server.endpoint, killsWanted: settings.killsPerJob) {
        let store = try await openStore()
        for entry in try await store.outboxEntries(state: .deadLetter) {
            try await store.retryOutboxEntry(id: entry.id, by: "chaos", at: CollectionsClock.system())
        }
        let counts = try await store.outboxCounts()
        return (counts[.pending] ?? 0) + (counts[.sending] ?? 0) + (counts[.deadLetter] ?? 0) == 0
    }
    await pushCrash.value
    say("push done (\(settings.pushWorkers) workers): \(kills) kills in all, \(restarts) restarts after a failure")

    // 6. MILES healthy again: one clean sync, then every check.
    let injected = await miles.injectedFaults
    await miles.clearFaults()
    try await runUntilDone(["sync", "contracts"], endpoint: server.endpoint, killsWanted: 0) { true }
    let store = try await openStore()
    var compared = 0
    var differing = 0
    var lost = 0
    var storedNumbers = Set<String>()
    try await store.forEachContract { contract in storedNumbers.insert(contract.contractNumber) }
    for index in 0..<settings.contracts {
        let number = "C" + String(format: "%08d", index + 1)
        guard let inMiles = await miles.contract(number: number) else { continue }
        compared += 1
        guard storedNumbers.contains(number), let stored = try await store.contract(number: number) else {
            lost += 1
            continue
        }
        if stored != inMiles { differing += 1 }
    }
    check(lost == 0, "\(lost) contracts of MILES are not in the store")
    check(differing == 0, "\(differing) contracts differ between the store and MILES")
    // However the first sync's kills fell (SQLite sets its look-up indexes aside while it loads the empty store), the
    // runs after it must have built them: customers are found by name and postcode.
    var unsearchable: [String] = []
    for index in stride(from: 0, to: settings.contracts, by: max(1, settings.contracts / 25)) {
        let number = "C" + String(format: "%08d", index + 1)
        guard let inMiles = await miles.contract(number: number) else { continue }
        let byName = try await store.searchContracts(matching: inMiles.customer.name, limit: 1_000)
        let byPostcode = try await store.searchContracts(matching: inMiles.customer.address.postcode, limit: 1_000)
        if !byName.contains(where: { $0.contractNumber == number }) || !byPostcode.contains(where: { $0.customer.partnerId == inMiles.customer.partnerId }) {
            unsearchable.append(number)
        }
    }
    check(unsearchable.isEmpty, "contracts the search does not find by their customer's name or postcode: \(unsearchable)")

    let ledger = await miles.writeOffLedger()
    let postedReferences = ledger.map(\.clientReference)
    let duplicatePostings = postedReferences.count - Set(postedReferences).count
    check(duplicatePostings == 0, "\(duplicatePostings) write-offs posted twice")
    check(Set(postedReferences) == Set(approvedWriteOffs.map { OutboxKind.postWriteOff.clientReference(forSubject: $0) }), "MILES's ledger does not hold exactly the approved write-offs")

    let statusReferences = await miles.appliedStatusChangeReferences()
    check(Set(statusReferences) == Set(queuedStatusChanges.map { OutboxKind.updateContractStatus.clientReference(forSubject: $0) }), "MILES did not apply exactly the requested status changes")

    /// MILES's client references for `kind` against the records approved or queued: each exactly once.
    @MainActor func checkExactlyOnce(_ references: [String], _ kind: OutboxKind, _ subjects: [Int64]) -> (duplicates: Int, lost: Int) {
        let duplicates = references.count - Set(references).count
        let expected = Set(subjects.map { kind.clientReference(forSubject: $0) })
        check(duplicates == 0, "\(duplicates) \(kind.recordName)s made twice in MILES")
        check(Set(references) == expected, "MILES does not hold exactly the \(kind.recordName)s asked for")
        return (duplicates, expected.subtracting(references).count)
    }
    let creditNotes = await miles.creditNoteLedger()
    let credited = checkExactlyOnce(creditNotes.map(\.clientReference), .raiseCreditNote, approvedCredits)
    let arrangementsMade = await miles.arrangementLedger()
    let arranged = checkExactlyOnce(arrangementsMade.map(\.clientReference), .createPaymentArrangement, approvedArrangements)
    let lettersIssued = await miles.letterLedger()
    let lettered = checkExactlyOnce(lettersIssued.map(\.clientReference), .requestCustomerLetter, queuedLetters)
    for id in approvedArrangements {
        check(try await store.arrangement(id: id)?.state == .active, "arrangement \(id) is not active in the store")
    }

    var rowsApplied = 0
    var rowsDuplicated = 0
    for file in try await store.inboxFiles(agent: agent, state: nil, limit: 1_000) {
        let updates = try await store.thirdPartyUpdates(fileId: file.id)
        rowsApplied += updates.count
        rowsDuplicated += updates.count - Set(updates.map(\.line)).count
    }
    check(rowsApplied == rowsDelivered, "\(rowsApplied) ingested rows applied for \(rowsDelivered) delivered")
    let notes = await miles.contractNotes()
    let noteSources = notes.map(\.source)
    let duplicateNotes = noteSources.count - Set(noteSources).count
    check(notes.count == rowsDelivered, "MILES holds \(notes.count) notes for \(rowsDelivered) ingested rows")
    check(duplicateNotes == 0, "\(duplicateNotes) rows noted in MILES twice")

    var filesLost = 0
    for (name, hash) in delivered where sha256(drop + "/" + agent + "/processed/" + name) != hash { filesLost += 1 }
    check(filesLost == 0, "\(filesLost) delivered files are not in processed/ as delivered")

    let verify = Process()
    verify.executableURL = URL(fileURLWithPath: adapter)
    verify.arguments = ["audit", "verify"]
    verify.environment = ["MILES_ADAPTER_DATABASE": database, "MILES_ADAPTER_MAPPINGS": mappingsDirectory, "PATH": "/usr/bin:/bin"]
    verify.standardOutput = FileHandle.nullDevice
    try verify.run()
    verify.waitUntilExit()
    check(verify.terminationStatus == 0, "audit verify failed")
    await server.stop()

    let records = compared + ledger.count + statusReferences.count + rowsApplied + notes.count + delivered.count + creditNotes.count
        + arrangementsMade.count + lettersIssued.count
    say("""

        chaos run (\(CommandLine.arguments.contains("--short") ? "short" : "long") form) on \(settings.postgres ? "PostgreSQL" : "SQLite"), fault seed \(settings.seed):
          faults injected:   \(injected) (\(settings.faultPercent) % of calls, every kind but a skipped cursor)
          kills (SIGKILL):   \(kills) (sync, \(settings.ingestWorkers) ingest watchers, \(settings.pushWorkers) push workers); restarts after a failure: \(restarts)
          store crashes:     \(settings.postgres ? "\(serverCrashes) (the PostgreSQL server stopped immediately and started again)" : "none (SQLite)")
          records checked:   \(records) (\(compared) contracts field by field, \(ledger.count) write-offs, \(statusReferences.count) status changes, \
        \(rowsApplied) ingested rows, \(notes.count) notes, \(delivered.count) files, \(creditNotes.count) credit notes, \(arrangementsMade.count) \
        arrangements, \(lettersIssued.count) letters)
          duplicates found:  \(duplicatePostings + rowsDuplicated + duplicateNotes + credited.duplicates + arranged.duplicates + lettered.duplicates)
          records lost:      \(lost + max(0, approvedWriteOffs.count - Set(postedReferences).count) + max(0, rowsDelivered - rowsApplied) + filesLost
            + credited.lost + arranged.lost + lettered.lost)
          audit log:         \(verify.terminationStatus == 0 ? "intact" : "BROKEN")
        """)
    if settings.postgres { _ = try? postgresServer(["stop"]) }
    if problems.isEmpty {
        try? FileManager.default.removeItem(atPath: work)
        say("chaos: every check passed")
    } else {
        for problem in problems { say("chaos: FAILED: \(problem)") }
        say("chaos: the work folder is kept: \(work)")
        exit(1)
    }
} catch {
    abandon(error)
}
