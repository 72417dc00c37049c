import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: IngestStore {
    public func receiveInboxFile(_ file: NewInboxFile) async throws -> (file: InboxFile, isNew: Bool) {
        try await transaction { [self] connection in
            // The unique (agent, sha256) decides which of two processes receiving the same delivery records it; the other finds it.
            if let inserted = try await rows("""
                INSERT INTO inbox_files (agent, sha256, original_name, stored_path, size, channel, received_at, state)
                VALUES (\(file.agent), \(file.sha256), \(file.originalName), \(file.storedPath), \(file.size), \(file.channel),
                        \(file.receivedAt.millisecondsSinceEpoch), 'received')
                ON CONFLICT (agent, sha256) DO NOTHING RETURNING *
                """, on: connection).first {
                let received = try Self.inboxFile(inserted)
                try await audit(connection, at: file.receivedAt, actor: file.agent, action: "inbox.received", subject: "inbox:\(received.id)",
                                details: "\(file.originalName) via \(file.channel), \(file.size) bytes, sha256 \(file.sha256)")
                return (received, true)
            }
            guard let existing = try await rows("""
                SELECT * FROM inbox_files WHERE agent = \(file.agent) AND sha256 = \(file.sha256)
                """, on: connection).first.map(Self.inboxFile) else {
                throw StoreError(.changedMeanwhile, input: "delivery \(file.originalName)",
                                 "\(file.originalName) from \(file.agent) was neither recorded nor found in the inbox; receive it again")
            }
            try await audit(connection, at: file.receivedAt, actor: file.agent, action: "inbox.duplicate", subject: "inbox:\(existing.id)",
                            details: "\(file.originalName) via \(file.channel) has the content of delivery \(existing.id)")
            return (existing, false)
        }
    }

    public func inboxFile(id: Int64) async throws -> InboxFile? {
        try await read { [self] connection in try await rows("SELECT * FROM inbox_files WHERE id = \(id)", on: connection).first.map(Self.inboxFile) }
    }

    public func inboxFiles(agent: String?, state: InboxFile.State?, limit: Int) async throws -> [InboxFile] {
        try await read { [self] connection in
            try await rows("""
                SELECT * FROM inbox_files
                WHERE (\(agent)::text IS NULL OR agent = \(agent)) AND (\(state?.rawValue)::text IS NULL OR state = \(state?.rawValue))
                ORDER BY id DESC LIMIT \(limit)
                """, on: connection).map(Self.inboxFile)
        }
    }

    public func applyIngestBatch(fileId: Int64, throughLine: Int, rows decided: [IngestRow], by actor: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            // The delivery's row stays locked until the batch commits: a second process applying the
            // same batch waits, then finds its lines done.
            guard let done = try await rows("""
                SELECT lines_done FROM inbox_files WHERE id = \(fileId) AND state = 'received' FOR UPDATE
                """, on: connection).first?.value("lines_done", as: Int.self) else {
                throw StoreError(.wrongState, input: "inbox delivery \(fileId)", "inbox delivery \(fileId) is not waiting to be processed")
            }
            let batch = IngestBatchColumns(decided, after: done)
            var notesBefore: Int64 = 0
            if !batch.notes.contractNumbers.isEmpty {
                // The batch's notes are queued as every note after the highest id seen here, so no other
                // transaction may add one until this commits. Taken before the audit head, the order in
                // which every writer of notes takes the two: no deadlock.
                try await connection.query("LOCK TABLE contract_notes IN SHARE ROW EXCLUSIVE MODE", logger: logger)
                notesBefore = try await rows("SELECT coalesce(max(id), 0) AS id FROM contract_notes", on: connection).first?.value("id") ?? 0
            }
            try await insertRowErrors(batch.rowErrors, fileId: fileId, on: connection)
            try await insertUpdates(batch.updates, fileId: fileId, at: at, on: connection)
            try await lockHolds(of: batch.effects.compactMap { contractNumber, effects in effects.hold.map { ($0.kind, contractNumber) } },
                                on: connection)
            for (contractNumber, effects) in batch.effects {
                if let change = effects.statusChange { _ = try await queueStatusChange(change, on: connection) }
                if let hold = effects.hold {
                    if let active = try await activeHold(like: hold, contractNumber: contractNumber, on: connection) {
                        try await audit(connection, at: at, actor: hold.setBy, action: "hold.kept", subject: "contract:\(contractNumber)",
                                        details: ContractHold.kept(active, reported: hold))
                    } else {
                        try await recordHold(hold, contractNumber: contractNumber, placedWith: effects.placedWith, instruction: effects.instruction,
                                             at: at, on: connection)
                    }
                }
                if let change = effects.contactChange { try await queueContactChange(change, on: connection) }
                if let alert = effects.alert { try await raise(alert, runId: nil, at: at, on: connection) }
                if let reported = effects.reportedArrangement { try await record(reported, at: at, on: connection) }
            }
            if !batch.notes.contractNumbers.isEmpty {
                try await insertNotes(batch.notes, on: connection)
                try await enqueueRecords(of: .addContractNote, after: notesBefore, on: connection)
            }
            try await connection.query("""
                UPDATE inbox_files SET lines_done = \(throughLine), applied = applied + \(batch.applied), refused = refused + \(batch.refused),
                    rejected = rejected + \(batch.rowErrors.lines.count)
                WHERE id = \(fileId)
                """, logger: logger)
            try await audit(connection, at: at, actor: actor, action: "inbox.batch", subject: "inbox:\(fileId)",
                            details: "lines \(done + 1)–\(throughLine): \(batch.applied) applied, \(batch.refused) refused by a guard, "
                              + "\(batch.rowErrors.lines.count) rejected")
        }
    }

    /// The batch's rejected rows, in one statement.
    private func insertRowErrors(_ errors: IngestBatchColumns.RowErrors, fileId: Int64, on connection: PostgresConnection) async throws {
        guard !errors.lines.isEmpty else { return }
        try await connection.query("""
            INSERT INTO ingest_row_errors (inbox_file_id, line, column_name, value, reason)
            SELECT \(fileId), line, column_name, value, reason
            FROM unnest(\(errors.lines), \(errors.columns), \(errors.values), \(errors.reasons)) AS given (line, column_name, value, reason)
            """, logger: logger)
    }

    /// The batch's updates, applied or refused, in one statement and in line order (`refusedUpdates` lists them by id).
    private func insertUpdates(_ updates: IngestBatchColumns.Updates, fileId: Int64, at: Timestamp, on connection: PostgresConnection) async throws {
        guard !updates.lines.isEmpty else { return }
        try await connection.query("""
            INSERT INTO third_party_updates (inbox_file_id, line, agent, contract_number, kind, details, outcome, refusal, received_at,
                amount, currency, paid_on, agent_reference)
            SELECT \(fileId), line, agent, contract_number, kind, details, outcome, CASE WHEN outcome = 'refused' THEN refusal END,
                \(at.millisecondsSinceEpoch), CASE WHEN is_payment THEN amount END, CASE WHEN is_payment THEN currency END,
                CASE WHEN is_payment THEN paid_on END, CASE WHEN is_payment THEN agent_reference END
            FROM unnest(\(updates.lines), \(updates.agents), \(updates.contractNumbers), \(updates.kinds), \(updates.details), \(updates.outcomes),
                        \(updates.refusals), \(updates.isPayment), \(updates.amounts), \(updates.currencies), \(updates.paidOn),
                        \(updates.agentReferences))
                WITH ORDINALITY AS given (line, agent, contract_number, kind, details, outcome, refusal, is_payment, amount, currency, paid_on,
                                          agent_reference, position)
            ORDER BY position
            """, logger: logger)
    }

    /// The batch's notes, in one statement and in line order, for `enqueueRecords` to queue in that order.
    private func insertNotes(_ notes: IngestBatchColumns.Notes, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO contract_notes (contract_number, category, text, source, requested_by, requested_at, state)
            SELECT contract_number, category, text, source, requested_by, requested_at, 'queued'
            FROM unnest(\(notes.contractNumbers), \(notes.categories), \(notes.texts), \(notes.sources), \(notes.requestedBy), \(notes.requestedAt))
                WITH ORDINALITY AS given (contract_number, category, text, source, requested_by, requested_at, position)
            ORDER BY position
            """, logger: logger)
    }

    public func finishInboxFile(id: Int64, failure: String?, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let finished = try await rows("""
                UPDATE inbox_files SET state = \(failure == nil ? "processed" : "failed"), failure_reason = \(failure),
                    finished_at = \(at.millisecondsSinceEpoch)
                WHERE id = \(id) AND state = 'received' RETURNING id
                """, on: connection)
            guard !finished.isEmpty else {
                throw StoreError(.wrongState, input: "inbox delivery \(id)", "inbox delivery \(id) is not waiting to be processed")
            }
            try await audit(connection, at: at, actor: "ingest", action: failure == nil ? "inbox.processed" : "inbox.failed", subject: "inbox:\(id)",
                            details: failure ?? "processed")
        }
    }

    public func ingestRowErrors(fileId: Int64, limit: Int) async throws -> [IngestRowError] {
        try await read { [self] connection in
            try await rows("SELECT * FROM ingest_row_errors WHERE inbox_file_id = \(fileId) ORDER BY line LIMIT \(limit)", on: connection).map { row in
                IngestRowError(line: try row.value("line"), column: try row.value("column_name"), value: try row.value("value"),
                               reason: try row.value("reason"))
            }
        }
    }

    public func thirdPartyUpdates(fileId: Int64, limit: Int) async throws -> [StoredThirdPartyUpdate] {
        try await read { [self] connection in
            try await rows("SELECT * FROM third_party_updates WHERE inbox_file_id = \(fileId) ORDER BY line LIMIT \(limit)", on: connection)
                .map(Self.storedUpdate)
        }
    }

    public func refusedUpdates(limit: Int) async throws -> [StoredThirdPartyUpdate] {
        try await read { [self] connection in
            try await rows("SELECT * FROM third_party_updates WHERE outcome = 'refused' ORDER BY id DESC LIMIT \(limit)", on: connection)
                .map(Self.storedUpdate)
        }
    }

    public func paymentsInTransit(contractNumber: String) async throws -> [PaymentNotification] {
        try await read { [self] connection in
            try await rows("""
                SELECT u.* FROM third_party_updates u JOIN contracts c ON c.contract_number = u.contract_number
                WHERE u.contract_number = \(contractNumber) AND u.kind = 'paymentCollected' AND u.outcome = 'applied'
                    AND (u.bank_entry_id IS NULL OR NOT EXISTS (
                        SELECT 1 FROM payment_allocations a WHERE a.id = u.bank_entry_id AND a.state IN ('pending', 'allocated')))
                    AND (c.last_payment_date IS NULL OR c.last_payment_date < u.paid_on)
                ORDER BY u.id
                """, on: connection).map { row in
                PaymentNotification(contractNumber: try row.value("contract_number"), agent: try row.value("agent"),
                                    amount: Money(minorUnits: try row.value("amount"), currency: try CurrencyCode(try row.value("currency", as: String.self))),
                                    paidOn: try row.date("paid_on"), agentReference: try row.value("agent_reference"))
            }
        }
    }

    public func ingestTotals() async throws -> IngestTotals {
        try await read { [self] connection in
            let row = try await rows("""
                SELECT (SELECT count(*) FROM third_party_updates) AS received, (SELECT count(*) FROM ingest_row_errors) AS rejected,
                       (SELECT count(*) FROM third_party_updates WHERE outcome = 'refused') AS refused
                """, on: connection).first
            return IngestTotals(received: try row?.value("received") ?? 0, rejected: try row?.value("rejected") ?? 0,
                                refused: try row?.value("refused") ?? 0)
        }
    }

    static func inboxFile(_ row: PostgresRandomAccessRow) throws -> InboxFile {
        let id = try row.value("id", as: Int64.self)
        guard let state = InboxFile.State(rawValue: try row.value("state")) else {
            throw StoreError(.corruptRecord, input: "inbox delivery \(id)", "inbox delivery \(id) has an unknown state in the store")
        }
        return InboxFile(
            id: id, agent: try row.value("agent"), sha256: try row.value("sha256"), originalName: try row.value("original_name"),
            storedPath: try row.value("stored_path"), size: try row.value("size"), channel: try row.value("channel"),
            receivedAt: try row.timestamp("received_at"), state: state, linesDone: try row.value("lines_done"), applied: try row.value("applied"),
            refused: try row.value("refused"), rejected: try row.value("rejected"), failureReason: try row.value("failure_reason"),
            finishedAt: try row.timestamp("finished_at", as: Timestamp?.self))
    }

    static func storedUpdate(_ row: PostgresRandomAccessRow) throws -> StoredThirdPartyUpdate {
        StoredThirdPartyUpdate(id: try row.value("id"), inboxFileId: try row.value("inbox_file_id"), line: try row.value("line"),
                               agent: try row.value("agent"), contractNumber: try row.value("contract_number"), kind: try row.value("kind"),
                               details: try row.value("details"), outcome: try row.value("outcome"), refusal: try row.value("refusal"))
    }
}

/// A batch's rows not applied yet, as the columns of the tables they go into: each table's rows are
/// inserted with one statement for the whole batch. PostgresNIO binds no arrays of optionals, so an
/// optional value travels as a value and whether it is there (a payment's columns, a refusal).
private struct IngestBatchColumns {
    struct RowErrors {
        var lines: [Int] = [], columns: [String] = [], values: [String] = [], reasons: [String] = []
    }

    struct Updates {
        var lines: [Int] = [], agents: [String] = [], contractNumbers: [String] = [], kinds: [String] = [], details: [String] = []
        /// `applied` or `refused`; a refused update's refusal is in `refusals`, an applied one's is empty.
        var outcomes: [String] = [], refusals: [String] = []
        /// Whether the update reports a payment; a payment's columns are zero or empty for the others.
        var isPayment: [Bool] = [], amounts: [Int64] = [], currencies: [String] = [], paidOn: [Int32] = [], agentReferences: [String] = []
    }

    struct Notes {
        var contractNumbers: [String] = [], categories: [String] = [], texts: [String] = [], sources: [String] = [], requestedBy: [String] = []
        var requestedAt: [Int64] = []
    }

    var rowErrors = RowErrors()
    var updates = Updates()
    var notes = Notes()
    /// The applied updates' effects, in line order, with the contract each update is about (their notes are in `notes`).
    var effects: [(contractNumber: String, effects: IngestEffects)] = []
    var applied = 0
    var refused = 0

    /// The rows of `decided` after line `done`; those up to it were committed by an earlier batch.
    init(_ decided: [IngestRow], after done: Int) {
        for row in decided {
            switch row {
            case let .rejected(line, column, value, reason):
                guard line > done else { continue }
                rowErrors.lines.append(line)
                rowErrors.columns.append(column)
                rowErrors.values.append(value)
                rowErrors.reasons.append(reason)
            case let .update(update, line, details, effects):
                guard line > done else { continue }
                append(update, line: line, details: details, refusal: effects.refusal)
                if effects.refusal != nil {
                    refused += 1
                    continue
                }
                applied += 1
                self.effects.append((update.contractNumber, effects))
                if let note = effects.note {
                    notes.contractNumbers.append(note.contractNumber)
                    notes.categories.append(note.category)
                    notes.texts.append(note.text)
                    notes.sources.append(note.source)
                    notes.requestedBy.append(note.requestedBy)
                    notes.requestedAt.append(note.requestedAt.millisecondsSinceEpoch)
                }
            }
        }
    }

    private mutating func append(_ update: ThirdPartyUpdate, line: Int, details: String, refusal: String?) {
        updates.lines.append(line)
        updates.agents.append(update.agent)
        updates.contractNumbers.append(update.contractNumber)
        updates.kinds.append(update.kind.name)
        updates.details.append(details)
        updates.outcomes.append(refusal == nil ? "applied" : "refused")
        updates.refusals.append(refusal ?? "")
        if case let .paymentCollected(amount, on, reference) = update.kind {
            updates.isPayment.append(true)
            updates.amounts.append(amount.minorUnits)
            updates.currencies.append(amount.currency.code)
            updates.paidOn.append(on.daysSinceEpoch)
            updates.agentReferences.append(reference)
        } else {
            updates.isPayment.append(false)
            updates.amounts.append(0)
            updates.currencies.append("")
            updates.paidOn.append(0)
            updates.agentReferences.append("")
        }
    }
}
