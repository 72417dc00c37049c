import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore {
    public func queueLetter(contractNumber: String, type: LetterType, by actor: String, at: Timestamp) async throws -> RequestCreation {
        try transaction { db in
            if let queued = try Int64.fetchOne(db, sql: """
                SELECT id FROM letter_requests WHERE contract_number = ? AND letter_type = ? AND state = 'queued' ORDER BY id LIMIT 1
                """, arguments: [contractNumber, type.rawValue]) {
                return .alreadyRequested(id: queued)
            }
            try db.execute(sql: """
                INSERT INTO letter_requests (contract_number, letter_type, requested_by, requested_at, state) VALUES (?, ?, ?, ?, 'queued')
                """, arguments: [contractNumber, type.rawValue, actor, at.millisecondsSinceEpoch])
            let id = db.lastInsertedRowID
            let entryId = try OutboxDoor(db).enqueue(.requestCustomerLetter, subjectId: id, at: at)
            try self.audit(db, at: at, actor: actor, action: "letter.requested", subject: "contract:\(contractNumber)",
                           details: "\(type.rawValue), letter \(id), outbox \(entryId)")
            return .created(id: id)
        }
    }

    public func letterRequest(id: Int64) async throws -> LetterRequest? {
        try read { db in try self.letterRequest(id: id, db) }
    }

    func letterRequest(id: Int64, _ db: Database) throws -> LetterRequest? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM letter_requests WHERE id = ?"), arguments: [id]).map(Self.letterRequest)
    }

    public func letterRequests(contractNumber: String) async throws -> [LetterRequest] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM letter_requests WHERE contract_number = ? ORDER BY id", arguments: [contractNumber])
                .map(Self.letterRequest)
        }
    }

    public func letterBacking(contractNumber: String) async throws -> LetterBacking {
        try read { db in
            LetterBacking(
                arrangementAgreed: try Bool.fetchOne(db, sql: """
                    SELECT EXISTS (SELECT 1 FROM arrangements WHERE contract_number = ? AND state = 'active')
                    """, arguments: [contractNumber]) ?? false,
                partialWriteOffPosted: try Bool.fetchOne(db, sql: """
                    SELECT EXISTS (SELECT 1 FROM writeoff_requests w WHERE w.contract_number = ? AND w.state = 'posted' AND w.customer_must_be_told
                        AND w.amount > (SELECT coalesce(sum(r.amount), 0) FROM writeoff_reversals r WHERE r.writeoff_request_id = w.id AND r.state = 'posted'))
                    """, arguments: [contractNumber]) ?? false)
        }
    }

    public func recordLetterIssued(_ entry: OutboxEntry, letter: IssuedLetter, at: Timestamp) async throws {
        try transaction { db in
            let id = try self.markSent(entry, result: letter.letterId, at: at, db)
            guard let request = try self.letterRequest(id: id, db) else {
                throw StoreError(.notFound, input: "outbox entry \(entry.id)", "outbox entry \(entry.id) carries no letter")
            }
            try db.execute(sql: """
                UPDATE letter_requests SET state = 'issued', miles_letter_id = ?, serve_date = ?, remedy_date = ?, failure_reason = NULL WHERE id = ?
                """, arguments: [letter.letterId, letter.serveDate.daysSinceEpoch, letter.remedyDate?.daysSinceEpoch, id])
            // The guards read notices: the ones MILES serves are recorded with MILES's dates, never typed ones.
            switch request.type {
            case .arrearsNotice:
                try db.execute(sql: "INSERT INTO notices (contract_number, kind, sent_on, recorded_by) VALUES (?, 'arrears', ?, ?)",
                               arguments: [request.contractNumber, letter.serveDate.daysSinceEpoch, "MILES \(letter.letterId)"])
            case .defaultNotice:
                guard let remedy = letter.remedyDate else {
                    throw StoreError(.corruptRecord, input: "letter \(id)", "MILES served default notice \(letter.letterId) without a remedy date")
                }
                try db.execute(sql: """
                    INSERT INTO notices (contract_number, kind, sent_on, remedy_date, recorded_by) VALUES (?, 'default', ?, ?, ?)
                    """, arguments: [request.contractNumber, letter.serveDate.daysSinceEpoch, remedy.daysSinceEpoch, "MILES \(letter.letterId)"])
            case .partialWriteOffNotice, .arrangementConfirmation:
                break
            }
            try self.audit(db, at: at, actor: "outbox-relay", action: "letter.issued", subject: "contract:\(request.contractNumber)",
                           details: "\(request.type.rawValue) MILES \(letter.letterId), served \(letter.serveDate)"
                            + (letter.remedyDate.map { ", remedy by \($0)" } ?? "") + ", reference \(letter.clientReference)")
        }
    }

    static func letterRequest(_ row: Row) throws -> LetterRequest {
        let id: Int64 = row["id"]
        guard let type = LetterType(rawValue: row["letter_type"]), let state = LetterRequest.State(rawValue: row["state"]) else {
            throw StoreError(.corruptRecord, input: "letter \(id)", "letter \(id) has an unknown type or state in the store")
        }
        return LetterRequest(
            id: id, contractNumber: row["contract_number"], type: type, requestedBy: row["requested_by"],
            requestedAt: Timestamp(millisecondsSinceEpoch: row["requested_at"]), state: state, milesLetterId: row["miles_letter_id"],
            serveDate: (row["serve_date"] as Int32?).map(LocalDate.init(daysSinceEpoch:)),
            remedyDate: (row["remedy_date"] as Int32?).map(LocalDate.init(daysSinceEpoch:)), failureReason: row["failure_reason"])
    }
}
