import CollectionsDomain
import CollectionsStore
import GRDB

/// The one way into the outbox. Every entry, whatever its kind, is written here inside the
/// transaction of the business record it carries, with the kind and client reference that
/// `OutboxKind` defines, the same definition the relay reconciles on.
///
/// A door prepares its statement when it is opened: a transaction that queues many records opens
/// one door for all of them.
///
/// ```swift
/// let door = try OutboxDoor(db)
/// let entryId = try door.enqueue(.postWriteOff, subjectId: requestId, at: now)
/// try door.enqueueRecords(of: .addContractNote, after: lastNoteBefore)   // a batch's notes, one statement
/// ```
struct OutboxDoor {
    /// Every entry goes in through this: the columns are named once.
    private static let insertInto = "INSERT INTO outbox (kind, client_reference, subject_id, state, next_attempt_at, created_at, updated_at)"

    private let database: Database
    private let insert: BulkInsert

    init(_ db: Database) throws {
        database = db
        insert = try BulkInsert(db, sql: "\(Self.insertInto) VALUES (?, ?, ?, 'pending', ?, ?, ?)")
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

    /// Queues every record of `kind` stored after record `id`, in id order, each due at the time it
    /// was requested: one statement for a whole batch, where one insert per record cost the ingest
    /// about a tenth of its speed. The reference is `OutboxKind`'s prefix and the record's id.
    func enqueueRecords(of kind: OutboxKind, after id: Int64) throws {
        let table = Self.recordTable(of: kind)
        try database.execute(sql: """
            \(Self.insertInto)
            SELECT ?, ? || id, id, 'pending', requested_at, requested_at, requested_at FROM \(table) WHERE id > ? ORDER BY id
            """, arguments: [kind.rawValue, kind.referencePrefix, id])
    }

    /// The table of the business records an entry of `kind` carries.
    static func recordTable(of kind: OutboxKind) -> String {
        switch kind {
        case .postWriteOff: "writeoff_requests"
        case .updateContractStatus: "status_changes"
        case .addContractNote: "contract_notes"
        case .updateContactDetails: "contact_changes"
        case .raiseCreditNote: "credit_notes"
        case .reverseWriteOff: "writeoff_reversals"
        case .requestCustomerLetter: "letter_requests"
        case .createPaymentArrangement, .cancelPaymentArrangement: "arrangements"
        case .allocatePayment, .reverseAllocation: "payment_allocations"
        }
    }
}
