import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: SyncStore {
    public func checkpoint(job: String) async throws -> SyncCheckpoint {
        try await read { [self] connection in
            guard let row = try await rows("SELECT * FROM sync_checkpoints WHERE job = \(job)", on: connection).first else { return SyncCheckpoint() }
            func time(_ column: String) throws -> Timestamp? { try row.value(column, as: Int64?.self).map(Timestamp.init(millisecondsSinceEpoch:)) }
            var checkpoint = SyncCheckpoint(nextChangedSince: try time("next_changed_since"), highWaterMark: try time("high_water_mark"))
            if let cursor = try row.value("query_cursor", as: String?.self), let asOf = try time("query_as_of") {
                checkpoint.inProgress = SyncCheckpoint.QueryInProgress(
                    since: try time("query_since"), asOf: asOf, cursor: cursor, pagesDone: Int(try row.value("query_pages", as: Int32.self)),
                    received: Int(try row.value("query_received", as: Int32.self)), milesTotal: Int(try row.value("query_total", as: Int32.self)))
            }
            return checkpoint
        }
    }

    public func startRun(job: String, mode: String, startedAt: Timestamp) async throws -> Int64 {
        try await transaction { [self] connection in
            guard let row = try await rows("""
                INSERT INTO sync_runs (job, mode, started_at, outcome) VALUES (\(job), \(mode), \(startedAt.millisecondsSinceEpoch), 'running')
                RETURNING id
                """, on: connection).first else {
                throw StoreError(.corruptRecord, input: "sync run of \(job)", "the run ledger gave no id for a new run of \(job)")
            }
            return try row.value("id")
        }
    }

    public func commitPage(_ contracts: [Contract], checkpoint: SyncCheckpoint, job: String, runId: Int64, alerts: [RiskAlert],
                           at: Timestamp) async throws -> Int {
        try await transaction { [self] connection in
            try await lookUpByKeys(on: connection)
            let written = try await upsert(contracts, on: connection)
            for alert in alerts { try await raise(alert, runId: runId, at: at, on: connection) }
            let query = checkpoint.inProgress
            // The page's bookkeeping in one statement (a round trip each would be three a page): the
            // contracts' revision when the page changed any, the checkpoint that follows it, the run's counts.
            try await connection.query("""
                WITH revision AS (UPDATE contracts_revision SET revision = revision + 1 WHERE \(Int32(written)) > 0),
                checkpoint AS (
                    INSERT INTO sync_checkpoints (job, next_changed_since, high_water_mark, query_since, query_as_of, query_cursor,
                                                  query_pages, query_received, query_total)
                    VALUES (\(job), \(checkpoint.nextChangedSince?.millisecondsSinceEpoch), \(checkpoint.highWaterMark?.millisecondsSinceEpoch),
                            \(query?.since?.millisecondsSinceEpoch), \(query?.asOf.millisecondsSinceEpoch), \(query?.cursor),
                            \(Int32(query?.pagesDone ?? 0)), \(Int32(query?.received ?? 0)), \(Int32(query?.milesTotal ?? 0)))
                    ON CONFLICT (job) DO UPDATE SET next_changed_since = EXCLUDED.next_changed_since,
                        high_water_mark = EXCLUDED.high_water_mark, query_since = EXCLUDED.query_since, query_as_of = EXCLUDED.query_as_of,
                        query_cursor = EXCLUDED.query_cursor, query_pages = EXCLUDED.query_pages, query_received = EXCLUDED.query_received,
                        query_total = EXCLUDED.query_total)
                UPDATE sync_runs SET pages = pages + 1, records = records + \(Int32(contracts.count)), written = written + \(Int32(written))
                WHERE id = \(runId)
                """, logger: logger)
            return written
        }
    }

    /// The PostgreSQL store keeps its indexes through a first load: its page writes were measured and
    /// tuned with them (issue 15), and setting them aside there is not measured. Never a first load.
    public func beginFirstLoad() async throws -> Bool { false }

    public func endFirstLoad() async throws {}

    public func firstLoadUnderWay() async throws -> Bool { false }

    public func riskSnapshots(contractNumbers: [String], arrearsKept: Int) async throws -> [String: RiskSnapshot] {
        // One statement, so one snapshot of the store, with the arrears each contract's replaced (the
        // latest `arrearsKept - 1`, latest first) as an array beside it.
        try await transaction { [self] connection in
            try await lookUpByKeys(on: connection)
            var snapshots: [String: RiskSnapshot] = [:]
            for row in try await rows("""
                SELECT c.contract_number, c.currency, c.arrears_amount, p.vulnerable,
                    (SELECT coalesce(sum(i.open_amount), 0)::BIGINT FROM invoices i WHERE i.contract_number = c.contract_number) AS open,
                    ARRAY(SELECT h.amount FROM arrears_history h WHERE h.contract_number = c.contract_number
                          ORDER BY h.id DESC LIMIT \(Int64(max(arrearsKept - 1, 0)))) AS replaced
                FROM unnest(\(contractNumbers)::text[]) AS page (contract_number)
                JOIN contracts c ON c.contract_number = page.contract_number JOIN customers p ON p.partner_id = c.partner_id
                """, on: connection) {
                let currency = try CurrencyCode(try row.value("currency", as: String.self))
                let replaced = try row.value("replaced", as: [Int64].self)
                snapshots[try row.value("contract_number")] = RiskSnapshot(
                    earlierArrears: (replaced.reversed() + [try row.value("arrears_amount")]).map { Money(minorUnits: $0, currency: currency) },
                    openBalance: Money(minorUnits: try row.value("open"), currency: currency), wasVulnerable: try row.value("vulnerable"))
            }
            return snapshots
        }
    }

    @discardableResult
    public func finishRun(_ runId: Int64, outcome: SyncRunOutcome, message: String?, milesTotal: Int?, endedAt: Timestamp) async throws -> Int {
        try await transaction { [self] connection in
            let stored = Int(try await rows("SELECT count(*) AS n FROM contracts", on: connection).first?.value("n", as: Int64.self) ?? 0)
            try await connection.query("""
                UPDATE sync_runs SET ended_at = \(endedAt.millisecondsSinceEpoch), outcome = \(outcome.rawValue), message = \(message),
                    miles_total = \(milesTotal.map(Int32.init)), stored_total = \(Int32(stored)) WHERE id = \(runId)
                """, logger: logger)
            return stored
        }
    }

    public func runs(job: String, limit: Int) async throws -> [SyncRun] {
        try await read { [self] connection in
            try await rows("SELECT * FROM sync_runs WHERE job = \(job) ORDER BY id DESC LIMIT \(limit)", on: connection).map { row in
                SyncRun(
                    id: try row.value("id"), job: try row.value("job"), mode: try row.value("mode"),
                    startedAt: Timestamp(millisecondsSinceEpoch: try row.value("started_at")),
                    endedAt: try row.value("ended_at", as: Int64?.self).map(Timestamp.init(millisecondsSinceEpoch:)),
                    pages: Int(try row.value("pages", as: Int32.self)), records: Int(try row.value("records", as: Int32.self)),
                    written: Int(try row.value("written", as: Int32.self)),
                    outcome: SyncRunOutcome(rawValue: try row.value("outcome")) ?? .failed, message: try row.value("message"),
                    milesTotal: try row.value("miles_total", as: Int32?.self).map(Int.init),
                    storedTotal: try row.value("stored_total", as: Int32?.self).map(Int.init))
            }
        }
    }
}

extension PostgresStore {
    /// Makes the rest of the transaction find rows by their indexes, never by reading a table whole, and
    /// run its statements without JIT compiling them. A sync's statements reach a page's rows by key,
    /// which an index always serves best; but during a first sync the planner's statistics lag tables
    /// growing by a page a commit, and believing them small it scanned them whole, comparing each row
    /// with the page's thousand keys (70-360 ms a page instead of 2, and the sync's time doubled from one
    /// run to the next as autovacuum's statistics came early or late). And the estimate of the page's
    /// read passed `jit_above_cost` even with an index plan: the server compiled it each page, 10-70 ms
    /// to save microseconds. Set for the transaction only (`SET LOCAL`), so it reaches no other statement
    /// and passes through a pooler such as PgBouncer, which refuses settings given at connection. Both
    /// in one statement (`set_config(…, true)` is `SET LOCAL`): each statement is a round trip, paid
    /// twice a page.
    func lookUpByKeys(on connection: PostgresConnection) async throws {
        try await connection.query("SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)", logger: logger)
    }
}
