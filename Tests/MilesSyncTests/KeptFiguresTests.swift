import CollectionsDomain
import CollectionsStore
@testable import MilesSync
import Testing

@Suite("The dashboard's aged debt is computed once per date and contracts' revision (issue 13, figures)")
struct KeptFiguresTests {
    let today = LocalDate.parse("2026-12-01")!

    @Test("asked again with nothing changed, the kept report is given; a changed contract computes it afresh behind the kept one, another date at once")
    func keptUntilAContractChanges() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "DEF", open: 10_000), contract("C2", status: "DEF", open: 5_000)])
        let cache = KeptFigures.agedDebt(store: store)
        let first = try await cache.value(asOf: today)
        #expect(first.totals[.gbp]?.reduce(0, +) == 15_000)
        _ = try await cache.value(asOf: today)
        #expect(await cache.computations == 1)

        await store.upsertContract(contract("C2", status: "DEF", version: 8, open: 7_000))
        let meanwhile = try await cache.value(asOf: today)
        #expect(meanwhile.totals[.gbp]?.reduce(0, +) == 15_000, "the kept figure answers while the new one is computed")
        await cache.settled()
        let changed = try await cache.value(asOf: today)
        #expect(changed.totals[.gbp]?.reduce(0, +) == 17_000, "a contract written since is counted")
        #expect(await cache.computations == 2)

        let later = try await cache.value(asOf: LocalDate.parse("2027-03-01")!)
        #expect(later.asOf == LocalDate.parse("2027-03-01")!)
        #expect(await cache.computations == 3)
    }

    @Test("many dashboards asking at once, all before the first computation has read an invoice, share that computation")
    func oneComputationForConcurrentRequests() async throws {
        let store = InMemoryStore(contracts: (1...500).map { contract("C\($0)", status: "DEF", open: 100) })
        await store.holdInvoiceReads(untilMoreRevisionReads: 12)
        let cache = KeptFigures.agedDebt(store: store)
        let totals = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<12 { group.addTask { try await cache.value(asOf: today).totals[.gbp]?.reduce(0, +) ?? 0 } }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(totals == Array(repeating: 50_000, count: 12))
        #expect(await cache.computations == 1)
    }

    @Test("while a sync keeps writing, requests get the kept figure at once and one computation runs at a time")
    func oneComputationAtATimeWhileWriting() async throws {
        let store = InMemoryStore(contracts: (1...50).map { contract("C\($0)", status: "DEF", open: 100) })
        let cache = KeptFigures.agedDebt(store: store)
        _ = try await cache.value(asOf: today)
        await store.upsertContract(contract("C1", status: "DEF", version: 8, open: 300))
        // The refresh the first request starts reads no invoice until all eight requests have come.
        await store.holdInvoiceReads(untilMoreRevisionReads: 8)
        let totals = try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<8 {
                group.addTask {
                    if index > 0 { await store.upsertContract(contract("C\(index + 1)", status: "DEF", version: 9, open: 200)) }
                    return try await cache.value(asOf: today).totals[.gbp]?.reduce(0, +) ?? 0
                }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(totals == Array(repeating: 5_000, count: 8), "every request got the kept figure")
        #expect(await cache.computations == 2, "one refresh, though the revision moved under each request")
        await cache.settled()
        _ = try await cache.value(asOf: today)
        await cache.settled()
        #expect(try await cache.value(asOf: today).totals[.gbp]?.reduce(0, +) == 5_000 + 200 + 7 * 100)
    }
}
