import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore {
    public func queueNote(_ note: ContractNote) async throws -> Int64 {
        try transaction { db in
            let id = try self.queueNote(note, db)
            try self.audit(db, at: note.requestedAt, actor: note.requestedBy, action: "note.queued", subject: "contract:\(note.contractNumber)",
                      details: "\(note.category) from \(note.source): \(note.text)")
            return id
        }
    }

    /// Stores the note and its outbox entry inside the caller's transaction.
    func queueNote(_ note: ContractNote, _ db: Database) throws -> Int64 {
        try db.cachedStatement(sql: """
            INSERT INTO contract_notes (contract_number, category, text, source, requested_by, requested_at, state)
            VALUES (?, ?, ?, ?, ?, ?, 'queued')
            """).execute(arguments: [note.contractNumber, note.category, note.text, note.source, note.requestedBy,
                                     note.requestedAt.millisecondsSinceEpoch])
        let id = db.lastInsertedRowID
        try OutboxDoor(db).enqueue(.addContractNote, subjectId: id, at: note.requestedAt)
        return id
    }

    public func note(id: Int64) async throws -> ContractNote? {
        try read { db in try self.note(id: id, db) }
    }

    /// Read inside the caller's transaction.
    func note(id: Int64, _ db: Database) throws -> ContractNote? {
        try Row.fetchOne(db, sql: "SELECT * FROM contract_notes WHERE id = ?", arguments: [id]).map { row in
            ContractNote(id: row["id"], contractNumber: row["contract_number"], category: row["category"], text: row["text"],
                         source: row["source"], requestedBy: row["requested_by"],
                         requestedAt: Timestamp(millisecondsSinceEpoch: row["requested_at"]),
                         state: ContractNote.State(rawValue: row["state"]) ?? .failed, milesNoteId: row["miles_note_id"])
        }
    }

    public func recordNoteAdded(_ entry: OutboxEntry, milesNoteId: String, at: Timestamp) async throws {
        try transaction { db in
            let noteId = try self.markSent(entry, result: milesNoteId, at: at, db)
            try db.execute(sql: "UPDATE contract_notes SET state = 'added', miles_note_id = ? WHERE id = ?", arguments: [milesNoteId, noteId])
            try self.audit(db, at: at, actor: "outbox-relay", action: "note.added", subject: "note:\(noteId)", details: "MILES note \(milesNoteId)")
        }
    }
}
