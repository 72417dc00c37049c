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

    public init(id: Int64, job: String, mode: String, startedAt: Timestamp, endedAt: Timestamp? = nil, pages: Int, records: Int, written: Int, outcome: SyncRunOutcome, message: String? = nil, milesTotal: Int? = nil, storedTotal: Int? = nil) {
        self.id = id
        self.job = job
        self.mode = mode
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.pages = pages
        self.records = records
        self.written = written
        self.outcome = outcome
        self.message = message
        self.milesTotal = milesTotal
        self.storedTotal = storedTotal
    }
}
