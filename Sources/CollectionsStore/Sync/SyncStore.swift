import CollectionsDomain

/// The contract sync's checkpoint and run ledger. A page of contracts and the checkpoint that
/// follows it are committed together or not at all.
public protocol SyncStore: Sendable {
    /// Where a job stands; an empty checkpoint if it never ran.
    func checkpoint(job: String) async throws -> SyncCheckpoint

    /// Opens a run in the ledger and returns its id.
    func startRun(job: String, mode: String, startedAt: Timestamp) async throws -> Int64

    /// Upserts a page of contracts (with customers and open invoices), moves the checkpoint, counts
    /// the page in the run, keeps the arrears a changed contract had before, and raises
    /// `alerts` at `at` (each audited; one whose contract already has an open alert of the same rule
    /// is not raised again), all in one transaction. Returns how many contracts were new or changed.
    func commitPage(_ contracts: [Contract], checkpoint: SyncCheckpoint, job: String, runId: Int64, alerts: [RiskAlert],
                    at: Timestamp) async throws -> Int

    /// What the store holds of these contracts now, with up to `arrearsKept` of their latest arrears
    /// (those held now last), by contract number; a contract it does not hold is left out.
    func riskSnapshots(contractNumbers: [String], arrearsKept: Int) async throws -> [String: RiskSnapshot]

    /// Closes a run in the ledger with its outcome and totals; returns how many contracts the store holds.
    @discardableResult
    func finishRun(_ runId: Int64, outcome: SyncRunOutcome, message: String?, milesTotal: Int?, endedAt: Timestamp) async throws -> Int

    /// A full query into a store that holds no contracts is a first load: the store may set aside what
    /// only serves look-ups (SQLite: the secondary indexes of contracts, customers and invoices, and the
    /// customer-name index) and build it once, at the end, far cheaper than keeping it row by row. What
    /// is set aside stays aside across a crash until `endFirstLoad`. Returns whether a first load is under
    /// way (begun now, or by a run that was interrupted); false when the store holds contracts and none is.
    func beginFirstLoad() async throws -> Bool

    /// Builds what `beginFirstLoad` set aside; nothing when no first load is under way.
    func endFirstLoad() async throws

    /// Whether a first load has what it set aside still aside: begun and not yet ended, or interrupted and
    /// waiting for the next run. Meanwhile `searchContracts` finds no customer by name among those the
    /// load stored, and its other look-ups read every row.
    func firstLoadUnderWay() async throws -> Bool

    /// The latest runs of a job, newest first.
    func runs(job: String, limit: Int) async throws -> [SyncRun]
}
