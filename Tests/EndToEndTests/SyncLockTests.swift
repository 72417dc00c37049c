import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMock
import MilesSync
import TestSupport
import Testing

@Suite("One contract sync at a time (issue 15): an overlapping run leaves the first alone; a killed holder is taken over",
       .serialized, .timeLimit(.minutes(2)))
struct SyncLockTests {
    /// The process holding the contract sync's lock, read under the store.
    func lockHolder(_ harness: SyncHarness) async throws -> Int32? {
        try await harness.database.integer("SELECT process_id FROM job_locks WHERE job = 'contracts'").map(Int32.init)
    }

    @Test("a second sync while the first waits on MILES exits 0 naming the first; the first completes as if alone",
          arguments: StoreKind.available)
    func overlappingRun(kind: StoreKind) async throws {
        try await withHarness(contracts: 400, store: kind) { harness in
            _ = try await harness.openStore()
            // MILES takes a while to answer the first page, and the first run is held still (SIGSTOP) once it has the lock:
            // it holds it while the second runs, however slowly a loaded machine starts the second. The delay is long
            // because CI once starved this test for over 3 s between seeing the lock and stopping its holder, which had
            // finished meanwhile. The second run overlaps the delay, so the test waits it once.
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", count: 1, kind: .delay, delayMilliseconds: 15_000))
            let first = try AdapterProcess(["sync", "contracts"], harness: harness)
            // Stopped once MILES has its request: then it holds no store transaction (one held still would keep
            // the second run from the store, as the first load's own short transaction once did).
            #expect(try await waitUntil(seconds: 30) {
                guard try await lockHolder(harness) == first.process.processIdentifier else { return false }
                return await !harness.findContractsCalls().isEmpty
            })
            kill(first.process.processIdentifier, SIGSTOP)
            let second = try await runAdapter(["sync", "contracts"], environment: harness.adapterEnvironment)
            kill(first.process.processIdentifier, SIGCONT)
            #expect(second.status == 0)
            #expect(second.output.contains("another contract sync is running (process \(first.process.processIdentifier) on "), "\(second.output)")
            #expect(await first.exitStatus() == 0)
            let store = try await harness.openStore()
            let runs = try await store.runs(job: "contracts", limit: 10)
            #expect(runs.count == 1 && runs.first?.outcome == .completed)
            #expect(try await storeChecksum(store) == (await harness.milesChecksum()))
            #expect(try await lockHolder(harness) == nil, "the first run released the lock")
        }
    }

    @Test("a lock left by a process that no longer exists is taken over, and the taking over is audited", arguments: StoreKind.available)
    func killedHolder(kind: StoreKind) async throws {
        try await withHarness(contracts: 100, store: kind) { harness in
            let store = try await harness.openStore()
            let ended = Process()
            ended.executableURL = URL(fileURLWithPath: "/bin/true")
            try ended.run()
            ended.waitUntilExit()
            let gone = JobLockHolder(processId: ended.processIdentifier, host: Processes.jobLockHolder(at: CollectionsClock.system()).host,
                                     since: CollectionsClock.system())
            #expect(try await store.acquireJobLock(job: "contracts", for: gone, isGone: { _ in false }) == .acquired)
            #expect(Processes.isGone(gone))
            #expect(!Processes.isGone(JobLockHolder(processId: gone.processId, host: "another-machine", since: gone.since)),
                    "a holder on another machine is never judged gone from here")

            let run = try await runAdapter(["sync", "contracts"], environment: harness.adapterEnvironment)
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("completed"))
            #expect(try await store.auditEntries().contains { $0.action == "job.lock-taken-over" && $0.details.contains("process \(gone.processId)") })
            #expect(try await lockHolder(harness) == nil)
        }
    }
}
