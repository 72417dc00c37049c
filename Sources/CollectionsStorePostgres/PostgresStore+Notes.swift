import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore {
    public func queueNote(_ note: ContractNote) async throws -> Int64 {
        try await transaction { [self] connection in
            let id = try await queueNote(note, on: connection)
            try await audit(connection, at: note.requestedAt, actor: note.requestedBy, action: "note.queued", subject: "contract:\(note.contractNumber)",
                            details: "\(note.category) from \(note.source): \(note.text)")
            return id
        }
    }

    /// Stores the note and its outbox entry inside the caller's transaction.
    func queueNote(_ note: ContractNote, on connection: PostgresConnection) async throws -> Int64 {
        guard let id = try await rows("""
            INSERT INTO contract_notes (contract_number, category, text, source, requested_by, requested_at, state)
            VALUES (\(note.contractNumber), \(note.category), \(note.text), \(note.source), \(note.requestedBy),
                    \(note.requestedAt.millisecondsSinceEpoch), 'queued')
            RETURNING id
            """, on: connection).first?.value("id", as: Int64.self) else {
            throw StoreError(.corruptRecord, input: "note on \(note.contractNumber)", "the store gave no id for a new note on contract \(note.contractNumber)")
        }
        _ = try await enqueue(.addContractNote, subjectId: id, at: note.requestedAt, on: connection)
        return id
    }

    public func note(id: Int64) async throws -> ContractNote? {
        try await read { [self] connection in try await note(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func note(id: Int64, on connection: PostgresConnection) async throws -> ContractNote? {
        try await rows("SELECT * FROM contract_notes WHERE id = \(id)", on: connection).first.map { row in
            ContractNote(id: try row.value("id"), contractNumber: try row.value("contract_number"), category: try row.value("category"),
                         text: try row.value("text"), source: try row.value("source"), requestedBy: try row.value("requested_by"),
                         requestedAt: try row.timestamp("requested_at"),
                         state: ContractNote.State(rawValue: try row.value("state")) ?? .failed, milesNoteId: try row.value("miles_note_id"))
        }
    }

    public func recordNoteAdded(_ entry: OutboxEntry, milesNoteId: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let noteId = try await markSent(entry, result: milesNoteId, at: at, on: connection)
            try await connection.query("UPDATE contract_notes SET state = 'added', miles_note_id = \(milesNoteId) WHERE id = \(noteId)", logger: logger)
            try await audit(connection, at: at, actor: "outbox-relay", action: "note.added", subject: "note:\(noteId)", details: "MILES note \(milesNoteId)")
        }
    }
}
