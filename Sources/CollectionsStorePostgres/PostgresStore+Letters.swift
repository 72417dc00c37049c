import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore {
    public func letterRequest(id: Int64) async throws -> LetterRequest? {
        try await read { connection in try await letterRequest(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func letterRequest(id: Int64, on connection: PostgresConnection) async throws -> LetterRequest? {
        try await rows("SELECT * FROM letter_requests WHERE id = \(id)", on: connection).first.map(Self.letterRequest)
    }

    public func letterRequests(contractNumber: String) async throws -> [LetterRequest] {
        try await read { connection in
            try await rows("SELECT * FROM letter_requests WHERE contract_number = \(contractNumber) ORDER BY id", on: connection).map(Self.letterRequest)
        }
    }

    public func recordLetterIssued(_ entry: OutboxEntry, letter: IssuedLetter, at: Timestamp) async throws {
        try await transaction { connection in
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
