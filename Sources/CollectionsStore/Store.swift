import CollectionsDomain

/// The collections store, as the jobs see it. SQLite (`SQLiteStore`) is the embedded default;
/// another database can stand behind this protocol without the jobs changing.
///
/// Every method is one transaction: a page of contracts and the checkpoint that follows it are
/// committed together or not at all.
public protocol Store: WriteOffStore, StatusChangeStore, OutboxStore, IngestStore, AuditStore {
    /// Where a job stands; an empty checkpoint if it never ran.
    func checkpoint(job: String) throws -> SyncCheckpoint

    /// Replaces a job's checkpoint (e.g. `--full` or `--since` starts a fresh query).
    func saveCheckpoint(_ checkpoint: SyncCheckpoint, job: String) throws

    /// Opens a run in the ledger and returns its id.
    func startRun(job: String, mode: String, startedAt: Timestamp) throws -> Int64

    /// Upserts a page of contracts (with customers and open invoices), moves the checkpoint and
    /// counts the page in the run, all in one transaction. Returns how many contracts were new or changed.
    func commitPage(_ contracts: [Contract], checkpoint: SyncCheckpoint, job: String, runId: Int64) throws -> Int

    /// Closes a run in the ledger with its outcome and totals; returns how many contracts the store holds.
    @discardableResult
    func finishRun(_ runId: Int64, outcome: SyncRunOutcome, message: String?, milesTotal: Int?, endedAt: Timestamp) throws -> Int

    /// The latest runs of a job, newest first.
    func runs(job: String, limit: Int) throws -> [SyncRun]

    func contractCount() throws -> Int

    /// Each MILES status code in the store with how many contracts carry it.
    func statusCodeCounts() throws -> [String: Int]

    /// Every stored contract, in contract-number order, rebuilt with its customer and invoices.
    func forEachContract(_ body: (Contract) throws -> Void) throws

    /// One stored contract.
    func contract(number: String) throws -> Contract?

    /// Every open invoice of every stored contract.
    func forEachOpenInvoice(_ body: (Invoice) throws -> Void) throws
}
