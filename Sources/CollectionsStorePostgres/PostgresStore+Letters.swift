import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore {
    public func queueLetter(contractNumber: String, type: LetterType, by actor: String, at: Timestamp) async throws -> RequestCreation {
        try await transaction { [self] connection in
            // Two requests for the same letter at once: the second waits here, then finds the first one queued.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("letter \(contractNumber) \(type.rawValue)")))", logger: logger)
            if let queued = try await rows("""
                SELECT id FROM letter_requests WHERE contract_number = \(contractNumber) AND letter_type = \(type.rawValue) AND state = 'queued'
                ORDER BY id LIMIT 1
                """, on: connection).first?.value("id", as: Int64.self) {
                return .alreadyRequested(id: queued)
            }
            guard let id = try await rows("""
                INSERT INTO letter_requests (contract_number, letter_type, requested_by, requested_at, state)
                VALUES (\(contractNumber), \(type.rawValue), \(actor), \(at.millisecondsSinceEpoch), 'queued')
                RETURNING id
                """, on: connection).first?.value("id", as: Int64.self) else {
                throw StoreError(.corruptRecord, input: "letter for \(contractNumber)", "the store gave no id for a new letter for contract \(contractNumber)")
            }
            let entryId = try await enqueue(.requestCustomerLetter, subjectId: id, at: at, on: connection)
            try await audit(connection, at: at, actor: actor, action: "letter.requested", subject: "contract:\(contractNumber)",
                            details: "\(type.rawValue), letter \(id), outbox \(entryId)")
            return .created(id: id)
        }
    }

    public func letterRequest(id: Int64) async throws -> LetterRequest? {
        try await read { [self] connection in try await letterRequest(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func letterRequest(id: Int64, on connection: PostgresConnection) async throws -> LetterRequest? {
        try await rows("SELECT * FROM letter_requests WHERE id = \(id)", on: connection).first.map(Self.letterRequest)
    }

    public func letterRequests(contractNumber: String) async throws -> [LetterRequest] {
        try await read { [self] connection in
            try await rows("SELECT * FROM letter_requests WHERE contract_number = \(contractNumber) ORDER BY id", on: connection).map(Self.letterRequest)
        }
    }

    public func letterBacking(contractNumber: String) async throws -> LetterBacking {
        try await read { [self] connection in
            let row = try await rows("""
                SELECT EXISTS (SELECT 1 FROM arrangements WHERE contract_number = \(contractNumber) AND state = 'active') AS agreed,
                    EXISTS (SELECT 1 FROM writeoff_requests w WHERE w.contract_number = \(contractNumber) AND w.state = 'posted' AND w.customer_must_be_told
                        AND w.amount > (SELECT coalesce(sum(r.amount), 0) FROM writeoff_reversals r WHERE r.writeoff_request_id = w.id AND r.state = 'posted')
                    ) AS told
                """, on: connection).first
            return LetterBacking(arrangementAgreed: try row?.value("agreed", as: Bool.self) ?? false,
                                 partialWriteOffPosted: try row?.value("told", as: Bool.self) ?? false)
        }
    }

    public func recordLetterIssued(_ entry: OutboxEntry, letter: IssuedLetter, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let id = try await markSent(entry, result: letter.letterId, at: at, on: connection)
            guard let request = try await letterRequest(id: id, on: connection) else {
                throw StoreError(.notFound, input: "outbox entry \(entry.id)", "outbox entry \(entry.id) carries no letter")
            }
            try await connection.query("""
                UPDATE letter_requests SET state = 'issued', miles_letter_id = \(letter.letterId), serve_date = \(letter.serveDate.daysSinceEpoch),
                    remedy_date = \(letter.remedyDate?.daysSinceEpoch), failure_reason = NULL
                WHERE id = \(id)
                """, logger: logger)
            // The guards read notices: the ones MILES serves are recorded with MILES's dates, never typed ones.
            switch request.type {
            case .arrearsNotice:
                try await connection.query("""
                    INSERT INTO notices (contract_number, kind, sent_on, recorded_by)
                    VALUES (\(request.contractNumber), 'arrears', \(letter.serveDate.daysSinceEpoch), \("MILES \(letter.letterId)"))
                    """, logger: logger)
            case .defaultNotice:
                guard let remedy = letter.remedyDate else {
                    throw StoreError(.corruptRecord, input: "letter \(id)", "MILES served default notice \(letter.letterId) without a remedy date")
                }
                try await connection.query("""
                    INSERT INTO notices (contract_number, kind, sent_on, remedy_date, recorded_by)
                    VALUES (\(request.contractNumber), 'default', \(letter.serveDate.daysSinceEpoch), \(remedy.daysSinceEpoch),
                            \("MILES \(letter.letterId)"))
                    """, logger: logger)
            case .partialWriteOffNotice, .arrangementConfirmation:
                break
            }
            try await audit(connection, at: at, actor: "outbox-relay", action: "letter.issued", subject: "contract:\(request.contractNumber)",
                            details: "\(request.type.rawValue) MILES \(letter.letterId), served \(letter.serveDate)"
                              + (letter.remedyDate.map { ", remedy by \($0)" } ?? "") + ", reference \(letter.clientReference)")
        }
    }

    static func letterRequest(_ row: PostgresRandomAccessRow) throws -> LetterRequest {
        let id = try row.value("id", as: Int64.self)
        guard let type = LetterType(rawValue: try row.value("letter_type")), let state = LetterRequest.State(rawValue: try row.value("state")) else {
            throw StoreError(.corruptRecord, input: "letter \(id)", "letter \(id) has an unknown type or state in the store")
        }
        return LetterRequest(
            id: id, contractNumber: try row.value("contract_number"), type: type, requestedBy: try row.value("requested_by"),
            requestedAt: try row.timestamp("requested_at"), state: state, milesLetterId: try row.value("miles_letter_id"),
            serveDate: try row.date("serve_date", as: LocalDate?.self), remedyDate: try row.date("remedy_date", as: LocalDate?.self),
            failureReason: try row.value("failure_reason"))
    }
}
