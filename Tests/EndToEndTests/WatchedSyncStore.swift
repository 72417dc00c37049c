import CollectionsDomain
import CollectionsStore

/// A sync store that lets a test act between the sync handing it a page and the page being written, and
/// before the store builds what a first load set aside.
struct WatchedSyncStore: SyncStore {
    let inner: any SyncStore
    /// Runs before page `n` (counted from 1 in this run) is written; throwing fails that page's commit.
    let beforeCommit: @Sendable (_ page: Int) async throws -> Void
    /// Runs before each `endFirstLoad`; throwing fails it.
    let beforeEndFirstLoad: @Sendable () async throws -> Void
    private let pages = PageCounter()

    init(_ inner: any SyncStore, beforeCommit: @escaping @Sendable (_ page: Int) async throws -> Void = { _ in },
         beforeEndFirstLoad: @escaping @Sendable () async throws -> Void = {}) {
        self.inner = inner
        self.beforeCommit = beforeCommit
        self.beforeEndFirstLoad = beforeEndFirstLoad
    }

    func checkpoint(job: String) async throws -> SyncCheckpoint { try await inner.checkpoint(job: job) }
    func startRun(job: String, mode: String, startedAt: Timestamp) async throws -> Int64 {
        try await inner.startRun(job: job, mode: mode, startedAt: startedAt)
    }
    func commitPage(_ contracts: [Contract], checkpoint: SyncCheckpoint, job: String, runId: Int64, alerts: [RiskAlert],
                    at: Timestamp) async throws -> Int {
        try await beforeCommit(await pages.next())
        return try await inner.commitPage(contracts, checkpoint: checkpoint, job: job, runId: runId, alerts: alerts, at: at)
    }
    func riskSnapshots(contractNumbers: [String], arrearsKept: Int) async throws -> [String: RiskSnapshot] {
        try await inner.riskSnapshots(contractNumbers: contractNumbers, arrearsKept: arrearsKept)
    }
    func finishRun(_ runId: Int64, outcome: SyncRunOutcome, message: String?, milesTotal: Int?, endedAt: Timestamp) async throws -> Int {
        try await inner.finishRun(runId, outcome: outcome, message: message, milesTotal: milesTotal, endedAt: endedAt)
    }
    func beginFirstLoad() async throws -> Bool { try await inner.beginFirstLoad() }
    func endFirstLoad() async throws {
        try await beforeEndFirstLoad()
        try await inner.endFirstLoad()
    }
    func firstLoadUnderWay() async throws -> Bool { try await inner.firstLoadUnderWay() }
    func runs(job: String, limit: Int) async throws -> [SyncRun] { try await inner.runs(job: job, limit: limit) }
}

private actor PageCounter {
    private var count = 0
    func next() -> Int {
        count += 1
        return count
    }
}
