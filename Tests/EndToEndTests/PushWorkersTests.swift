import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesMock
import MilesSync
import Testing

/// Machines of their own: the store never judges a holder on another machine to have ended.
private let workerA = OutboxWorker(name: "worker-a", host: "machine-a", processId: 101)
private let workerB = OutboxWorker(name: "worker-b", host: "machine-b", processId: 202)
private let nobodyIsGone: @Sendable (OutboxWorker) -> Bool = { _ in false }

@Suite("Outbox leases: one holder per entry, results fenced", .serialized, .timeLimit(.minutes(2)))
struct OutboxLeaseTests {
    @Test("an entry claimed by one worker is not claimed by another until the lease expires; then the first one's results are refused")
    func leaseExpiryAndFence() async throws {
        try await withHarness(contracts: 60) { harness in
            let (store, candidates) = try await harness.syncedStore()
            _ = try await harness.approvedWriteOffs(Array(candidates.prefix(3)), store: store)
            let start = CollectionsClock.system()
            func at(_ seconds: Int64) -> Timestamp { start.adding(milliseconds: seconds * 1000) }

            let heldByA = try await store.claimOutboxEntries(for: workerA, now: at(0), leaseUntil: at(60), limit: 2, isGone: nobodyIsGone)
            #expect(heldByA.count == 2)
            #expect(heldByA.allSatisfy { $0.lease?.worker == workerA && $0.fence == 1 })
            let heldByB = try await store.claimOutboxEntries(for: workerB, now: at(1), leaseUntil: at(61), limit: 10, isGone: nobodyIsGone)
            #expect(heldByB.map(\.id).count == 1)
            #expect(Set(heldByB.map(\.id)).isDisjoint(with: heldByA.map(\.id)))
            #expect(try await store.claimOutboxEntries(for: workerB, now: at(59), leaseUntil: at(119), limit: 10, isGone: nobodyIsGone).isEmpty)
            #expect(try await store.outboxBacklog() == OutboxBacklog(waiting: 3, nextClaimAt: at(60)))

            try await store.markSending(heldByA[0], at: at(2))
            // A stops renewing (hung, or cut off from the store): at its lease's expiry B takes both over.
            let takenOver = try await store.claimOutboxEntries(for: workerB, now: at(60), leaseUntil: at(120), limit: 10, isGone: nobodyIsGone)
            #expect(takenOver.map(\.id) == heldByA.map(\.id))
            #expect(takenOver.allSatisfy { $0.fence == 2 && $0.lease?.worker == workerB })
            #expect(takenOver[0].state == .sending)
            let audits = try await store.auditEntries().filter { $0.action == "outbox.lease-taken-over" }
            #expect(audits.map(\.subject) == heldByA.map { "outbox:\($0.id)" })
            #expect(audits.allSatisfy { $0.actor == "worker-b" && $0.details.contains("from worker-a") && $0.details.contains("lease expired") })

            // A comes back with MILES's answer: nothing it saw is recorded, and B's claim stands.
            let posted = PostedWriteOff(writeOffId: "MW-1", clientReference: heldByA[0].clientReference, contractNumber: "C1",
                                        amount: Money(minorUnits: 100, currency: .gbp), reasonCode: "UNEC", postedAt: at(61), contractVersion: 2)
            await #expect(throws: StoreError.self) { try await store.recordWriteOffPosted(heldByA[0], posted: posted, at: at(61)) }
            do {
                try await store.recordRetry(heldByA[1], error: "late", nextAttemptAt: at(61), at: at(61))
                Issue.record("a worker whose lease was taken over recorded a retry")
            } catch let error as StoreError {
                #expect(error.code == .leaseLost)
                #expect(error.input == "outbox entry \(heldByA[1].id)")
            }
            #expect(try await store.renewOutboxLeases(heldByA, until: at(180)).isEmpty)
            #expect(try await store.outboxEntry(id: heldByA[0].id)?.state == .sending)
            #expect(try await store.outboxEntry(id: heldByA[0].id)?.resultReference == nil)
            #expect(try await store.writeOffRequests(state: .posted).isEmpty)

            try await store.recordWriteOffPosted(takenOver[0], posted: posted, at: at(62))
            #expect(try await store.outboxEntry(id: heldByA[0].id)?.state == .sent)
            #expect(try await store.outboxEntry(id: heldByA[0].id)?.lease == nil)
            #expect(try await store.verifyAudit() == .intact(entries: try await store.auditEntries().count))
        }
    }

