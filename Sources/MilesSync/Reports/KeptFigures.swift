import CollectionsDomain
import CollectionsStore

/// A figure computed over every stored contract (the aged debt, the largest balances), kept for
/// its date and contracts' revision. Over a million contracts one computation reads every open
/// invoice (seconds), so at most one runs at a time: while it does, a request for the same date
/// gets the figure kept before (a computation or so behind, which is what a sync in progress makes
/// of any figure), and a request with nothing kept for its date waits for it.
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

    /// How many times the figure was computed rather than kept.
    public private(set) var computations = 0

    public init(store: any ContractStore, compute: @escaping @Sendable (LocalDate) async throws -> Value) {
        self.store = store
        self.compute = compute
    }

    /// The figure as of `asOf`: the kept one when the store has not changed since it was computed;
    /// while a newer one is being computed, the one kept for the same date; otherwise computed now.
    public func value(asOf: LocalDate) async throws -> Value {
        let key = Key(asOf: asOf, revision: try await store.contractsRevision())
        while true {
            if let kept, kept.key == key { return kept.value }
            if let computing {
                if let kept, kept.key.asOf == asOf { return kept.value }
                _ = try? await computing.task.value
                continue
            }
            let task = start(key)
            if let kept, kept.key.asOf == asOf { return kept.value }
            return try await task.value
        }
    }

    /// Waits for the computation running now, if any: for tests, and for a caller that wants the
    /// figures a request just set computing.
    public func settled() async {
        if let computing { _ = try? await computing.task.value }
    }

    /// Starts the computation; the task ends only once its result is kept, so whoever awaits it
    /// finds the actor's state already moved on.
    private func start(_ key: Key) -> Task<Value, any Error> {
        computations += 1
        let task = Task { [compute] in
            do {
                let value = try await compute(key.asOf)
                finish(key, value)
                return value
            } catch {
                finish(key, nil)
                throw error
            }
        }
        computing = (key, task)
        return task
    }

    private func finish(_ key: Key, _ value: Value?) {
        computing = nil
        // A computation is kept unless a later one for the same date already is.
        if let value, !(kept.map { $0.key.asOf == key.asOf && $0.key.revision > key.revision } ?? false) {
            kept = (key, value)
        }
    }
}

extension KeptFigures where Value == AgedDebtReport {
    /// The standard-bucket aged debt of every open invoice.
    public static func agedDebt(store: any ReportDesk.Stores) -> KeptFigures {
        KeptFigures(store: store) { try await ReportDesk(store: store).agedDebt(asOf: $0) }
    }
}
