import CollectionsDomain
import Foundation
import CollectionsStore
import MilesMapping
@testable import MilesSync
import TestSupport
import Testing

@Suite("The relay pushes bank allocations and their reversals, against in-memory MILES and store")
struct AllocationRelayTests {
    let mappings: MappingSet
    let clock = CollectionsClock.fixed(Timestamp(millisecondsSinceEpoch: 1_795_000_000_000))

    init() throws {
        mappings = try MappingSet.load(directory: mappingsDirectory)
    }

    func allocation(id: Int64) -> PaymentAllocation {
        let gbp = CurrencyCode.gbp
        return PaymentAllocation(
            id: id, contractNumber: "C1", lines: [AllocationLine(invoiceNumber: "INV-C1", amount: Money(minorUnits: 25_000, currency: gbp))],
            suspense: .zero(gbp), valueDate: LocalDate.parse("2026-11-27")!, account: "GB33BUKB20201555555555", bankReference: "E-\(id)",
            allocatedBy: "auto", reason: "invoice number", confidence: 95, state: .pending, milesAllocationId: nil)
    }

    @Test("an allocation MILES makes is recorded with MILES's id; a reversal MILES makes is recorded as reversed")
    func postedAndReversed() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "ARR")])
        let miles = InMemoryMiles(mappings: mappings, contracts: [])
        await store.queueAllocation(allocation(id: 41), reversal: false, at: clock())
        await store.queueAllocation(allocation(id: 42), reversal: true, at: clock())

        let summary = try await OutboxRelay(gateway: miles, store: store, now: clock).run()

        #expect(summary.allocationsPosted == 1 && summary.allocationsReversed == 1)
        #expect(await miles.allocationCalls == ["PA-41", "PR-42"])
        let sent = await store.outboxEntries(state: .sent)
        #expect(sent.map(\.clientReference) == ["PA-41", "PR-42"])
        #expect(sent.map(\.resultReference) == ["MAL-41", "reversed"])
        #expect(await store.allocations[41]?.state == .allocated)
        #expect(await store.allocations[41]?.milesAllocationId == "MAL-41")
        #expect(await store.allocations[42]?.state == .reversed)
    }

    @Test("a reversal whose allocation is tried again in ten minutes waits with it: the run leaves both and stops, after one look")
    func reversalWaitsWithItsAllocation() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "ARR")])
        let miles = InMemoryMiles(mappings: mappings, contracts: [])
        await store.queueAllocation(allocation(id: 51), reversal: false, at: clock().adding(seconds: 600))
        await store.queueAllocation(allocation(id: 51), reversal: true, at: clock())

        // The deadline bounds a run that would look again and again for the reversal it may not send.
        let summary = try await OutboxRelay(gateway: miles, store: store, configuration: OutboxRelay.Configuration(deadline: .seconds(2)),
                                            now: clock).run()

        #expect(summary.leftPending == 2)
        #expect(await miles.allocationCalls.isEmpty)
        #expect(await store.claims == 1)
    }

    @Test("a person re-queues a set-aside allocation only when this MILES can take it: without AllocatePayment mapped, refused naming it")
    func retryNeedsTheOperation() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("no-allocations-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: mappingsDirectory, toPath: folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try leaveOut(["allocatePayment"], ofContractMappingAt: folder + "/contract.yaml")
        let partial = try MappingSet.load(directory: folder).contract
        let store = InMemoryStore(contracts: [contract("C1", status: "ARR")])
        await store.queueAllocation(allocation(id: 61), reversal: false, at: clock())
        let entry = try #require(await store.outboxEntries(state: .pending).first)
        await store.skipOutboxEntry(id: entry.id, by: "bob", reason: "MILES is not ready", at: clock())
        let carol = CollectionsUser(name: "carol", role: try #require(mappings.authorityMatrix.role(named: "headOfCredit")))

        await #expect(throws: UnmappedOperationError.self) { try await OutboxDesk(store: store, contract: partial).retry(entryId: entry.id, by: carol) }
        #expect(await store.outboxEntry(id: entry.id)?.state == .skipped)
        try await OutboxDesk(store: store, contract: mappings.contract).retry(entryId: entry.id, by: carol)
        #expect(await store.outboxEntry(id: entry.id)?.state == .pending)
    }

    @Test("a busy MILES is asked again with the same client reference; a business refusal is dead-lettered with MILES's code")
    func retriedThenRefused() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "ARR")])
        let miles = InMemoryMiles(mappings: mappings, contracts: [], allocationFaults: ["SERVER_BUSY", "ALLOCATION_EXCEEDS_OPEN"])
        await store.queueAllocation(allocation(id: 7), reversal: false, at: clock())

        let summary = try await OutboxRelay(gateway: miles, store: store,
                                            configuration: OutboxRelay.Configuration(retry: RetryPolicy(baseDelay: .zero)), now: .system).run()

        #expect(summary.retriesScheduled == 1 && summary.deadLettered == 1 && summary.allocationsPosted == 0)
        #expect(await miles.allocationCalls == ["PA-7", "PA-7"])
        let entry = try #require(await store.outboxEntries(state: .deadLetter).first)
        #expect(entry.lastError?.hasPrefix("MILES ALLOCATION_EXCEEDS_OPEN") == true)
        #expect(await store.allocations[7]?.state == .refused)
    }

    @Test("the bank returns a payment while MILES is asked to allocate it, and MILES refuses the allocation: the reversal waiting for it is set aside, never sent")
    func refusedAllocationIsNotReversed() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "ARR")])
        let miles = InMemoryMiles(mappings: mappings, contracts: [], allocationFaults: ["ALLOCATION_EXCEEDS_OPEN"])
        await store.queueAllocation(allocation(id: 81), reversal: false, at: clock())
        var returned = allocation(id: 81)
        returned.state = .reversing
        await store.queueAllocation(returned, reversal: true, at: clock())

        let summary = try await OutboxRelay(gateway: miles, store: store, now: clock).run()

        #expect(summary.deadLettered == 1 && summary.allocationsReversed == 0 && summary.leftPending == 0)
        #expect(await miles.allocationCalls == ["PA-81"])
        #expect(await store.outboxEntries(state: .skipped).map(\.clientReference) == ["PR-81"])
        #expect(await store.allocations[81]?.state == .reversed)
    }

    @Test("a refusal that is not MILES's own (an HTTP 404 from a proxy): MILES may hold the allocation, so its reversal is sent, not set aside")
    func proxyRefusalIsNotMiles() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "ARR")])
        let miles = InMemoryMiles(mappings: mappings, contracts: [], allocationFaults: ["HTTP 404"])
        await store.queueAllocation(allocation(id: 82), reversal: false, at: clock())
        var returned = allocation(id: 82)
        returned.state = .reversing
        await store.queueAllocation(returned, reversal: true, at: clock())

        let summary = try await OutboxRelay(gateway: miles, store: store, now: clock).run()

        #expect(summary.deadLettered == 1 && summary.allocationsReversed == 1)
        #expect(await miles.allocationCalls == ["PA-82", "PR-82"])
        #expect(await store.outboxEntries(state: .skipped).isEmpty)
        #expect(await store.allocations[82]?.state == .reversed)
    }
}
