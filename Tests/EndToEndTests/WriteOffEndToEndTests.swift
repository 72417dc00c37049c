import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesMapping
import MilesMock
import MilesSOAP
import MilesSync
import TestSupport
import Testing

/// The team of the tests: one person per role of the shipped matrix.
let teamRoles = ["alice": "agent", "bob": "teamLeader", "carol": "headOfCredit", "dave": "financeDirector"]

extension SyncHarness {
    /// A synced SQLite store, and the contracts with at least `minimum` pence open.
    func syncedStore(minimumOpen: Int64 = 10_000) async throws -> (SQLiteStore, [Contract]) {
        let store = try SQLiteStore(path: storePath)
        return (store, try await synced(store, minimumOpen: minimumOpen))
    }

    /// A synced store of the harness's kind, and the contracts with at least `minimum` pence open.
    func syncedAnyStore(minimumOpen: Int64 = 10_000) async throws -> (any CollectionsStores, [Contract]) {
        let store = try await openStore()
        return (store, try await synced(store, minimumOpen: minimumOpen))
    }

    /// Syncs `store` in full; the contracts with at least `minimum` pence open and not written off, in the authority
    /// matrix's currency (a decision in another is above every limit: the top role, two approvers).
    private func synced(_ store: any CollectionsStores, minimumOpen: Int64) async throws -> [Contract] {
        _ = try await sync(store: store).run(mode: .resume)
        var candidates: [Contract] = []
        try await store.forEachContract {
            if $0.openBalance.minorUnits >= minimumOpen, $0.statusCode != "WOF", $0.currency == mappings.authorityMatrix.currency { candidates.append($0) }
        }
        return candidates
    }

    /// The environment `runAdapter` needs to reach the harness's mock and store.
    var adapterEnvironment: [String: String] {
        ["MILES_ADAPTER_ENDPOINT": server.endpoint, "MILES_ADAPTER_USERNAME": MockMilesConfiguration.defaultUsername,
         "MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword, "MILES_ADAPTER_DATABASE": storePath,
         "MILES_ADAPTER_MAPPINGS": repositoryMappings]
    }

    func desk(_ store: any WriteOffDesk.Stores) -> WriteOffDesk { WriteOffDesk(store: store, mappings: mappings) }

    func relay(_ store: any OutboxRelay.Stores, attempts: Int = 5, requestTimeout: Duration = .seconds(30)) -> OutboxRelay {
        let connection = MilesConnection(
            endpoint: server.endpoint,
            credentials: MilesCredentials(username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword),
            transport: HTTPTransportConfiguration(connectTimeout: .seconds(2), requestTimeout: requestTimeout))
        return OutboxRelay(gateway: MilesGateway(connection: connection, mappings: mappings), store: store,
                           configuration: OutboxRelay.Configuration(retry: RetryPolicy(maxAttempts: attempts, baseDelay: .milliseconds(5),
                                                                                       maxDelay: .milliseconds(20))))
    }

