import CollectionsDomain
import CollectionsStore

/// A figure computed over every stored contract (the aged debt, the largest balances), computed
/// once for each date and contracts' revision and kept until either changes. The dashboard shows
/// the aged debt on every request, and over a million contracts one computation reads every open
/// invoice (seconds); requests that arrive while it runs wait for that one computation instead of
/// starting their own.
///
/// ```swift
/// let agedDebt = KeptFigures.agedDebt(store: store)
/// let report = try await agedDebt.value(asOf: today)   // computed
/// let again = try await agedDebt.value(asOf: today)    // kept, until a sync changes a contract
/// ```
public actor KeptFigures<Value: Sendable> {
    struct Key: Equatable {
        let asOf: LocalDate
        let revision: Int64
    }

    private let store: any ContractStore
    private let compute: @Sendable (LocalDate) async throws -> Value
    private var kept: (key: Key, value: Value)?
    private var computing: (key: Key, task: Task<Value, any Error>)?

    /// How many times the figure was computed rather than kept: for tests and the benchmark.
    public private(set) var computations = 0

    public init(store: any ContractStore, compute: @escaping @Sendable (LocalDate) async throws -> Value) {
        self.store = store
        self.compute = compute
    }

    /// The figure as of `asOf`. A contract written while it is computed leaves it kept against the
    /// revision read before, so the next request computes it again.
    public func value(asOf: LocalDate) async throws -> Value {
        let key = Key(asOf: asOf, revision: try await store.contractsRevision())
        if let kept, kept.key == key { return kept.value }
        if let computing, computing.key == key { return try await computing.task.value }
        let task = Task { [compute] in try await compute(asOf) }
        computing = (key, task)
        computations += 1
        defer { if computing?.key == key { computing = nil } }
        let value = try await task.value
        kept = (key, value)
        return value
    }
}

extension KeptFigures where Value == AgedDebtReport {
    /// The standard-bucket aged debt of every open invoice.
    public static func agedDebt(store: any ReportDesk.Stores) -> KeptFigures {
        KeptFigures(store: store) { try await ReportDesk(store: store).agedDebt(asOf: $0) }
    }
}