    @Test("a holder known to have ended is taken over at once; a live one's entries wait, and a released entry is free at once")
    func endedHolderAndRelease() async throws {
        try await withHarness(contracts: 60) { harness in
            let (store, candidates) = try await harness.syncedStore()
            _ = try await harness.approvedWriteOffs(Array(candidates.prefix(2)), store: store)
            let now = CollectionsClock.system()
            let later = now.adding(milliseconds: 60_000)
            let heldByA = try await store.claimOutboxEntries(for: workerA, now: now, leaseUntil: later, limit: 1, isGone: nobodyIsGone)
            let heldByB = try await store.claimOutboxEntries(for: workerB, now: now, leaseUntil: later, limit: 1, isGone: nobodyIsGone)
            #expect(heldByA.count == 1 && heldByB.count == 1)

            let third = OutboxWorker(name: "worker-c", host: "machine-a", processId: 303)
            let taken = try await store.claimOutboxEntries(for: third, now: now, leaseUntil: later, limit: 10, isGone: { $0 == workerA })
            #expect(taken.map(\.id) == heldByA.map(\.id))
            #expect(try await store.auditEntries().last { $0.action == "outbox.lease-taken-over" }?.details.contains("process had ended") == true)

            try await store.releaseOutboxLeases(heldByB)
            #expect(try await store.claimOutboxEntries(for: third, now: now, leaseUntil: later, limit: 10, isGone: nobodyIsGone).map(\.id)
                    == heldByB.map(\.id))
        }
    }

    @Test("after a version conflict, the version to re-send against is recorded only by the worker that still holds the entry")
    func versionConflictIsFenced() async throws {
        try await withHarness(contracts: 60) { harness in
            let (store, candidates) = try await harness.syncedStore()
            let contract = try #require(candidates.first)
            let changeId = try await store.queueStatusChange(StatusChange(
                id: 0, contractNumber: contract.contractNumber, to: .inArrears, reasonCode: "ARRS", effectiveDate: contract.startDate,
                courtOrderReference: nil, expectedVersion: contract.version, requestedBy: "bob", requestedAt: CollectionsClock.system(),
                state: .queued, overrides: []))
            let start = CollectionsClock.system()
            func at(_ seconds: Int64) -> Timestamp { start.adding(milliseconds: seconds * 1000) }
            let heldByA = try #require(try await store.claimOutboxEntries(for: workerA, now: at(0), leaseUntil: at(60), limit: 1, isGone: nobodyIsGone).first)
            let heldByB = try #require(try await store.claimOutboxEntries(for: workerB, now: at(60), leaseUntil: at(120), limit: 1, isGone: nobodyIsGone).first)
            #expect(heldByA.subjectId == changeId)
            await #expect(throws: StoreError.self) {
                try await store.recordVersionConflictRetry(heldByA, version: 99, error: "conflict", nextAttemptAt: at(61), at: at(61))
            }
            #expect(try await store.statusChange(id: changeId)?.expectedVersion == contract.version)
            try await store.recordVersionConflictRetry(heldByB, version: contract.version + 1, error: "conflict", nextAttemptAt: at(62), at: at(62))
            #expect(try await store.statusChange(id: changeId)?.expectedVersion == contract.version + 1)
            #expect(try await store.outboxEntry(id: heldByB.id)?.state == .pending)
        }
    }

    @Test("a person skipping an entry a worker holds fences the worker out: it can no longer mark it sending")
    func skipFencesOutTheWorker() async throws {
        try await withHarness(contracts: 60) { harness in
            let (store, candidates) = try await harness.syncedStore()
            _ = try await harness.approvedWriteOffs(Array(candidates.prefix(1)), store: store)
            let now = CollectionsClock.system()
            let held = try #require(try await store.claimOutboxEntries(for: workerA, now: now, leaseUntil: now.adding(milliseconds: 60_000),
                                                                       limit: 1, isGone: nobodyIsGone).first)
            try await store.skipOutboxEntry(id: held.id, by: "carol", reason: "customer paid in full", at: now)
            await #expect(throws: StoreError.self) { try await store.markSending(held, at: now) }
            #expect(try await store.outboxEntry(id: held.id)?.state == .skipped)
            #expect(try await store.outboxEntry(id: held.id)?.attempts == 0)
        }
    }
}

@Suite("Several push workers share the outbox", .serialized, .timeLimit(.minutes(5)))
struct PushWorkersTests {
    @Test("two push processes at once over 2,000 approved write-offs: each posted once, and both did some of the work")
    func twoWorkersShareTheOutbox() async throws {
        try await withHarness(contracts: 3_000) { harness in
            let (store, candidates) = try await harness.syncedStore()
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

    @Test("a worker frozen holding leases: another posts its entries once the lease expires, and the frozen one's late answer is refused")
    func frozenWorkerIsTakenOver() async throws {
        try await withHarness(contracts: 200) { harness in
            let (store, candidates) = try await harness.syncedStore()
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
