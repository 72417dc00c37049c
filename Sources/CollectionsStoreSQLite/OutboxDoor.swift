import CollectionsDomain
import CollectionsStore
import GRDB

/// The one way into the outbox. Every entry, whatever its kind, is written here inside the
/// transaction of the business record it carries, with the kind and client reference that
/// `OutboxKind` defines, the same definition the relay reconciles on.
///
/// Open one door per transaction: its statement is prepared once, so a batch of thousands of
/// notes pays the preparation once.
///
/// ```swift
/// let door = try OutboxDoor(db)
/// let entryId = try door.enqueue(.postWriteOff, subjectId: requestId, at: now)
/// ```
struct OutboxDoor {
    private let database: Database
    private let insert: BulkInsert

    init(_ db: Database) throws {
        database = db
        insert = try BulkInsert(db, sql: """
            INSERT INTO outbox (kind, client_reference, subject_id, state, next_attempt_at, created_at, updated_at)
            VALUES (?, ?, ?, 'pending', ?, ?, ?)
            """)
    }

    /// Queues the record `subjectId` of `kind`, due at once; returns the entry's id.
    @discardableResult
    func enqueue(_ kind: OutboxKind, subjectId: Int64, at: Timestamp) throws -> Int64 {
        insert.bind(1, kind.rawValue)
        insert.bind(2, kind.clientReference(forSubject: subjectId))
        insert.bind(3, subjectId)
        insert.bind(4, at.millisecondsSinceEpoch)
        insert.bind(5, at.millisecondsSinceEpoch)
        insert.bind(6, at.millisecondsSinceEpoch)
        try insert.run()
        return database.lastInsertedRowID
    }
}
