import CollectionsDomain

/// How a run ended.
public enum SyncRunOutcome: String, Sendable {
    case running
    /// Finished, and the number of contracts received matches MILES's count.
    case completed
    /// Finished, but MILES's count and what was received differ: look before trusting the store.
    case completedWithDiscrepancy
    case failed
}

/// One run of a job, as the run ledger keeps it.
public struct SyncRun: Sendable, Equatable {
    public var id: Int64
    public var job: String
    public var mode: String
    public var startedAt: Timestamp
    public var endedAt: Timestamp?
    public var pages: Int
    /// Contracts received in this run.
    public var records: Int
    /// Contracts that were new or changed in the store.
    public var written: Int
    public var outcome: SyncRunOutcome
    public var message: String?
    /// MILES's total count for the query.
    public var milesTotal: Int?
    /// Contracts in the store when the run ended.
    public var storedTotal: Int?
}
