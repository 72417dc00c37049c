import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore {
    public func note(id: Int64) async throws -> ContractNote? {
        try await read { connection in try await note(id: id, on: connection) }
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
        try await transaction { connection in
            let noteId = try await markSent(entry, result: milesNoteId, at: at, on: connection)
            try await connection.query("UPDATE contract_notes SET state = 'added', miles_note_id = \(milesNoteId) WHERE id = \(noteId)", logger: logger)
            try await audit(connection, at: at, actor: "outbox-relay", action: "note.added", subject: "note:\(noteId)", details: "MILES note \(milesNoteId)")
        }
    }
}
