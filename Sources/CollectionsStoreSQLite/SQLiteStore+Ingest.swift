import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore {
    public func receiveInboxFile(_ file: NewInboxFile) async throws -> (file: InboxFile, isNew: Bool) {
        try transaction { db in
            if let existing = try Row.fetchOne(db, sql: "SELECT * FROM inbox_files WHERE agent = ? AND sha256 = ?",
                                               arguments: [file.agent, file.sha256]) {
                try self.audit(db, at: file.receivedAt, actor: file.agent, action: "inbox.duplicate", subject: "inbox:\(existing["id"] as Int64)",
                          details: "\(file.originalName) via \(file.channel) has the content of delivery \(existing["id"] as Int64)")
                return (try Self.inboxFile(existing), false)
            }
            try db.execute(sql: """
                INSERT INTO inbox_files (agent, sha256, original_name, stored_path, size, channel, received_at, state)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'received')
                """, arguments: [file.agent, file.sha256, file.originalName, file.storedPath, file.size, file.channel,
                                 file.receivedAt.millisecondsSinceEpoch])
            let id = db.lastInsertedRowID
            try self.audit(db, at: file.receivedAt, actor: file.agent, action: "inbox.received", subject: "inbox:\(id)",
                      details: "\(file.originalName) via \(file.channel), \(file.size) bytes, sha256 \(file.sha256)")
            let row = try Row.fetchOne(db, sql: "SELECT * FROM inbox_files WHERE id = ?", arguments: [id])!
            return (try Self.inboxFile(row), true)
        }
    }

    public func inboxFile(id: Int64) async throws -> InboxFile? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM inbox_files WHERE id = ?", arguments: [id]).map(Self.inboxFile) }
    }

    public func inboxFiles(agent: String?, state: InboxFile.State?, limit: Int) async throws -> [InboxFile] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM inbox_files WHERE (?1 IS NULL OR agent = ?1) AND (?2 IS NULL OR state = ?2) ORDER BY id DESC LIMIT ?3
                """, arguments: [agent, state?.rawValue, limit]).map(Self.inboxFile)
        }
    }

    public func applyIngestBatch(fileId: Int64, throughLine: Int, rows: [IngestRow], by actor: String, at: Timestamp) async throws {
        try transaction { db in
            guard let done = try Int.fetchOne(db, sql: "SELECT lines_done FROM inbox_files WHERE id = ? AND state = 'received'",
                                              arguments: [fileId]) else {
                throw StoreError(.wrongState, input: "inbox delivery \(fileId)", "inbox delivery \(fileId) is not waiting to be processed")
            }
            // Prepared once for the batch: a million-row file runs these a million times each.
            let insertError = try BulkInsert(db, sql: """
                INSERT INTO ingest_row_errors (inbox_file_id, line, column_name, value, reason) VALUES (?, ?, ?, ?, ?)
                """)
            let insertUpdate = try BulkInsert(db, sql: """
                INSERT INTO third_party_updates (inbox_file_id, line, agent, contract_number, kind, details, outcome, refusal, received_at,
                    amount, currency, paid_on, agent_reference)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let insertNote = try BulkInsert(db, sql: """
                INSERT INTO contract_notes (contract_number, category, text, source, requested_by, requested_at, state)
                VALUES (?, ?, ?, ?, ?, ?, 'queued')
                """)
            let door = try OutboxDoor(db)
            let notesBefore = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM contract_notes") ?? 0
            var applied = 0, refused = 0, rejected = 0
            for row in rows {
                switch row {
                case let .rejected(line, column, value, reason):
                    guard line > done else { continue }
                    insertError.bind(1, fileId)
                    insertError.bind(2, line)
                    insertError.bind(3, column)
                    insertError.bind(4, value)
                    insertError.bind(5, reason)
                    try insertError.run()
                    rejected += 1
                case let .update(update, line, details, effects):
                    guard line > done else { continue }
                    var payment: (amount: Money, on: LocalDate, reference: String)?
                    if case let .paymentCollected(amount, on, reference) = update.kind { payment = (amount, on, reference) }
                    insertUpdate.bind(1, fileId)
                    insertUpdate.bind(2, line)
                    insertUpdate.bind(3, update.agent)
                    insertUpdate.bind(4, update.contractNumber)
                    insertUpdate.bind(5, update.kind.name)
                    insertUpdate.bind(6, details)
                    insertUpdate.bind(7, effects.refusal == nil ? "applied" : "refused")
                    insertUpdate.bind(8, effects.refusal)
                    insertUpdate.bind(9, at.millisecondsSinceEpoch)
                    insertUpdate.bind(10, payment?.amount.minorUnits)
                    insertUpdate.bind(11, payment?.amount.currency.code)
                    insertUpdate.bind(12, (payment?.on.daysSinceEpoch).map(Int64.init))
                    insertUpdate.bind(13, payment?.reference)
                    try insertUpdate.run()
                    if effects.refusal != nil {
                        refused += 1
                        continue
                    }
                    applied += 1
                    if let change = effects.statusChange { _ = try self.queueStatusChange(change, db) }
                    if let hold = effects.hold {
                        if let active = try Self.activeHold(like: hold, contractNumber: update.contractNumber, db) {
                            try self.audit(db, at: at, actor: hold.setBy, action: "hold.kept", subject: "contract:\(update.contractNumber)",
                                           details: ContractHold.kept(active, reported: hold))
                        } else {
                            try self.recordHold(hold, contractNumber: update.contractNumber, placedWith: effects.placedWith,
                                                instruction: effects.instruction, at: at, db)
                        }
                    }
                    if let change = effects.contactChange { try self.queueContactChange(change, door: door, db) }
                    if let alert = effects.alert { try self.raise(alert, runId: nil, at: at, db) }
                    if let reported = effects.reportedArrangement { try self.record(reported, at: at, db) }
                    if let note = effects.note {
                        insertNote.bind(1, note.contractNumber)
                        insertNote.bind(2, note.category)
                        insertNote.bind(3, note.text)
                        insertNote.bind(4, note.source)
                        insertNote.bind(5, note.requestedBy)
                        insertNote.bind(6, note.requestedAt.millisecondsSinceEpoch)
                        try insertNote.run()
                    }
                }
            }
            try door.enqueueRecords(of: .addContractNote, after: notesBefore)
            try db.execute(sql: """
                UPDATE inbox_files SET lines_done = ?, applied = applied + ?, refused = refused + ?, rejected = rejected + ? WHERE id = ?
                """, arguments: [throughLine, applied, refused, rejected, fileId])
            try self.audit(db, at: at, actor: actor, action: "inbox.batch", subject: "inbox:\(fileId)",
                      details: "lines \(done + 1)–\(throughLine): \(applied) applied, \(refused) refused by a guard, \(rejected) rejected")
        }
    }

    private func queueContactChange(_ change: ContactChange, door: OutboxDoor, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO contact_changes (contract_number, partner_id, expected_version, line1, line2, town, postcode, country, phone, email,
                source, requested_by, requested_at, state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued')
            """, arguments: [change.contractNumber, change.partnerId, change.expectedVersion, change.address?.line1, change.address?.line2,
                             change.address?.town, change.address?.postcode, change.address?.country, change.phone, change.email,
                             change.source, change.requestedBy, change.requestedAt.millisecondsSinceEpoch])
        let id = db.lastInsertedRowID
        try door.enqueue(.updateContactDetails, subjectId: id, at: change.requestedAt)
        try self.audit(db, at: change.requestedAt, actor: change.requestedBy, action: "contact.requested", subject: "partner:\(change.partnerId)",
                  details: "contact details change \(id) from \(change.source) on partner version \(change.expectedVersion)")
    }

    public func finishInboxFile(id: Int64, failure: String?, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: "UPDATE inbox_files SET state = ?, failure_reason = ?, finished_at = ? WHERE id = ? AND state = 'received'",
                           arguments: [failure == nil ? "processed" : "failed", failure, at.millisecondsSinceEpoch, id])
            guard db.changesCount == 1 else { throw StoreError(.wrongState, input: "inbox delivery \(id)", "inbox delivery \(id) is not waiting to be processed") }
            try self.audit(db, at: at, actor: "ingest", action: failure == nil ? "inbox.processed" : "inbox.failed", subject: "inbox:\(id)",
                      details: failure ?? "processed")
        }
    }

    public func ingestRowErrors(fileId: Int64, limit: Int) async throws -> [IngestRowError] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM ingest_row_errors WHERE inbox_file_id = ? ORDER BY line LIMIT ?",
                             arguments: [fileId, limit]).map { row in
                IngestRowError(line: row["line"], column: row["column_name"], value: row["value"], reason: row["reason"])
            }
        }
    }

    public func thirdPartyUpdates(fileId: Int64, limit: Int) async throws -> [StoredThirdPartyUpdate] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM third_party_updates WHERE inbox_file_id = ? ORDER BY line LIMIT ?", arguments: [fileId, limit])
                .map(Self.storedUpdate)
        }
    }

    public func refusedUpdates(limit: Int) async throws -> [StoredThirdPartyUpdate] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM third_party_updates WHERE outcome = 'refused' ORDER BY id DESC LIMIT ?", arguments: [limit])
                .map(Self.storedUpdate)
        }
    }

    public func contactChange(id: Int64) async throws -> ContactChange? {
        try read { db in try self.contactChange(id: id, db) }
    }

    /// Read inside the caller's transaction.
    func contactChange(id: Int64, _ db: Database) throws -> ContactChange? {
        try Row.fetchOne(db, sql: "SELECT * FROM contact_changes WHERE id = ?", arguments: [id]).map { row in
            let line1: String? = row["line1"]
            let address = line1.map { PostalAddress(line1: $0, line2: row["line2"], town: row["town"] ?? "", postcode: row["postcode"] ?? "",
                                                    country: row["country"] ?? "GB") }
            return ContactChange(
                id: id, contractNumber: row["contract_number"], partnerId: row["partner_id"], expectedVersion: row["expected_version"],
                address: address, phone: row["phone"], email: row["email"], source: row["source"], requestedBy: row["requested_by"],
                requestedAt: Timestamp(millisecondsSinceEpoch: row["requested_at"]),
                state: ContactChange.State(rawValue: row["state"]) ?? .failed, milesVersion: row["miles_version"])
        }
    }

    public func recordContactChangeApplied(_ entry: OutboxEntry, milesVersion: Int64, at: Timestamp) async throws {
        guard let change = try await contactChange(id: entry.subjectId) else {
            throw StoreError(.notFound, input: "outbox entry \(entry.id)", "there is no contact-details outbox entry \(entry.id)")
        }
        let changeId = entry.subjectId
        try transaction { db in
            _ = try self.markSent(entry, result: "partner version \(milesVersion)", at: at, db)
            try db.execute(sql: "UPDATE contact_changes SET state = 'applied', miles_version = ?, failure_reason = NULL WHERE id = ?",
                           arguments: [milesVersion, changeId])
            // The store shows what MILES now holds, before the next sync brings it.
            if let address = change.address {
                try db.execute(sql: "UPDATE customers SET line1 = ?, line2 = ?, town = ?, postcode = ?, country = ? WHERE partner_id = ?",
                               arguments: [address.line1, address.line2, address.town, address.postcode, address.country, change.partnerId])
            }
            if let phone = change.phone,
               let phones = try String.fetchOne(db, sql: "SELECT phones FROM customers WHERE partner_id = ?", arguments: [change.partnerId]) {
                let others = StoredPhones.split(phones)
                try db.execute(sql: "UPDATE customers SET phones = ? WHERE partner_id = ?",
                               arguments: [StoredPhones.join([phone] + others.filter { $0 != phone }), change.partnerId])
            }
            if let email = change.email {
                try db.execute(sql: "UPDATE customers SET email = ? WHERE partner_id = ?", arguments: [email, change.partnerId])
            }
            try db.execute(sql: "UPDATE customers SET version = max(version, ?) WHERE partner_id = ?", arguments: [milesVersion, change.partnerId])
            try self.audit(db, at: at, actor: "outbox-relay", action: "contact.applied", subject: "partner:\(change.partnerId)",
                      details: "contact details change \(changeId) applied in MILES as partner version \(milesVersion)")
        }
    }

    public func paymentsInTransit(contractNumber: String) async throws -> [PaymentNotification] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT u.* FROM third_party_updates u JOIN contracts c ON c.contract_number = u.contract_number
                WHERE u.contract_number = ? AND u.kind = 'paymentCollected' AND u.outcome = 'applied'
                    AND (u.bank_entry_id IS NULL OR NOT EXISTS (
                        SELECT 1 FROM payment_allocations a WHERE a.id = u.bank_entry_id AND a.state IN ('pending', 'allocated')))
                    AND (c.last_payment_date IS NULL OR c.last_payment_date < u.paid_on)
                ORDER BY u.id
                """, arguments: [contractNumber]).map { row in
                PaymentNotification(contractNumber: row["contract_number"], agent: row["agent"],
                                    amount: Money(minorUnits: row["amount"], currency: try CurrencyCode(row["currency"])),
                                    paidOn: LocalDate(daysSinceEpoch: row["paid_on"]), agentReference: row["agent_reference"])
            }
        }
    }

    public func ingestTotals() async throws -> IngestTotals {
        try read { db in
            let received = try Int.fetchOne(db, sql: "SELECT count(*) FROM third_party_updates") ?? 0
            let rejected = try Int.fetchOne(db, sql: "SELECT count(*) FROM ingest_row_errors") ?? 0
            let refused = try Int.fetchOne(db, sql: "SELECT count(*) FROM third_party_updates WHERE outcome = 'refused'") ?? 0
            return IngestTotals(received: received, rejected: rejected, refused: refused)
        }
    }

    static func inboxFile(_ row: Row) throws -> InboxFile {
        guard let state = InboxFile.State(rawValue: row["state"]) else {
            throw StoreError(.corruptRecord, input: "inbox delivery \(row["id"] as Int64)", "inbox delivery \(row["id"] as Int64) has an unknown state in the store")
        }
        return InboxFile(
            id: row["id"], agent: row["agent"], sha256: row["sha256"], originalName: row["original_name"], storedPath: row["stored_path"],
            size: row["size"], channel: row["channel"], receivedAt: Timestamp(millisecondsSinceEpoch: row["received_at"]), state: state,
            linesDone: row["lines_done"], applied: row["applied"], refused: row["refused"], rejected: row["rejected"],
            failureReason: row["failure_reason"], finishedAt: (row["finished_at"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)))
    }

    static func storedUpdate(_ row: Row) -> StoredThirdPartyUpdate {
        StoredThirdPartyUpdate(id: row["id"], inboxFileId: row["inbox_file_id"], line: row["line"], agent: row["agent"],
                               contractNumber: row["contract_number"], kind: row["kind"], details: row["details"], outcome: row["outcome"],
                               refusal: row["refusal"])
    }
}
