import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMock
import MilesSync
import TestSupport
import Testing

@Suite("Several push workers share the outbox", .serialized, .timeLimit(.minutes(5)))
struct PushWorkersTests {
    @Test("two push processes at once over 2,000 approved write-offs: each posted once, and both did some of the work",
          arguments: StoreKind.available)
    func twoWorkersShareTheOutbox(kind: StoreKind) async throws {
        try await withHarness(contracts: 3_000, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            try #require(candidates.count >= 2_000)
            let ids = try await harness.approvedWriteOffs(Array(candidates.prefix(2_000)), store: store)
            async let first = runAdapter(["push", "--worker", "push-1"], environment: harness.adapterEnvironment)
            async let second = runAdapter(["push", "--worker", "push-2"], environment: harness.adapterEnvironment)
            let runs = try await [first, second]
            var postedByWorker: [Int] = []
            for run in runs {
                #expect(run.status == 0, "\(run.output)")
                postedByWorker.append(try #require(Self.count(of: "write-offs posted", in: run.output), "\(run.output)"))
            }
            #expect(postedByWorker.allSatisfy { $0 > 0 }, "each worker posted some: \(postedByWorker)")

            let ledger = await harness.server.miles.writeOffLedger()
            #expect(ledger.count == 2_000)
            #expect(Set(ledger.map(\.clientReference)) == Set(ids.map { "WO-\($0)" }))
            // MILES would answer a repeat with the first write-off: the journal shows none was sent twice.
            #expect(await harness.server.miles.journalEntries().filter { $0.operation == "PostWriteOff" }.count == 2_000)
            #expect(postedByWorker.reduce(0, +) == 2_000)
            #expect(try await store.writeOffRequests(state: .posted).count == 2_000)
            #expect(try await store.outboxCounts() == [.sent: 2_000])
            #expect(try await store.verifyAudit() == .intact(entries: try await store.auditEntries().count))
        }
    }

    @Test("a worker frozen holding leases: another posts its entries once the lease expires, and the frozen one's late answer is refused",
          arguments: StoreKind.available)
    func frozenWorkerIsTakenOver(kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let ids = try await harness.approvedWriteOffs(Array(candidates.prefix(30)), store: store)
            // MILES posts the frozen worker's first write-off and holds its answer back.
            await harness.server.miles.injectFault(FaultRule(operation: "PostWriteOff", count: 1, afterProcessing: true, delayMilliseconds: 3_000))
            // Short timeouts, so a short lease is allowed: one entry takes at most 2 × (1 s + 1 s) + 1 s.
            let timeouts = ["MILES_ADAPTER_CONNECT_TIMEOUT": "1", "MILES_ADAPTER_REQUEST_TIMEOUT": "1"]
            let tooShort = try await runAdapter(["push", "--lease-seconds", "4"], environment: harness.adapterEnvironment.merging(timeouts) { $1 })
            #expect(tooShort.status == 2)
            #expect(tooShort.output.contains("--lease-seconds 4 is too short: one entry can take 5 s"))
            let frozen = try AdapterProcess(["push", "--worker", "frozen", "--lease-seconds", "6"], harness: harness, environment: timeouts)
            #expect(try await waitUntil(seconds: 60) { await harness.server.miles.writeOffLedger().count == 1 })
            kill(frozen.process.processIdentifier, SIGSTOP)
            let frozenAt = CollectionsClock.system()
            await harness.server.miles.clearFaults()
            #expect(try await store.outboxEntries(state: nil).allSatisfy { $0.lease?.worker.name == "frozen" })

            let other = try await runAdapter(["push", "--worker", "other", "--lease-seconds", "6"],
                                             environment: harness.adapterEnvironment.merging(timeouts) { $1 })
            #expect(other.status == 0, "\(other.output)")
            #expect(Self.count(of: "write-offs posted", in: other.output) == 29, "\(other.output)")
            #expect(Self.count(of: "found already made", in: other.output) == 1, "\(other.output)")
            let takeovers = try await store.auditEntries().filter { $0.action == "outbox.lease-taken-over" }
            #expect(takeovers.count == 30)
            #expect(takeovers.allSatisfy { $0.actor == "other" && $0.details.contains("from frozen") && $0.details.contains("lease expired") })
            // Not before the lease ran out: six seconds from the claim, which came before the freeze.
            #expect(takeovers.allSatisfy { $0.at.millisecondsSinceEpoch > frozenAt.millisecondsSinceEpoch })

            kill(frozen.process.processIdentifier, SIGCONT)
            #expect(await frozen.exitStatus() == 0)
            let ledger = await harness.server.miles.writeOffLedger()
            #expect(ledger.count == 30)
            #expect(await harness.server.miles.journalEntries().filter { $0.operation == "PostWriteOff" }.count == 30)
            for id in ids {
                let request = try #require(try await store.writeOffRequest(id: id))
                #expect(request.state == .posted)
                #expect(request.milesWriteOffId == ledger.first { $0.clientReference == "WO-\(id)" }?.writeOffId)
            }
            #expect(try await store.verifyAudit() == .intact(entries: try await store.auditEntries().count))
        }
    }

    /// The number after `label` in push's summary line.
    static func count(of label: String, in output: String) -> Int? {
        guard let range = output.range(of: label + " ") ?? output.range(of: "(" + label + " ") else { return nil }
        return Int(output[range.upperBound...].prefix { $0.isNumber })
    }
}
