import CollectionsDomain
import CollectionsStore
import Foundation
import GRDB

/// The collections store in one SQLite file, through GRDB: WAL journal (checkpointed every 256 MB), synchronous=NORMAL,
/// cached prepared statements for the bulk upserts. An actor whose work runs on a thread of its own
/// (`StoreExecutor`), never on the cooperative pool.
///
/// ```swift
/// let store = try SQLiteStore(path: "collections.sqlite")
/// // A job that calls the store once or twice per record runs beside it, without hand-offs:
/// let summary = try await withTaskExecutorPreference(store.taskExecutor) { try await relay.run() }
/// ```
public actor SQLiteStore: ContractStore, SyncStore, WriteOffStore, ContractActionStore, PlacementStore, IngestStore, OutboxStore,
    AuditStore {
    let database: DatabaseQueue
    /// A second connection for reads that run beside the writer rather than after it (WAL: a reader
    /// sees the last commit and waits for no writer): the bank import reads the next batch's
    /// matching data on it while the writer stores the previous batch.
    nonisolated let sideReader: DatabaseQueue
    private nonisolated let executor: StoreExecutor

    /// How the writer's connection keeps its pages. The write-ahead log is checkpointed every 256 MB:
    /// at SQLite's default (1,000 pages, 4 MB) a bulk job copied the same randomly placed index pages
    /// back into the database after nearly every batch (a 1,000,000-entry bank statement took 97.5 s,
    /// against 87.2 s), and after a checkpoint the log file is cut back to 64 MB. The writer caches
    /// 8 MB of pages, not SQLite's 2 MB: its cache outlives its own commits (a reader's is dropped
    /// whenever another connection commits), so the index pages a bulk job keeps returning to are
    /// read fewer times (16 MB was no faster, within the drift, and held 8 MB more; BENCHMARKS.md,
    /// issue 17). The benchmark's storing floor opens its database with the same pragmas.
    public static let writerPragmas = [
        "PRAGMA wal_autocheckpoint = 65536", "PRAGMA journal_size_limit = \(64 << 20)", "PRAGMA cache_size = -\(8 << 10)",
    ]

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// The store's own thread, for `withTaskExecutorPreference` around a job that calls the store
    /// record by record.
    public nonisolated var taskExecutor: any TaskExecutor { executor }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String) throws {
        // The store holds customers' personal data: a new one is the owner's only, and SQLite gives
        // its -wal and -shm files the database's own mode.
        if path != ":memory:", !FileManager.default.fileExists(atPath: path) {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if descriptor >= 0 { close(descriptor) }
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            for pragma in Self.writerPragmas { try db.execute(sql: pragma) }
        }
        configuration.busyMode = .timeout(10)
        database = try DatabaseQueue(path: path, configuration: configuration)
        try database.writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
        }
        // A migration must find the schema it was written against, not one a first load has set aside.
        if try database.read({ db in try !SQLiteSchema.migrator.hasCompletedMigrations(db) && db.tableExists("first_load_set_aside") }) {
            while try database.write({ db in try Self.buildNextSetAside(db) }) {}
        }
        try SQLiteSchema.migrator.migrate(database)
        if path == ":memory:" {
            sideReader = database
        } else {
            var readOnly = Configuration()
            readOnly.readonly = true
            readOnly.busyMode = .timeout(10)
            sideReader = try DatabaseQueue(path: path, configuration: readOnly)
        }
        // Linux keeps 15 bytes of a thread's name and refuses a longer one: this one shows in top -H and ps -L.
        executor = StoreExecutor(name: "miles-store")
    }

    deinit {
        // The side reader first: SQLite checkpoints the log into the database and removes it when its
        // last connection closes, which a read-only connection cannot do.
        if sideReader !== database { try? sideReader.close() }
        executor.stop()
    }

    /// A read transaction, run on the store's thread.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
    }

    /// A write transaction, run on the store's thread.
    func transaction<T>(_ body: (Database) throws -> T) throws -> T {
        try database.write(body)
    }

    /// A write transaction that takes the write lock at its start (BEGIN IMMEDIATE): what it reads
    /// no other process can change before it writes.
    func immediateTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try database.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    public func checkpoint(job: String) async throws -> SyncCheckpoint {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sync_checkpoints WHERE job = ?", arguments: [job]) else {
                return SyncCheckpoint()
            }
            var checkpoint = SyncCheckpoint(
                nextChangedSince: (row["next_changed_since"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)),
                highWaterMark: (row["high_water_mark"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)))
            if let cursor: String = row["query_cursor"], let asOf: Int64 = row["query_as_of"] {
                checkpoint.inProgress = SyncCheckpoint.QueryInProgress(
                    since: (row["query_since"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)),
                    asOf: Timestamp(millisecondsSinceEpoch: asOf), cursor: cursor,
                    pagesDone: row["query_pages"], received: row["query_received"], milesTotal: row["query_total"])
            }
            return checkpoint
        }
    }

    private func write(_ checkpoint: SyncCheckpoint, job: String, _ db: Database) throws {
        let query = checkpoint.inProgress
        try db.cachedStatement(sql: """
            INSERT INTO sync_checkpoints (job, next_changed_since, high_water_mark, query_since, query_as_of, query_cursor,
                                          query_pages, query_received, query_total)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(job) DO UPDATE SET next_changed_since = excluded.next_changed_since,
                high_water_mark = excluded.high_water_mark, query_since = excluded.query_since,
                query_as_of = excluded.query_as_of, query_cursor = excluded.query_cursor, query_pages = excluded.query_pages,
                query_received = excluded.query_received, query_total = excluded.query_total
            """).execute(arguments: [
                job, checkpoint.nextChangedSince?.millisecondsSinceEpoch, checkpoint.highWaterMark?.millisecondsSinceEpoch,
                query?.since?.millisecondsSinceEpoch, query?.asOf.millisecondsSinceEpoch, query?.cursor,
                query?.pagesDone ?? 0, query?.received ?? 0, query?.milesTotal ?? 0,
            ])
    }

    public func startRun(job: String, mode: String, startedAt: Timestamp) async throws -> Int64 {
        try transaction { db in
            try db.execute(sql: "INSERT INTO sync_runs (job, mode, started_at, outcome) VALUES (?, ?, ?, 'running')",
                           arguments: [job, mode, startedAt.millisecondsSinceEpoch])
            return db.lastInsertedRowID
        }
    }

    public func commitPage(_ contracts: [Contract], checkpoint: SyncCheckpoint, job: String, runId: Int64, alerts: [RiskAlert],
                           at: Timestamp) async throws -> Int {
        try transaction { db in
            var written = 0
            let writer = try ContractRowWriter(db, contracts: contracts.count)
            for contract in contracts where try writer.write(contract) { written += 1 }
            if written > 0 { try self.advanceContractsRevision(db) }
            try self.indexCustomerNames(db)
            for alert in alerts {
                try self.raise(alert, runId: runId, at: at, db)
            }
            try self.write(checkpoint, job: job, db)
            try db.cachedStatement(sql: "UPDATE sync_runs SET pages = pages + 1, records = records + ?, written = written + ? WHERE id = ?")
                .execute(arguments: [contracts.count, written, runId])
            return written
        }
    }

    @discardableResult
    public func finishRun(_ runId: Int64, outcome: SyncRunOutcome, message: String?, milesTotal: Int?, endedAt: Timestamp) async throws -> Int {
        try transaction { db in
            let stored = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contracts") ?? 0
            try db.execute(sql: """
                UPDATE sync_runs SET ended_at = ?, outcome = ?, message = ?, miles_total = ?, stored_total = ? WHERE id = ?
                """, arguments: [endedAt.millisecondsSinceEpoch, outcome.rawValue, message, milesTotal, stored, runId])
            return stored
        }
    }

    public func runs(job: String, limit: Int) async throws -> [SyncRun] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM sync_runs WHERE job = ? ORDER BY id DESC LIMIT ?"), arguments: [job, limit]).map { row in
                SyncRun(
                    id: row["id"], job: row["job"], mode: row["mode"],
                    startedAt: Timestamp(millisecondsSinceEpoch: row["started_at"]),
                    endedAt: (row["ended_at"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)),
                    pages: row["pages"], records: row["records"], written: row["written"],
                    outcome: SyncRunOutcome(rawValue: row["outcome"]) ?? .failed, message: row["message"],
                    milesTotal: row["miles_total"], storedTotal: row["stored_total"])
            }
        }
    }

    public func statusCodeCounts() async throws -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status_code, COUNT(*) AS n FROM contracts GROUP BY status_code") {
                counts[row["status_code"]] = row["n"]
            }
            return counts
        }
    }

    public func riskSnapshots(contractNumbers: [String], arrearsKept: Int) async throws -> [String: RiskSnapshot] {
        // The page's numbers go in as one JSON array: two statements a page, not two a contract.
        let numbers = JSONArguments.array(contractNumbers)
        return try read { db in
            var snapshots: [String: RiskSnapshot] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: """
                SELECT c.contract_number, c.currency, c.arrears_amount, p.vulnerable,
                    (SELECT coalesce(sum(i.open_amount), 0) FROM invoices i WHERE i.contract_number = c.contract_number) AS open
                FROM json_each(?) j JOIN contracts c ON c.contract_number = j.value JOIN customers p ON p.partner_id = c.partner_id
                """), arguments: [numbers]) {
                let currency = try CurrencyCode(row["currency"])
                snapshots[row["contract_number"]] = RiskSnapshot(
                    earlierArrears: [Money(minorUnits: row["arrears_amount"], currency: currency)],
                    openBalance: Money(minorUnits: row["open"], currency: currency), wasVulnerable: row["vulnerable"])
            }
            // Only contracts the store holds can have arrears history: none, for a page a first sync brings.
            guard arrearsKept > 1, !snapshots.isEmpty else { return snapshots }
            // Before the arrears the store holds, those they replaced, latest last.
            for row in try Row.fetchAll(db.cachedStatement(sql: """
                SELECT contract_number, amount FROM (
                    SELECT h.contract_number, h.amount, h.id,
                        row_number() OVER (PARTITION BY h.contract_number ORDER BY h.id DESC) AS latest
                    FROM json_each(?) j JOIN arrears_history h ON h.contract_number = j.value)
                WHERE latest < ? ORDER BY contract_number, id DESC
                """), arguments: [JSONArguments.array(Array(snapshots.keys)), arrearsKept]) {
                let number: String = row["contract_number"]
                guard var snapshot = snapshots[number] else { continue }
                snapshot.earlierArrears.insert(Money(minorUnits: row["amount"], currency: snapshot.openBalance.currency), at: 0)
                snapshots[number] = snapshot
            }
            return snapshots
        }
    }

    func advanceContractsRevision(_ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE contracts_revision SET revision = revision + 1").execute()
    }

    /// Brings the customer-name index up to date with the names the triggers noted as changed:
    /// the name each customer had when first noted is the one indexed, so it is removed, and the
    /// current name of each customer still there is added.
    func indexCustomerNames(_ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO customer_names (customer_names, rowid, name)
            SELECT 'delete', customer_id, old_name FROM customer_name_changes
            WHERE rowid IN (SELECT min(rowid) FROM customer_name_changes GROUP BY customer_id) AND old_name IS NOT NULL
            """).execute()
        try db.cachedStatement(sql: """
            INSERT INTO customer_names (rowid, name)
            SELECT id, name FROM customers WHERE id IN (SELECT customer_id FROM customer_name_changes)
            """).execute()
        try db.cachedStatement(sql: "DELETE FROM customer_name_changes").execute()
    }

    public func contractsRevision() async throws -> Int64 {
        try read { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT revision FROM contracts_revision")) ?? 0 }
    }

    public func contractCount() async throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contracts") ?? 0 }
    }

    public func searchContracts(matching text: String, limit: Int) async throws -> [Contract] {
        let query = text.trimmingCharacters(in: .whitespaces)
        guard !query.isEmpty, limit > 0 else { return [] }
        let escaped = query.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        let postcode = escaped.replacingOccurrences(of: " ", with: "")
        let nameQuery = Self.customerNameQuery(query)
        return try read { db in
            // Each look-up reads an index and stops at `limit`: a number or a postcode from its
            // start (case-insensitive, spaces in a postcode ignored), a name by the starts of its words.
            var numbers = Set(try String.fetchAll(db.cachedStatement(sql: """
                SELECT contract_number FROM contracts WHERE contract_number LIKE ? ESCAPE '\\'
                ORDER BY contract_number COLLATE NOCASE LIMIT ?
                """), arguments: [escaped + "%", limit]))
            // Postcodes start with a letter; SQLite would not use the index for a pattern of digits.
            if postcode.first?.isLetter == true {
                numbers.formUnion(try String.fetchAll(db.cachedStatement(sql: """
                    SELECT c.contract_number FROM customers p JOIN contracts c ON c.partner_id = p.partner_id
                    WHERE replace(p.postcode, ' ', '') LIKE ? ESCAPE '\\' LIMIT ?
                    """), arguments: [postcode + "%", limit]))
            }
            if let nameQuery {
                numbers.formUnion(try String.fetchAll(db.cachedStatement(sql: """
                    SELECT c.contract_number FROM customer_names n JOIN customers p ON p.id = n.rowid
                    JOIN contracts c ON c.partner_id = p.partner_id WHERE customer_names MATCH ? LIMIT ?
                    """), arguments: [nameQuery, limit]))
            }
            return try numbers.sorted().prefix(limit).compactMap { try SQLiteSchema.contract(number: $0, db) }
        }
    }

    /// The full-text query for a customer's name: every word of `text` of two letters or more (the
    /// first six) must start a word of the name. The index keeps prefixes of two and three letters,
    /// and a one-letter prefix (the O of O'Brien) would merge every word with that letter: over a
    /// million customers that held the store for a third of a second. Words are quoted, so nothing
    /// in `text` is read as FTS5 syntax.
    static func customerNameQuery(_ text: String) -> String? {
        let words: [String] = text.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init).filter { $0.count > 1 }
        guard !words.isEmpty else { return nil }
        return words.prefix(6).map { "\"\($0)\"*" }.joined(separator: " ")
    }

    public func largestOpenBalances(by grouping: OpenBalanceGroup.Grouping, limit: Int) async throws -> [OpenBalanceGroup] {
        let key = grouping == .contract ? "c.contract_number" : "c.partner_id"
        return try read { db in
            // One pass over the invoices finds the largest; only their invoices are then read.
            let largest = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT \(key) AS key, c.currency, sum(i.open_amount) AS open FROM invoices i
                JOIN contracts c ON c.contract_number = i.contract_number
                GROUP BY \(key), c.currency HAVING open > 0 ORDER BY open DESC, key LIMIT ?
                """), arguments: [limit])
            let invoicesOf = try db.cachedStatement(sql: """
                SELECT i.*, p.name AS customer_name FROM invoices i JOIN contracts c ON c.contract_number = i.contract_number
                JOIN customers p ON p.partner_id = c.partner_id
                WHERE \(key) = ? AND c.currency = ? ORDER BY i.contract_number, i.position
                """)
            return try largest.map { row in
                let currency = try CurrencyCode(row["currency"])
                let invoices = try Row.fetchAll(invoicesOf, arguments: [row["key"], currency.code])
                return OpenBalanceGroup(key: row["key"], customerName: invoices.first?["customer_name"] ?? "", currency: currency,
                                        invoices: try invoices.map { try SQLiteSchema.invoice(from: $0, currency: currency) })
            }
        }
    }

    public func contracts(after contractNumber: String?, limit: Int) async throws -> [Contract] {
        try read { db in
            let rows = try Row.fetchCursor(db, sql: "\(SQLiteSchema.contractSelect) WHERE c.contract_number > ? ORDER BY c.contract_number LIMIT ?",
                                           arguments: [contractNumber ?? "", limit])
            var page: [Contract] = []
            while let row = try rows.next() { page.append(try SQLiteSchema.contract(from: row, db)) }
            return page
        }
    }

    public func openInvoices(after cursor: OpenInvoicePage.Cursor?, limit: Int) async throws -> OpenInvoicePage {
        try read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT i.*, c.currency FROM invoices i JOIN contracts c ON c.contract_number = i.contract_number
                WHERE (i.contract_number, i.position) > (?, ?) ORDER BY i.contract_number, i.position LIMIT ?
                """, arguments: [cursor?.contractNumber ?? "", cursor?.position ?? -1, limit])
            var invoices: [Invoice] = []
            var last: OpenInvoicePage.Cursor?
            while let row = try rows.next() {
                invoices.append(try SQLiteSchema.invoice(from: row, currency: try CurrencyCode(row["currency"])))
                last = OpenInvoicePage.Cursor(contractNumber: row["contract_number"], position: row["position"])
            }
            return OpenInvoicePage(invoices: invoices, next: invoices.count == limit ? last : nil)
        }
    }

    public func contract(number: String) async throws -> Contract? {
        try read { db in
            try SQLiteSchema.contract(number: number, db)
        }
    }
}
