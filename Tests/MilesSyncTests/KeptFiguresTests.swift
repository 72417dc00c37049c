import CollectionsDomain
import CollectionsStore
@testable import MilesSync
import Testing

@Suite("The dashboard's aged debt is computed once per date and contracts' revision (issue 13, figures)")
struct KeptFiguresTests {
    let today = LocalDate.parse("2026-12-01")!

    @Test("asked again with nothing changed, the kept report is given; a changed contract or another date computes it afresh")
    func keptUntilAContractChanges() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "DEF", open: 10_000), contract("C2", status: "DEF", open: 5_000)])
        let cache = KeptFigures.agedDebt(store: store)
        let first = try await cache.value(asOf: today)
        #expect(first.totals[.gbp]?.reduce(0, +) == 15_000)
        _ = try await cache.value(asOf: today)
        #expect(await cache.computations == 1)

        await store.upsertContract(contract("C2", status: "DEF", version: 8, open: 7_000))
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
        await store.holdInvoiceReads(untilRevisionReads: 12)
        let cache = KeptFigures.agedDebt(store: store)
        let totals = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<12 { group.addTask { try await cache.value(asOf: today).totals[.gbp]?.reduce(0, +) ?? 0 } }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(totals == Array(repeating: 50_000, count: 12))
        #expect(await cache.computations == 1)
    }
}
