import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore: CreditStore {
    public func createCreditNote(_ credit: NewCreditNote, requestedBy: String, at: Timestamp) async throws -> RequestCreation {
        try transaction { db in
            let invoices = credit.invoiceNumbers.sorted().joined(separator: ",")
            if let open = try Int64.fetchOne(db, sql: """
                SELECT id FROM credit_notes WHERE contract_number = ? AND invoice_numbers = ? AND amount = ? AND currency = ?
                AND reason_code = ? AND state IN ('pendingApproval', 'approved') ORDER BY id LIMIT 1
                """, arguments: [credit.contractNumber, invoices, credit.amount.minorUnits, credit.amount.currency.code, credit.reasonCode]) {
                return .alreadyRequested(id: open)
            }
            try db.execute(sql: """
                INSERT INTO credit_notes (contract_number, invoice_numbers, amount, currency, reason_code, comment, requested_by, requested_at,
                    state, required_role, approvals_needed, matrix_version)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pendingApproval', ?, ?, ?)
                """, arguments: [credit.contractNumber, invoices, credit.amount.minorUnits, credit.amount.currency.code, credit.reasonCode,
                                 credit.comment, requestedBy, at.millisecondsSinceEpoch, credit.requiredRole, credit.approvalsNeeded,
                                 credit.matrixVersion])
            let id = db.lastInsertedRowID
            try self.audit(db, at: at, actor: requestedBy, action: "credit.requested", subject: "credit:\(id)",
                           details: "contract \(credit.contractNumber), \(credit.amount), reason \(credit.reasonCode)"
                            + (invoices.isEmpty ? "" : ", invoices \(invoices)")
                            + ", needs \(credit.requiredRole) x\(credit.approvalsNeeded) (matrix v\(credit.matrixVersion)): \(credit.comment)")
            return .created(id: id)
        }
    }

    public func creditNote(id: Int64) async throws -> CreditNoteRequest? {
        try read { db in try self.creditNote(id: id, db) }
    }

    func creditNote(id: Int64, _ db: Database) throws -> CreditNoteRequest? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM credit_notes WHERE id = ?"), arguments: [id]).map { try self.creditNote(from: $0, db) }
    }

    public func creditNotes(state: ApprovalTrail.State?) async throws -> [CreditNoteRequest] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM credit_notes WHERE ?1 IS NULL OR state = ?1 ORDER BY id", arguments: [state?.rawValue])
                .map { try self.creditNote(from: $0, db) }
        }
    }

    public func creditNotes(contractNumber: String) async throws -> [CreditNoteRequest] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM credit_notes WHERE contract_number = ? ORDER BY id DESC", arguments: [contractNumber])
                .map { try self.creditNote(from: $0, db) }
        }
    }

    public func createWriteOffReversal(_ reversal: NewWriteOffReversal, requestedBy: String, at: Timestamp) async throws -> RequestCreation {
        try transaction { db in
            let requestId = reversal.writeOffRequestId
            guard let writeOff = try Row.fetchOne(db, sql: "SELECT * FROM writeoff_requests WHERE id = ?", arguments: [requestId]) else {
                throw StoreError(.notFound, input: "write-off request \(requestId)", "there is no write-off request \(requestId)")
            }
            guard writeOff["state"] == WriteOffRequest.State.posted.rawValue, let milesId = writeOff["miles_writeoff_id"] as String? else {
                throw StoreError(.wrongState, input: "write-off request \(requestId)",
                                 "write-off request \(requestId) is \(writeOff["state"] as String), not posted in MILES: there is nothing to reverse")
            }
            if let open = try Int64.fetchOne(db, sql: """
                SELECT id FROM writeoff_reversals WHERE writeoff_request_id = ? AND amount = ? AND reason_code = ?
                AND state IN ('pendingApproval', 'approved') ORDER BY id LIMIT 1
                """, arguments: [requestId, reversal.amount.minorUnits, reversal.reasonCode]) {
                return .alreadyRequested(id: open)
            }
            // Checked here, in the transaction, so two reversals raised at once cannot together reverse more than was written off.
            let reversed = try Int64.fetchOne(db, sql: """
                SELECT COALESCE(SUM(amount), 0) FROM writeoff_reversals WHERE writeoff_request_id = ? AND state NOT IN ('rejected', 'failed')
                """, arguments: [requestId]) ?? 0
            let writtenOff: Int64 = writeOff["amount"]
            guard reversed + reversal.amount.minorUnits <= writtenOff else {
                let currency = reversal.amount.currency
                throw StoreError(.wrongState, input: "write-off request \(requestId)",
                                 "reversing \(reversal.amount) of write-off request \(requestId) would reverse more than the "
                                    + "\(Money(minorUnits: writtenOff, currency: currency)) written off "
                                    + "(\(Money(minorUnits: reversed, currency: currency)) already reversed or waiting)")
            }
            let contractNumber: String = writeOff["contract_number"]
            try db.execute(sql: """
                INSERT INTO writeoff_reversals (writeoff_request_id, miles_writeoff_id, contract_number, amount, currency, reason_code,
                    comment, requested_by, requested_at, state, required_role, approvals_needed, matrix_version)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pendingApproval', ?, ?, ?)
                """, arguments: [requestId, milesId, contractNumber, reversal.amount.minorUnits, reversal.amount.currency.code,
                                 reversal.reasonCode, reversal.comment, requestedBy, at.millisecondsSinceEpoch, reversal.requiredRole,
                                 reversal.approvalsNeeded, reversal.matrixVersion])
            let id = db.lastInsertedRowID
            try self.audit(db, at: at, actor: requestedBy, action: "reversal.requested", subject: "reversal:\(id)",
                           details: "write-off request \(requestId) (MILES \(milesId)) on \(contractNumber), \(reversal.amount), "
                            + "reason \(reversal.reasonCode), needs \(reversal.requiredRole) x\(reversal.approvalsNeeded) "
                            + "(matrix v\(reversal.matrixVersion)): \(reversal.comment)")
            return .created(id: id)
        }
    }

    public func writeOffReversal(id: Int64) async throws -> WriteOffReversal? {
        try read { db in try self.writeOffReversal(id: id, db) }
    }

    func writeOffReversal(id: Int64, _ db: Database) throws -> WriteOffReversal? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM writeoff_reversals WHERE id = ?"), arguments: [id])
            .map { try self.writeOffReversal(from: $0, db) }
    }

    public func writeOffReversals(state: ApprovalTrail.State?) async throws -> [WriteOffReversal] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM writeoff_reversals WHERE ?1 IS NULL OR state = ?1 ORDER BY id", arguments: [state?.rawValue])
                .map { try self.writeOffReversal(from: $0, db) }
        }
    }

    public func writeOffReversals(contractNumber: String) async throws -> [WriteOffReversal] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM writeoff_reversals WHERE contract_number = ? ORDER BY id DESC", arguments: [contractNumber])
                .map { try self.writeOffReversal(from: $0, db) }
        }
    }

    public func recordApproval(of kind: OutboxKind, id: Int64, approval: Approval, expectedApprovals: Int, isFinal: Bool) async throws {
        let (table, record) = try Self.creditTable(kind)
        try transaction { db in
            try self.recordDecisionApproval(kind, table: table, record: record, id: id, approval: approval, expectedApprovals: expectedApprovals,
                                            isFinal: isFinal, db)
        }
    }

    /// One approval of a decision waiting in `table` (audited as `record`.approved), inside the
    /// caller's transaction; when `isFinal` the record is approved and `kind` queued in the outbox.
    /// Throws `StoreError.changedMeanwhile` if it is no longer waiting, or has other approvals now.
    func recordDecisionApproval(_ kind: OutboxKind, table: String, record: String, id: Int64, approval: Approval, expectedApprovals: Int,
                                isFinal: Bool, _ db: Database) throws {
        let state = try String.fetchOne(db, sql: "SELECT state FROM \(table) WHERE id = ?", arguments: [id])
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM decision_approvals WHERE kind = ? AND record_id = ?",
                                     arguments: [kind.rawValue, id]) ?? 0
        guard state == "pendingApproval", count == expectedApprovals else {
            throw StoreError(.changedMeanwhile, input: "\(kind.recordName) \(id)",
                             "\(kind.recordName) \(id) changed while it was being approved; look at it again")
        }
        try db.execute(sql: """
            INSERT INTO decision_approvals (kind, record_id, approver, role, matrix_version, at, comment) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [kind.rawValue, id, approval.approver, approval.role, approval.matrixVersion, approval.at.millisecondsSinceEpoch,
                             approval.comment])
        try audit(db, at: approval.at, actor: approval.approver, action: "\(record).approved", subject: "\(record):\(id)",
                  details: "as \(approval.role) under matrix v\(approval.matrixVersion)" + (isFinal ? ", final approval" : ", first of two")
                    + (approval.comment.map { ": \($0)" } ?? ""))
        guard isFinal else { return }
        try db.execute(sql: "UPDATE \(table) SET state = 'approved', decided_at = ? WHERE id = ?", arguments: [approval.at.millisecondsSinceEpoch, id])
        let entryId = try OutboxDoor(db).enqueue(kind, subjectId: id, at: approval.at)
        try audit(db, at: approval.at, actor: approval.approver, action: "outbox.queued", subject: "outbox:\(entryId)",
                  details: "\(kind.operation) \(kind.clientReference(forSubject: id))")
    }

    /// The approvals of decision `id` carried by `kind`, in the order given.
    func decisionApprovals(_ kind: OutboxKind, id: Int64, _ db: Database) throws -> [Approval] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM decision_approvals WHERE kind = ? AND record_id = ? ORDER BY at, approver"),
                         arguments: [kind.rawValue, id]).map { approval in
            Approval(approver: approval["approver"], role: approval["role"], matrixVersion: approval["matrix_version"],
                     at: Timestamp(millisecondsSinceEpoch: approval["at"]), comment: approval["comment"])
        }
    }

    public func reject(_ kind: OutboxKind, id: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        let (table, record) = try Self.creditTable(kind)
        try transaction { db in
            try db.execute(sql: """
                UPDATE \(table) SET state = 'rejected', rejection = ?, decided_at = ? WHERE id = ? AND state = 'pendingApproval'
                """, arguments: [reason, at.millisecondsSinceEpoch, id])
            guard db.changesCount == 1 else {
                throw StoreError(.wrongState, input: "\(kind.recordName) \(id)",
                                 "\(kind.recordName) \(id) is not waiting for approval, so it cannot be rejected")
            }
            try self.audit(db, at: at, actor: actor, action: "\(record).rejected", subject: "\(record):\(id)", details: reason)
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

    private func creditNote(from row: Row, _ db: Database) throws -> CreditNoteRequest {
        let invoices: String = row["invoice_numbers"]
        return CreditNoteRequest(
            id: row["id"], contractNumber: row["contract_number"], invoiceNumbers: StoredRelief.invoiceNumbers(invoices),
            amount: try Self.amount(row), reasonCode: row["reason_code"], comment: row["comment"],
            trail: try trail(row, kind: .raiseCreditNote, db))
    }

    private func writeOffReversal(from row: Row, _ db: Database) throws -> WriteOffReversal {
        WriteOffReversal(
            id: row["id"], writeOffRequestId: row["writeoff_request_id"], milesWriteOffId: row["miles_writeoff_id"],
            contractNumber: row["contract_number"], amount: try Self.amount(row), reasonCode: row["reason_code"], comment: row["comment"],
            trail: try trail(row, kind: .reverseWriteOff, db))
    }

    private static func amount(_ row: Row) throws -> Money {
        Money(minorUnits: row["amount"], currency: try CurrencyCode(row["currency"]))
    }

    private func trail(_ row: Row, kind: OutboxKind, _ db: Database) throws -> ApprovalTrail {
        let id: Int64 = row["id"]
        guard let state = ApprovalTrail.State(rawValue: row["state"]) else {
            throw StoreError(.corruptRecord, input: "\(kind.recordName) \(id)", "\(kind.recordName) \(id) has an unknown state in the store")
        }
        let approvals = try decisionApprovals(kind, id: id, db)
        return ApprovalTrail(
            requestedBy: row["requested_by"], requestedAt: Timestamp(millisecondsSinceEpoch: row["requested_at"]), state: state,
            requiredRole: row["required_role"], approvalsNeeded: row["approvals_needed"], matrixVersion: row["matrix_version"],
            approvals: approvals, milesReference: row["miles_reference"], failureReason: row["failure_reason"],
            decidedAt: (row["decided_at"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)), rejection: row["rejection"])
    }
}
