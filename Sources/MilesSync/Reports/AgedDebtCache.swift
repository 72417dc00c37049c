import CollectionsDomain
import CollectionsStore

/// The aged debt, computed once for each date and contracts' revision and kept until either
/// changes. The dashboard shows it on every request, and over a million contracts one computation
/// reads every open invoice (seconds); requests that arrive while it runs wait for that one
/// computation instead of starting their own.
///
/// ```swift
/// let cache = AgedDebtCache(store: store)
/// let report = try await cache.report(asOf: today)   // computed
/// let again = try await cache.report(asOf: today)    // kept, until a sync changes a contract
/// ```
public actor AgedDebtCache {
    struct Key: Equatable {
        let asOf: LocalDate
        let revision: Int64
    }

    private let store: any ReportDesk.Stores
    private var kept: (key: Key, report: AgedDebtReport)?
    private var computing: (key: Key, task: Task<AgedDebtReport, any Error>)?

    /// How many times the report was computed rather than kept: for tests and the benchmark.
    public private(set) var computations = 0

    public init(store: any ReportDesk.Stores) {
        self.store = store
    }

    /// The standard-bucket aged debt as of `asOf`. A contract written while it is computed leaves
    /// it kept against the revision read before, so the next request computes it again.
    public func report(asOf: LocalDate) async throws -> AgedDebtReport {
        let key = Key(asOf: asOf, revision: try await store.contractsRevision())
        if let kept, kept.key == key { return kept.report }
        if let computing, computing.key == key { return try await computing.task.value }
        let desk = ReportDesk(store: store)
        let task = Task { try await desk.agedDebt(asOf: asOf) }
        computing = (key, task)
        computations += 1
        defer { if computing?.key == key { computing = nil } }
        let report = try await task.value
        kept = (key, report)
        return report
    }
}
