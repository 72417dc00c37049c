import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: CreditStore {
    public func createCreditNote(_ credit: NewCreditNote, requestedBy: String, at: Timestamp) async throws -> RequestCreation {
        try await transaction { [self] connection in
            let invoices = credit.invoiceNumbers.sorted().joined(separator: ",")
            // The contract's credit notes are stored one after the other: of two processes storing the same one, the second finds it.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("credit notes of " + credit.contractNumber)))", logger: logger)
            if let open = try await rows("""
                SELECT id FROM credit_notes WHERE contract_number = \(credit.contractNumber) AND invoice_numbers = \(invoices)
                AND amount = \(credit.amount.minorUnits) AND currency = \(credit.amount.currency.code) AND reason_code = \(credit.reasonCode)
                AND state IN ('pendingApproval', 'approved') ORDER BY id LIMIT 1
                """, on: connection).first {
                return .alreadyRequested(id: try open.value("id"))
            }
            let inserted = try await rows("""
                INSERT INTO credit_notes (contract_number, invoice_numbers, amount, currency, reason_code, comment, requested_by, requested_at,
                    state, required_role, approvals_needed, matrix_version)
                VALUES (\(credit.contractNumber), \(invoices), \(credit.amount.minorUnits), \(credit.amount.currency.code), \(credit.reasonCode),
                    \(credit.comment), \(requestedBy), \(at.millisecondsSinceEpoch), 'pendingApproval', \(credit.requiredRole),
                    \(credit.approvalsNeeded), \(credit.matrixVersion))
                RETURNING id
                """, on: connection)
            let id = try inserted.first?.value("id", as: Int64.self) ?? 0
            try await audit(connection, at: at, actor: requestedBy, action: "credit.requested", subject: "credit:\(id)",
                            details: "contract \(credit.contractNumber), \(credit.amount), reason \(credit.reasonCode)"
                              + (invoices.isEmpty ? "" : ", invoices \(invoices)")
                              + ", needs \(credit.requiredRole) x\(credit.approvalsNeeded) (matrix v\(credit.matrixVersion)): \(credit.comment)")
            return .created(id: id)
        }
    }

    public func creditNote(id: Int64) async throws -> CreditNoteRequest? {
        try await read { [self] connection in try await creditNote(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func creditNote(id: Int64, on connection: PostgresConnection) async throws -> CreditNoteRequest? {
        try await creditNotes(rows("SELECT * FROM credit_notes WHERE id = \(id)", on: connection), on: connection).first
    }

    public func creditNotes(state: ApprovalTrail.State?) async throws -> [CreditNoteRequest] {
        try await read { [self] connection in
            try await creditNotes(rows("""
                SELECT * FROM credit_notes WHERE \(state?.rawValue)::text IS NULL OR state = \(state?.rawValue) ORDER BY id
                """, on: connection), on: connection)
        }
    }

    public func creditNotes(contractNumber: String) async throws -> [CreditNoteRequest] {
        try await read { [self] connection in
            try await creditNotes(rows("SELECT * FROM credit_notes WHERE contract_number = \(contractNumber) ORDER BY id DESC", on: connection),
                                  on: connection)
        }
    }

    public func createWriteOffReversal(_ reversal: NewWriteOffReversal, requestedBy: String, at: Timestamp) async throws -> RequestCreation {
        try await transaction { [self] connection in
            let requestId = reversal.writeOffRequestId
            // The write-off's row is locked: its reversals are stored one after the other, so the same one is not stored twice and
            // two raised at once cannot together reverse more than was written off.
            guard let writeOff = try await rows("""
                SELECT state, miles_writeoff_id, amount, contract_number FROM writeoff_requests WHERE id = \(requestId) FOR UPDATE
                """, on: connection).first else {
                throw StoreError(.notFound, input: "write-off request \(requestId)", "there is no write-off request \(requestId)")
            }
            let state = try writeOff.value("state", as: String.self)
            guard state == WriteOffRequest.State.posted.rawValue, let milesId = try writeOff.value("miles_writeoff_id", as: String?.self) else {
                throw StoreError(.wrongState, input: "write-off request \(requestId)",
                                 "write-off request \(requestId) is \(state), not posted in MILES: there is nothing to reverse")
            }
            if let open = try await rows("""
                SELECT id FROM writeoff_reversals WHERE writeoff_request_id = \(requestId) AND amount = \(reversal.amount.minorUnits)
                AND reason_code = \(reversal.reasonCode) AND state IN ('pendingApproval', 'approved') ORDER BY id LIMIT 1
                """, on: connection).first {
                return .alreadyRequested(id: try open.value("id"))
            }
            let reversed = try await rows("""
                SELECT COALESCE(SUM(amount), 0)::BIGINT AS reversed FROM writeoff_reversals
                WHERE writeoff_request_id = \(requestId) AND state NOT IN ('rejected', 'failed')
                """, on: connection).first?.value("reversed", as: Int64.self) ?? 0
            let writtenOff = try writeOff.value("amount", as: Int64.self)
            guard reversed + reversal.amount.minorUnits <= writtenOff else {
                let currency = reversal.amount.currency
                throw StoreError(.wrongState, input: "write-off request \(requestId)",
                                 "reversing \(reversal.amount) of write-off request \(requestId) would reverse more than the "
                                    + "\(Money(minorUnits: writtenOff, currency: currency)) written off "
                                    + "(\(Money(minorUnits: reversed, currency: currency)) already reversed or waiting)")
            }
            let contractNumber = try writeOff.value("contract_number", as: String.self)
            let inserted = try await rows("""
                INSERT INTO writeoff_reversals (writeoff_request_id, miles_writeoff_id, contract_number, amount, currency, reason_code,
                    comment, requested_by, requested_at, state, required_role, approvals_needed, matrix_version)
                VALUES (\(requestId), \(milesId), \(contractNumber), \(reversal.amount.minorUnits), \(reversal.amount.currency.code),
                    \(reversal.reasonCode), \(reversal.comment), \(requestedBy), \(at.millisecondsSinceEpoch), 'pendingApproval',
                    \(reversal.requiredRole), \(reversal.approvalsNeeded), \(reversal.matrixVersion))
                RETURNING id
                """, on: connection)
            let id = try inserted.first?.value("id", as: Int64.self) ?? 0
            try await audit(connection, at: at, actor: requestedBy, action: "reversal.requested", subject: "reversal:\(id)",
                            details: "write-off request \(requestId) (MILES \(milesId)) on \(contractNumber), \(reversal.amount), "
                              + "reason \(reversal.reasonCode), needs \(reversal.requiredRole) x\(reversal.approvalsNeeded) "
                              + "(matrix v\(reversal.matrixVersion)): \(reversal.comment)")
            return .created(id: id)
        }
    }

    public func writeOffReversal(id: Int64) async throws -> WriteOffReversal? {
        try await read { [self] connection in try await writeOffReversal(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func writeOffReversal(id: Int64, on connection: PostgresConnection) async throws -> WriteOffReversal? {
        try await writeOffReversals(rows("SELECT * FROM writeoff_reversals WHERE id = \(id)", on: connection), on: connection).first
    }

    public func writeOffReversals(state: ApprovalTrail.State?) async throws -> [WriteOffReversal] {
        try await read { [self] connection in
            try await writeOffReversals(rows("""
                SELECT * FROM writeoff_reversals WHERE \(state?.rawValue)::text IS NULL OR state = \(state?.rawValue) ORDER BY id
                """, on: connection), on: connection)
        }
    }

    public func writeOffReversals(contractNumber: String) async throws -> [WriteOffReversal] {
        try await read { [self] connection in
            try await writeOffReversals(rows("SELECT * FROM writeoff_reversals WHERE contract_number = \(contractNumber) ORDER BY id DESC",
                                             on: connection), on: connection)
        }
    }

    public func recordApproval(of kind: OutboxKind, id: Int64, approval: Approval, expectedApprovals: Int, isFinal: Bool) async throws {
        let (table, record) = try Self.creditTable(kind)
        try await transaction { [self] connection in
            try await recordDecisionApproval(kind, table: table, record: record, id: id, approval: approval, expectedApprovals: expectedApprovals,
                                             isFinal: isFinal, on: connection)
        }
    }

    /// One approval of a decision waiting in `table` (audited as `record`.approved), inside the
    /// caller's transaction; when `isFinal` the record is approved and `kind` queued in the outbox.
    /// Throws `StoreError.changedMeanwhile` if it is no longer waiting, or has other approvals now.
    func recordDecisionApproval(_ kind: OutboxKind, table: String, record: String, id: Int64, approval: Approval, expectedApprovals: Int,
                                isFinal: Bool, on connection: PostgresConnection) async throws {
        // The record's row is locked while its approvals are counted: two approvers at once are decided one after the other.
        let state = try await rows("SELECT state FROM \(unescaped: table) WHERE id = \(id) FOR UPDATE", on: connection)
            .first?.value("state", as: String.self)
        let count = try await rows("SELECT count(*) AS n FROM decision_approvals WHERE kind = \(kind.rawValue) AND record_id = \(id)",
                                   on: connection).first?.value("n", as: Int.self) ?? 0
        guard state == "pendingApproval", count == expectedApprovals else {
            throw StoreError(.changedMeanwhile, input: "\(kind.recordName) \(id)",
                             "\(kind.recordName) \(id) changed while it was being approved; look at it again")
        }
        try await connection.query("""
            INSERT INTO decision_approvals (kind, record_id, approver, role, matrix_version, at, comment)
            VALUES (\(kind.rawValue), \(id), \(approval.approver), \(approval.role), \(approval.matrixVersion), \(approval.at.millisecondsSinceEpoch),
                    \(approval.comment))
            """, logger: logger)
        try await audit(connection, at: approval.at, actor: approval.approver, action: "\(record).approved", subject: "\(record):\(id)",
                        details: "as \(approval.role) under matrix v\(approval.matrixVersion)" + (isFinal ? ", final approval" : ", first of two")
                          + (approval.comment.map { ": \($0)" } ?? ""))
        guard isFinal else { return }
        try await connection.query("""
            UPDATE \(unescaped: table) SET state = 'approved', decided_at = \(approval.at.millisecondsSinceEpoch) WHERE id = \(id)
            """, logger: logger)
        let entryId = try await enqueue(kind, subjectId: id, at: approval.at, on: connection)
        try await audit(connection, at: approval.at, actor: approval.approver, action: "outbox.queued", subject: "outbox:\(entryId)",
                        details: "\(kind.operation) \(kind.clientReference(forSubject: id))")
    }

    public func reject(_ kind: OutboxKind, id: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        let (table, record) = try Self.creditTable(kind)
        try await transaction { [self] connection in
            let rejected = try await rows("""
                UPDATE \(unescaped: table) SET state = 'rejected', rejection = \(reason), decided_at = \(at.millisecondsSinceEpoch)
                WHERE id = \(id) AND state = 'pendingApproval' RETURNING id
                """, on: connection)
            guard !rejected.isEmpty else {
                throw StoreError(.wrongState, input: "\(kind.recordName) \(id)",
                                 "\(kind.recordName) \(id) is not waiting for approval, so it cannot be rejected")
            }
            try await audit(connection, at: at, actor: actor, action: "\(record).rejected", subject: "\(record):\(id)", details: reason)
        }
    }

    public func recordCreditPosted(_ entry: OutboxEntry, posted: PostedCredit, at: Timestamp) async throws {
        let (table, record) = try Self.creditTable(entry.kind)
        try await transaction { [self] connection in
            let id = try await markSent(entry, result: posted.milesId, at: at, on: connection)
            try await connection.query("""
                UPDATE \(unescaped: table) SET state = 'posted', miles_reference = \(posted.milesId), failure_reason = NULL WHERE id = \(id)
                """, logger: logger)
            if entry.kind == .raiseCreditNote {
                try await connection.query("UPDATE credit_notes SET miles_contract_version = \(posted.contractVersion) WHERE id = \(id)", logger: logger)
            }
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
                invoiceNumbers: StoredRelief.invoiceNumbers(invoices),
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
