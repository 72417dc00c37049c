import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore {
    public func creditNote(id: Int64) async throws -> CreditNoteRequest? {
        try await read { connection in try await creditNote(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func creditNote(id: Int64, on connection: PostgresConnection) async throws -> CreditNoteRequest? {
        try await creditNotes(rows("SELECT * FROM credit_notes WHERE id = \(id)", on: connection), on: connection).first
    }

    public func creditNotes(state: ApprovalTrail.State?) async throws -> [CreditNoteRequest] {
        try await read { connection in
            try await creditNotes(rows("""
                SELECT * FROM credit_notes WHERE \(state?.rawValue)::text IS NULL OR state = \(state?.rawValue) ORDER BY id
                """, on: connection), on: connection)
        }
    }

    public func writeOffReversal(id: Int64) async throws -> WriteOffReversal? {
        try await read { connection in try await writeOffReversal(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func writeOffReversal(id: Int64, on connection: PostgresConnection) async throws -> WriteOffReversal? {
        try await writeOffReversals(rows("SELECT * FROM writeoff_reversals WHERE id = \(id)", on: connection), on: connection).first
    }

    public func writeOffReversals(state: ApprovalTrail.State?) async throws -> [WriteOffReversal] {
        try await read { connection in
            try await writeOffReversals(rows("""
                SELECT * FROM writeoff_reversals WHERE \(state?.rawValue)::text IS NULL OR state = \(state?.rawValue) ORDER BY id
                """, on: connection), on: connection)
        }
    }

    public func recordCreditPosted(_ entry: OutboxEntry, posted: PostedCredit, at: Timestamp) async throws {
        let (table, record) = try Self.creditTable(entry.kind)
        try await transaction { connection in
            let id = try await markSent(entry, result: posted.milesId, at: at, on: connection)
            try await connection.query("""
                UPDATE \(unescaped: table) SET state = 'posted', miles_reference = \(posted.milesId), failure_reason = NULL WHERE id = \(id)
                """, logger: logger)
            try await audit(connection, at: at, actor: "outbox-relay", action: "\(record).posted", subject: "\(record):\(id)",
                            details: "MILES \(posted.milesId) for \(posted.amount) on \(posted.contractNumber), "
                              + "contract version \(posted.contractVersion), reference \(posted.clientReference)")
        }
    }

    /// The table of a money decision's records, and its name in the audit log.
    static func creditTable(_ kind: OutboxKind) throws -> (table: String, record: String) {
        switch kind {
        case .raiseCreditNote: ("credit_notes", "credit")
        case .reverseWriteOff: ("writeoff_reversals", "reversal")
        default: throw StoreError(.wrongState, input: kind.rawValue, "\(kind.recordName)s are not credit notes or reversals (a programming error)")
        }
    }

    /// The approvals of the decisions `ids` carried by `kind`, by decision, each in the order given.
    func decisionApprovals(_ kind: OutboxKind, ids: [Int64], on connection: PostgresConnection) async throws -> [Int64: [Approval]] {
        guard !ids.isEmpty else { return [:] }
        var approvals: [Int64: [Approval]] = [:]
        for row in try await rows("""
            SELECT * FROM decision_approvals WHERE kind = \(kind.rawValue) AND record_id = ANY(\(ids)) ORDER BY at, approver
            """, on: connection) {
            approvals[try row.value("record_id"), default: []].append(try Self.approval(row))
        }
        return approvals
    }

    private func creditNotes(_ found: [PostgresRandomAccessRow], on connection: PostgresConnection) async throws -> [CreditNoteRequest] {
        let approvals = try await decisionApprovals(.raiseCreditNote, ids: found.map { try $0.value("id") }, on: connection)
        return try found.map { row in
            let invoices = try row.value("invoice_numbers", as: String.self)
            return CreditNoteRequest(
                id: try row.value("id"), contractNumber: try row.value("contract_number"),
                invoiceNumbers: invoices.isEmpty ? [] : invoices.split(separator: ",").map(String.init),
                amount: try Self.amount(row), reasonCode: try row.value("reason_code"), comment: try row.value("comment"),
                trail: try Self.trail(row, kind: .raiseCreditNote, approvals: approvals))
        }
    }

    private func writeOffReversals(_ found: [PostgresRandomAccessRow], on connection: PostgresConnection) async throws -> [WriteOffReversal] {
        let approvals = try await decisionApprovals(.reverseWriteOff, ids: found.map { try $0.value("id") }, on: connection)
        return try found.map { row in
            WriteOffReversal(
                id: try row.value("id"), writeOffRequestId: try row.value("writeoff_request_id"), milesWriteOffId: try row.value("miles_writeoff_id"),
                contractNumber: try row.value("contract_number"), amount: try Self.amount(row), reasonCode: try row.value("reason_code"),
                comment: try row.value("comment"), trail: try Self.trail(row, kind: .reverseWriteOff, approvals: approvals))
        }
    }

    private static func amount(_ row: PostgresRandomAccessRow) throws -> Money {
        Money(minorUnits: try row.value("amount"), currency: try CurrencyCode(try row.value("currency", as: String.self)))
    }

    private static func trail(_ row: PostgresRandomAccessRow, kind: OutboxKind, approvals: [Int64: [Approval]]) throws -> ApprovalTrail {
        let id = try row.value("id", as: Int64.self)
        guard let state = ApprovalTrail.State(rawValue: try row.value("state")) else {
            throw StoreError(.corruptRecord, input: "\(kind.recordName) \(id)", "\(kind.recordName) \(id) has an unknown state in the store")
        }
        return ApprovalTrail(
            requestedBy: try row.value("requested_by"), requestedAt: try row.timestamp("requested_at"), state: state,
            requiredRole: try row.value("required_role"), approvalsNeeded: try row.value("approvals_needed"),
            matrixVersion: try row.value("matrix_version"), approvals: approvals[id] ?? [], milesReference: try row.value("miles_reference"),
            failureReason: try row.value("failure_reason"), decidedAt: try row.timestamp("decided_at", as: Timestamp?.self),
            rejection: try row.value("rejection"))
    }
}