    /// Writes a write-off file and returns its path.
    func writeOffFile(_ lines: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("writeoffs-\(UUID().uuidString).csv").path
        try (["contract_number,amount,invoice_numbers,reason_code,comment"] + lines).joined(separator: "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Raises and fully approves one £1.00 write-off per contract; returns the request ids.
    func approvedWriteOffs(_ contracts: [Contract], store: any WriteOffDesk.Stores) async throws -> [Int64] {
        let desk = desk(store)
        let file = try WriteOffFile(path: try writeOffFile(contracts.map { "\($0.contractNumber),1.00,,UNEC,test \($0.contractNumber)" }))
        let report = try await desk.prepare(file: file, by: try desk.user(named: "alice", roles: teamRoles))
        #expect(report.refused.isEmpty, "\(report.refused)")
        let ids = report.created.map(\.id)
        for (_, result) in await desk.approve(ids: ids, by: try desk.user(named: "bob", roles: teamRoles), comment: nil) {
            #expect((try? result.get()) == true)
        }
        return ids
    }
}

@Suite("Write-offs end to end: file, approvals, outbox, MILES, audit", .serialized, .timeLimit(.minutes(2)))
struct WriteOffEndToEndTests {
    @Test("bad rows are reported with their line numbers while good rows go through; the same file twice creates nothing new",
          arguments: StoreKind.available)
    func prepareFile(kind: StoreKind) async throws {
        try await withHarness(contracts: 300, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let full = candidates[0]
            let partial = candidates[1]
            let path = try harness.writeOffFile([
                "\(full.contractNumber),full,,UNEC,below cost of recovery",                // line 2
                "\(partial.contractNumber),1.00,,DECE,\"estate, insolvent\"",              // line 3
                "C99999999,1.00,,UNEC,no such contract",                                  // line 4
                "\(candidates[2].contractNumber),1.00,,NOPE,unknown reason",              // line 5
                "\(candidates[3].contractNumber),99999999.00,,UNEC,more than the balance", // line 6
                "\(candidates[4].contractNumber),lots,,UNEC,not a number",                 // line 7
                "\(candidates[5].contractNumber),1.00,INV-NOPE,UNEC,invoice not open",     // line 8
            ])
            let desk = harness.desk(store)
            let alice = try desk.user(named: "alice", roles: teamRoles)
            let report = try await desk.prepare(file: try WriteOffFile(path: path), by: alice)
            #expect(report.created.map(\.line) == [2, 3])
            #expect(report.refused.map(\.line) == [4, 5, 6, 7, 8])
            #expect(report.refused[0].reason.contains("C99999999"))
            #expect(report.refused[1].reason.contains("NOPE"))
            #expect(report.refused[2].reason.contains("open balance"))
            let fullRequest = try #require(try await store.writeOffRequest(id: report.created[0].id))
            #expect(fullRequest.amount == full.openBalance)
            #expect(!fullRequest.customerMustBeTold)
            let partialRequest = try #require(try await store.writeOffRequest(id: report.created[1].id))
            #expect(partialRequest.customerMustBeTold)
            #expect(partialRequest.reason == .deceasedNoEstate)
            #expect(partialRequest.comment == "estate, insolvent")
            #expect(partialRequest.requiredRole == "teamLeader")

            let again = try await desk.prepare(file: try WriteOffFile(path: path), by: alice)
            #expect(again.created.isEmpty)
            #expect(again.alreadyRequested.map(\.id) == report.created.map(\.id))
            #expect(again.alreadyRequested.map(\.state) == [.pendingApproval, .pendingApproval])
            // Rejected, the same row is still that request, and says so: it is not on its way.
            try await store.rejectWriteOffRequest(id: report.created[0].id, by: "alice", reason: "paid after all", at: CollectionsClock.system())
            let afterRejection = try await desk.prepare(file: try WriteOffFile(path: path), by: alice)
            #expect(afterRejection.alreadyRequested.map(\.state) == [.rejected, .pendingApproval])
            #expect(try await store.writeOffRequests(state: nil).count == 2)
            let export = WriteOffExport.csv(try await store.writeOffRequests(state: nil))
            #expect(export.contains("CONC 7.4"))
            #expect(export.split(separator: "\n").count == 3)
        }
    }

    @Test("MILES drops the connection after posting: the relay asks before resending, and the ledger holds one posting per request",
          arguments: StoreKind.available)
    func exactlyOnceWithDroppedConnection(kind: StoreKind) async throws {
        try await withHarness(contracts: 300, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let ids = try await harness.approvedWriteOffs(Array(candidates.prefix(3)), store: store)
            await harness.server.miles.injectFault(FaultRule(operation: "PostWriteOff", count: 1, afterProcessing: true))
            let summary = try await harness.relay(store).run()
            #expect(summary.posted + summary.reconciled == 3)
            #expect(summary.reconciled == 1)
            let ledger = await harness.server.miles.writeOffLedger()
            #expect(ledger.count == 3)
            #expect(Set(ledger.map(\.clientReference)) == Set(ids.map { "WO-\($0)" }))
            for id in ids {
                let request = try #require(try await store.writeOffRequest(id: id))
                #expect(request.state == .posted)
                #expect(request.milesWriteOffId == ledger.first { $0.clientReference == "WO-\(id)" }?.writeOffId)
            }
            // The next sync shows the reduced balance.
            let before = candidates[0].openBalance.minorUnits
            _ = try await harness.sync(store: store).run(mode: .resume)
            #expect(try await store.contract(number: candidates[0].contractNumber)?.openBalance.minorUnits == before - 100)
            #expect(try await store.verifyAudit() == .intact(entries: try await store.auditEntries().count))
        }
    }

    @Test("retryable faults are retried until MILES posts; a refusal is dead-lettered with MILES's reason; outbox retry posts once",
          arguments: StoreKind.available)
    func retryDeadLetterAndManualRetry(kind: StoreKind) async throws {
        try await withHarness(contracts: 300, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            _ = try await harness.approvedWriteOffs([candidates[0]], store: store)
            await harness.server.miles.injectFault(FaultRule(operation: "PostWriteOff", count: 2, faultCode: "SERVER_BUSY"))
            let retried = try await harness.relay(store).run()
            #expect(retried.posted == 1 && retried.retriesScheduled == 2)
            #expect(await harness.server.miles.writeOffLedger().count == 1)

            // Attempts are bounded: a fault that never clears ends in a dead letter, not an endless loop.
            let stuckId = try #require(try await harness.approvedWriteOffs([candidates[2]], store: store).first)
            await harness.server.miles.injectFault(FaultRule(operation: "PostWriteOff", count: 100, faultCode: "SERVER_BUSY"))
            let exhausted = try await harness.relay(store, attempts: 3).run()
            #expect(exhausted.deadLettered == 1 && exhausted.retriesScheduled == 2)
            #expect(try await store.writeOffRequest(id: stuckId)?.failureReason?.contains("gave up after 3 attempts") == true)
            await harness.server.miles.clearFaults()
            let stuckEntry = try #require(try await store.outboxEntries(state: .deadLetter).first)
            try await store.skipOutboxEntry(id: stuckEntry.id, by: "carol", reason: "posted by hand in MILES", at: CollectionsClock.system())
            #expect(try await store.outboxEntry(id: stuckEntry.id)?.state == .skipped)

            let refusedId = try #require(try await harness.approvedWriteOffs([candidates[1]], store: store).first)
            await harness.server.miles.injectFault(FaultRule(operation: "PostWriteOff", count: 1, faultCode: "AMOUNT_EXCEEDS_BALANCE"))
            let refused = try await harness.relay(store).run()
            #expect(refused.deadLettered == 1 && refused.posted == 0)
            let failed = try #require(try await store.writeOffRequest(id: refusedId))
            #expect(failed.state == .failed)
            #expect(failed.failureReason?.contains("AMOUNT_EXCEEDS_BALANCE") == true)
            let deadLetter = try #require(try await store.outboxEntries(state: .deadLetter).first)
            #expect(await harness.server.miles.writeOffLedger().count == 1)

            try await store.retryOutboxEntry(id: deadLetter.id, by: "bob", at: CollectionsClock.system())
            let afterRetry = try await harness.relay(store).run()
            #expect(afterRetry.posted == 1)
            #expect(await harness.server.miles.writeOffLedger().count == 2)
            #expect(try await store.writeOffRequest(id: refusedId)?.state == .posted)
            #expect(try await store.auditEntries().contains { $0.action == "outbox.retried" && $0.actor == "bob" })
        }
    }

    @Test("audit verify passes on an untouched log and fails, naming the entry, after a row is altered or deleted",
          arguments: StoreKind.available)
    func auditVerify(kind: StoreKind) async throws {
        try await withHarness(contracts: 100, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            _ = try await harness.approvedWriteOffs(Array(candidates.prefix(2)), store: store)
            let entries = try await store.auditEntries()
            #expect(entries.count >= 6)
            #expect(try await store.verifyAudit() == .intact(entries: entries.count))
            // Changed behind the store's back, as someone tampering would.
            try await harness.database.execute("UPDATE audit_log SET details = 'approved nothing' WHERE sequence = 3")
            guard case let .broken(sequence, _) = try await store.verifyAudit() else {
                Issue.record("an altered entry was not detected")
                return
            }
            #expect(sequence == 3)
            try await harness.database.execute(
                "UPDATE audit_log SET details = '\(entries[2].details.replacingOccurrences(of: "'", with: "''"))' WHERE sequence = 3")
            try await harness.database.execute("DELETE FROM audit_log WHERE sequence = \(entries.count)")
            guard case let .broken(deleted, _) = try await store.verifyAudit() else {
                Issue.record("a deleted last entry was not detected")
                return
            }
            #expect(deleted == Int64(entries.count))
        }
    }
}

/// A `miles-adapter` subprocess against the harness's mock and store.
struct AdapterProcess {
    let process: Process
    private let exited: AsyncStream<Int32>

    /// The adapter built beside the tests (`swift build --build-tests` builds it too).
    static var executable: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/miles-adapter")
    }

    /// `niceness`: run it at that lower priority (`nice -n`, which execs it: the pid is the adapter's), so a
    /// process that keeps both cores busy does not starve the tests running beside it.
    init(_ arguments: [String], harness: SyncHarness, environment: [String: String] = [:], niceness: Int? = nil) throws {
        process = Process()
        if let niceness {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/nice")
            process.arguments = ["-n", String(niceness), Self.executable.path] + arguments
        } else {
            process.executableURL = Self.executable
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging([
            "MILES_ADAPTER_ENDPOINT": harness.server.endpoint, "MILES_ADAPTER_USERNAME": MockMilesConfiguration.defaultUsername,
            "MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword, "MILES_ADAPTER_DATABASE": harness.storePath,
            "MILES_ADAPTER_MAPPINGS": repositoryMappings, "MILES_ADAPTER_USER": "bob",
        ].merging(environment) { $1 }) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        exited = stream
        // Set before run(), so the exit can never be missed.
        process.terminationHandler = { process in
            continuation.yield(process.terminationStatus)
            continuation.finish()
        }
        try process.run()
    }

    /// Waits for the process to end; its exit status (or signal number).
    func exitStatus() async -> Int32 {
        var iterator = exited.makeAsyncIterator()
        return await iterator.next() ?? -1
    }
}

/// Polls `condition` until it holds, for at most `seconds`: waits on another process's visible effect.
func waitUntil(seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

@Suite("Write-offs survive a killed relay", .serialized, .timeLimit(.minutes(2)))
struct WriteOffCrashTests {
    @Test("the relay killed with SIGKILL between sending and recording, then restarted: one posting per request, each recorded",
          arguments: StoreKind.available)
    func killedBetweenSendingAndRecording(kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let ids = try await harness.approvedWriteOffs(Array(candidates.prefix(3)), store: store)
            // MILES posts the first write-off, then holds its answer back; the relay is killed while it waits.
            await harness.server.miles.injectFault(FaultRule(operation: "PostWriteOff", count: 1, afterProcessing: true, delayMilliseconds: 3_000))
            let first = try AdapterProcess(["push"], harness: harness)
            let posted = try await waitUntil(seconds: 60) { await harness.server.miles.writeOffLedger().count == 1 }
            #expect(posted)
            kill(first.process.processIdentifier, SIGKILL)
            #expect(await first.exitStatus() == SIGKILL)
            #expect(try await store.outboxEntries(state: .sending).count == 1)
            #expect(try await store.writeOffRequests(state: .posted).isEmpty)

            await harness.server.miles.clearFaults()
            let second = try AdapterProcess(["push"], harness: harness)
            #expect(await second.exitStatus() == 0)
            // The killed worker's leases were not waited out: its process, on this machine, had ended.
            let takeovers = try await store.auditEntries().filter { $0.action == "outbox.lease-taken-over" }
            #expect(takeovers.count == 3)
            #expect(takeovers.allSatisfy { $0.details.contains("process had ended") })
            let ledger = await harness.server.miles.writeOffLedger()
            #expect(ledger.count == 3)
            #expect(Set(ledger.map(\.clientReference)).count == 3)
            for id in ids {
                let request = try #require(try await store.writeOffRequest(id: id))
                #expect(request.state == .posted)
                #expect(request.milesWriteOffId == ledger.first { $0.clientReference == "WO-\(id)" }?.writeOffId)
            }
            let verify = try AdapterProcess(["audit", "verify"], harness: harness)
            #expect(await verify.exitStatus() == 0)
        }
    }
}

/// Runs `miles-adapter` to the end without holding a thread of the cooperative pool, which the
/// in-process mock needs to answer it: output goes to a file, the exit comes through the handler.
func runAdapter(_ arguments: [String], environment: [String: String], executable: URL = AdapterProcess.executable) async throws
    -> (status: Int32, output: String) {
    let run = try await runAdapterSeparately(arguments, environment: environment, executable: executable, separately: false)
    return (run.status, run.output)
}

/// Runs `miles-adapter` to the end, with standard output and standard error kept apart (unless not `separately`).
func runAdapterSeparately(_ arguments: [String], environment: [String: String], executable: URL = AdapterProcess.executable,
                          separately: Bool = true, in directory: String? = nil,
                          inheritingEnvironment: Bool = true) async throws -> (status: Int32, output: String, errors: String) {
    let paths = ["out", "err"].map { FileManager.default.temporaryDirectory.appendingPathComponent("adapter-\(UUID().uuidString).\($0)").path }
    for path in paths { _ = FileManager.default.createFile(atPath: path, contents: nil) }
    defer { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: paths[0]))
    let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: paths[1]))
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = inheritingEnvironment ? ProcessInfo.processInfo.environment.merging(environment) { $1 } : environment
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardOutput = output
    process.standardError = separately ? errors : output
    let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
    process.terminationHandler = { process in
        continuation.yield(process.terminationStatus)
        continuation.finish()
    }
    try process.run()
    var iterator = stream.makeAsyncIterator()
    let status = await iterator.next() ?? -1
    try output.close()
    try errors.close()
    let read = paths.map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" }
    return (status, read[0], read[1])
}
