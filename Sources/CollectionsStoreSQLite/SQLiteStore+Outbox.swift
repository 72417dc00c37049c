import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore {
    public func dueOutboxEntries(now: Timestamp, limit: Int) async throws -> [OutboxEntry] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM outbox WHERE (state = 'pending' AND next_attempt_at <= ?) OR state = 'sending' ORDER BY id LIMIT ?
                """, arguments: [now.millisecondsSinceEpoch, limit]).map(Self.outboxEntry)
        }
    }

    public func outboxEntries(state: OutboxEntry.State?) async throws -> [OutboxEntry] {
        try read { db in
            try (state.map { try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE state = ? ORDER BY id", arguments: [$0.rawValue]) }
                ?? Row.fetchAll(db, sql: "SELECT * FROM outbox ORDER BY id")).map(Self.outboxEntry)
        }
    }

    public func subjects(of entries: [OutboxEntry]) async throws -> [Int64: OutboxSubject] {
        try read { db in
            var subjects: [Int64: OutboxSubject] = [:]
            for entry in entries {
                let id = entry.subjectId
                switch entry.kind {
                case .postWriteOff: subjects[entry.id] = try self.writeOffRequest(id: id, db).map(OutboxSubject.writeOff)
                case .updateContractStatus: subjects[entry.id] = try self.statusChange(id: id, db).map(OutboxSubject.statusChange)
                case .addContractNote: subjects[entry.id] = try self.note(id: id, db).map(OutboxSubject.note)
                case .updateContactDetails: subjects[entry.id] = try self.contactChange(id: id, db).map(OutboxSubject.contactChange)
                case .raiseCreditNote: subjects[entry.id] = try self.creditNote(id: id, db).map(OutboxSubject.creditNote)
                case .reverseWriteOff: subjects[entry.id] = try self.writeOffReversal(id: id, db).map(OutboxSubject.writeOffReversal)
                case .requestCustomerLetter: subjects[entry.id] = try self.letterRequest(id: id, db).map(OutboxSubject.letter)
                case .createPaymentArrangement:
                    subjects[entry.id] = try self.arrangement(id: id, db).map { OutboxSubject.arrangement($0, cancellation: nil) }
                case .cancelPaymentArrangement:
                    let reason = try String.fetchOne(db, sql: "SELECT cancel_reason FROM arrangements WHERE id = ?", arguments: [id])
                    subjects[entry.id] = try self.arrangement(id: id, db).map { OutboxSubject.arrangement($0, cancellation: reason ?? "cancelled") }
                }
            }
            return subjects
        }
    }

    public func outboxCounts() async throws -> [OutboxEntry.State: Int] {
        try read { db in
            var counts: [OutboxEntry.State: Int] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT state, count(*) AS n FROM outbox GROUP BY state")) {
                if let state = OutboxEntry.State(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }

    public func outboxEntry(id: Int64) async throws -> OutboxEntry? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM outbox WHERE id = ?", arguments: [id]).map(Self.outboxEntry) }
    }

    public func markSending(_ entryId: Int64, at: Timestamp) async throws {
        try transaction { db in
            try db.cachedStatement(sql: "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ?")
                .execute(arguments: [at.millisecondsSinceEpoch, entryId])
            try self.audit(db, at: at, actor: "outbox-relay", action: "outbox.sending", subject: "outbox:\(entryId)", details: "push to MILES")
        }
    }

    public func recordWriteOffPosted(entryId: Int64, posted: PostedWriteOff, at: Timestamp) async throws {
        try transaction { db in
            let requestId = try self.subject(of: entryId, db)
            try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'sent', result_reference = ?, last_error = NULL, updated_at = ? WHERE id = ?
                """).execute(arguments: [posted.writeOffId, at.millisecondsSinceEpoch, entryId])
            try db.cachedStatement(sql: "UPDATE writeoff_requests SET state = 'posted', miles_writeoff_id = ?, failure_reason = NULL WHERE id = ?")
                .execute(arguments: [posted.writeOffId, requestId])
            try self.audit(db, at: at, actor: "outbox-relay", action: "writeoff.posted", subject: "writeoff:\(requestId)",
                      details: "MILES write-off \(posted.writeOffId) for \(posted.amount) on \(posted.contractNumber), "
                        + "contract version \(posted.contractVersion), reference \(posted.clientReference)")
        }
    }

    public func recordCreditPosted(entryId: Int64, posted: PostedCredit, at: Timestamp) async throws {
        try transaction { db in
            let id = try self.subject(of: entryId, db)
            let table = try self.subjectTable(of: entryId, db)
            try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'sent', result_reference = ?, last_error = NULL, updated_at = ? WHERE id = ?
                """).execute(arguments: [posted.milesId, at.millisecondsSinceEpoch, entryId])
            try db.execute(sql: "UPDATE \(table) SET state = 'posted', miles_reference = ?, failure_reason = NULL WHERE id = ?",
                           arguments: [posted.milesId, id])
            let record = try Self.creditTable(try Self.kind(of: entryId, db)).record
            try self.audit(db, at: at, actor: "outbox-relay", action: "\(record).posted", subject: "\(record):\(id)",
                      details: "MILES \(posted.milesId) for \(posted.amount) on \(posted.contractNumber), "
                        + "contract version \(posted.contractVersion), reference \(posted.clientReference)")
        }
    }

    public func recordRetry(entryId: Int64, error: String, nextAttemptAt: Timestamp, at: Timestamp) async throws {
        try transaction { db in
            try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'pending', last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?
                """).execute(arguments: [error, nextAttemptAt.millisecondsSinceEpoch, at.millisecondsSinceEpoch, entryId])
            try self.audit(db, at: at, actor: "outbox-relay", action: "outbox.retry-scheduled", subject: "outbox:\(entryId)",
                      details: "next attempt at \(nextAttemptAt): \(error)")
        }
    }

    public func recordDeadLetter(entryId: Int64, reason: String, at: Timestamp) async throws {
        try transaction { db in
            let requestId = try self.subject(of: entryId, db)
            try db.execute(sql: "UPDATE outbox SET state = 'deadLetter', last_error = ?, updated_at = ? WHERE id = ?",
                           arguments: [reason, at.millisecondsSinceEpoch, entryId])
            if try Self.kind(of: entryId, db) == .cancelPaymentArrangement {
                // The arrangement is still active in MILES: it stays active here, with why the cancellation failed.
                try db.execute(sql: "UPDATE arrangements SET failure_reason = ? WHERE id = ?", arguments: ["cancellation failed: " + reason, requestId])
            } else {
                try db.execute(sql: "UPDATE \(try self.subjectTable(of: entryId, db)) SET state = 'failed', failure_reason = ? WHERE id = ?",
                               arguments: [reason, requestId])
            }
            try self.audit(db, at: at, actor: "outbox-relay", action: "outbox.dead-lettered", subject: "outbox:\(entryId)", details: reason)
        }
    }

    public func retryOutboxEntry(id: Int64, by actor: String, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: """
                UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
                WHERE id = ? AND state IN ('deadLetter', 'skipped')
                """, arguments: [at.millisecondsSinceEpoch, at.millisecondsSinceEpoch, id])
            guard db.changesCount == 1 else {
                throw StoreError(.wrongState, input: "outbox entry \(id)",
                                 "outbox entry \(id) is not dead-lettered or skipped; only those can be retried")
            }
            let requestId = try self.subject(of: id, db)
            let table = try self.subjectTable(of: id, db)
            if let waiting = Self.waitingState(try Self.kind(of: id, db)) {
                try db.execute(sql: "UPDATE \(table) SET state = ? WHERE id = ?", arguments: [waiting, requestId])
            } else {
                try db.execute(sql: "UPDATE \(table) SET failure_reason = NULL WHERE id = ?", arguments: [requestId])
            }
            try self.audit(db, at: at, actor: actor, action: "outbox.retried", subject: "outbox:\(id)", details: "re-queued by \(actor)")
        }
    }

    public func skipOutboxEntry(id: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: """
                UPDATE outbox SET state = 'skipped', last_error = ?, updated_at = ? WHERE id = ? AND state IN ('pending', 'deadLetter')
                """, arguments: [reason, at.millisecondsSinceEpoch, id])
            guard db.changesCount == 1 else {
                throw StoreError(.wrongState, input: "outbox entry \(id)",
                                 "outbox entry \(id) is not pending or dead-lettered; only those can be skipped")
            }
            try self.audit(db, at: at, actor: actor, action: "outbox.skipped", subject: "outbox:\(id)", details: reason)
        }
    }

    /// The id of the record entry `entryId` carries.
    func subject(of entryId: Int64, _ db: Database) throws -> Int64 {
        guard let id = try Int64.fetchOne(db, sql: "SELECT subject_id FROM outbox WHERE id = ?", arguments: [entryId]) else {
            throw StoreError(.notFound, input: "outbox entry \(entryId)", "there is no outbox entry \(entryId)")
        }
        return id
    }

    /// The state a record waits in while its entry is pending: money decisions as approved, contract
    /// actions and letters as queued. Nil for a cancellation: the arrangement keeps the state it has
    /// (active, or closed after it broke).
    private static func waitingState(_ kind: OutboxKind) -> String? {
        switch kind {
        case .postWriteOff, .raiseCreditNote, .reverseWriteOff, .createPaymentArrangement: "approved"
        case .cancelPaymentArrangement: nil
        case .updateContractStatus, .addContractNote, .updateContactDetails, .requestCustomerLetter: "queued"
        }
    }

    static func kind(of entryId: Int64, _ db: Database) throws -> OutboxKind {
        guard let kind = try String.fetchOne(db, sql: "SELECT kind FROM outbox WHERE id = ?", arguments: [entryId]).flatMap(OutboxKind.init) else {
            throw StoreError(.notFound, input: "outbox entry \(entryId)", "there is no outbox entry \(entryId)")
        }
        return kind
    }

    /// The table of the business record an entry carries.
    private func subjectTable(of entryId: Int64, _ db: Database) throws -> String {
        OutboxDoor.recordTable(of: try Self.kind(of: entryId, db))
    }

    static func outboxEntry(_ row: Row) throws -> OutboxEntry {
        guard let kind = OutboxEntry.Kind(rawValue: row["kind"]), let state = OutboxEntry.State(rawValue: row["state"]) else {
            throw StoreError(.corruptRecord, input: "outbox entry \(row["id"] as Int64)", "outbox entry \(row["id"] as Int64) has an unknown kind or state")
        }
        return OutboxEntry(
            id: row["id"], kind: kind, clientReference: row["client_reference"], subjectId: row["subject_id"], state: state,
            attempts: row["attempts"], nextAttemptAt: Timestamp(millisecondsSinceEpoch: row["next_attempt_at"]),
            lastError: row["last_error"], resultReference: row["result_reference"],
            createdAt: Timestamp(millisecondsSinceEpoch: row["created_at"]), updatedAt: Timestamp(millisecondsSinceEpoch: row["updated_at"]))
    }
}
