import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore {
    public func createWriteOffRequest(_ request: NewWriteOffRequest, requestedBy: String, at: Timestamp) async throws -> RequestCreation {
        try transaction { db in
            if let existing = try Int64.fetchOne(db, sql: "SELECT id FROM writeoff_requests WHERE fingerprint = ?",
                                                 arguments: [request.fingerprint]) {
                return .alreadyRequested(id: existing)
            }
            try db.execute(sql: """
                INSERT INTO writeoff_requests (contract_number, invoice_numbers, amount, currency, reason, comment, requested_by,
                    requested_at, state, required_role, approvals_needed, matrix_version, customer_must_be_told, fingerprint, source)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pendingApproval', ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    request.contractNumber, request.invoiceNumbers.joined(separator: ","), request.amount.minorUnits,
                    request.amount.currency.code, request.reason.rawValue, request.comment, requestedBy, at.millisecondsSinceEpoch,
                    request.requiredRole, request.approvalsNeeded, request.matrixVersion, request.customerMustBeTold,
                    request.fingerprint, request.source,
                ])
            let id = db.lastInsertedRowID
            try self.audit(db, at: at, actor: requestedBy, action: "writeoff.requested", subject: "writeoff:\(id)",
                      details: "contract \(request.contractNumber), \(request.amount), \(request.reason.rawValue), needs \(request.requiredRole)"
                        + " x\(request.approvalsNeeded) (matrix v\(request.matrixVersion)), from \(request.source): \(request.comment)")
            return .created(id: id)
        }
    }

    public func writeOffRequest(id: Int64) async throws -> WriteOffRequest? {
        try read { db in try self.writeOffRequest(id: id, db) }
    }

    /// Read inside the caller's transaction.
    func writeOffRequest(id: Int64, _ db: Database) throws -> WriteOffRequest? {
        try Row.fetchOne(db, sql: "SELECT * FROM writeoff_requests WHERE id = ?", arguments: [id]).map { try self.request(from: $0, db) }
    }

    public func writeOffRequests(contractNumber: String) async throws -> [WriteOffRequest] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM writeoff_requests WHERE contract_number = ? ORDER BY id DESC", arguments: [contractNumber])
                .map { try self.request(from: $0, db) }
        }
    }

    public func writeOffRequests(state: WriteOffRequest.State?) async throws -> [WriteOffRequest] {
        try read { db in
            let rows = try state.map {
                try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM writeoff_requests WHERE state = ? ORDER BY id"), arguments: [$0.rawValue])
            } ?? Row.fetchAll(db, sql: "SELECT * FROM writeoff_requests ORDER BY id")
            return try rows.map { try self.request(from: $0, db) }
        }
    }

    public func latestWriteOffRequests(limit: Int) async throws -> [WriteOffRequest] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM writeoff_requests ORDER BY id DESC LIMIT ?"), arguments: [limit])
                .map { try self.request(from: $0, db) }
        }
    }

    public func recordApproval(requestId: Int64, approval: Approval, expectedApprovals: Int, isFinal: Bool) async throws {
        try transaction { db in
            let state = try String.fetchOne(db, sql: "SELECT state FROM writeoff_requests WHERE id = ?", arguments: [requestId])
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM writeoff_approvals WHERE request_id = ?", arguments: [requestId]) ?? 0
            guard state == WriteOffRequest.State.pendingApproval.rawValue, count == expectedApprovals else {
                throw StoreError(.changedMeanwhile, input: "write-off request \(requestId)",
                                 "write-off request \(requestId) changed while it was being approved; look at it again")
            }
            try db.execute(sql: """
                INSERT INTO writeoff_approvals (request_id, approver, role, matrix_version, at, comment) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [requestId, approval.approver, approval.role, approval.matrixVersion,
                                 approval.at.millisecondsSinceEpoch, approval.comment])
            try self.audit(db, at: approval.at, actor: approval.approver, action: "writeoff.approved", subject: "writeoff:\(requestId)",
                      details: "as \(approval.role) under matrix v\(approval.matrixVersion)" + (isFinal ? ", final approval" : ", first of two")
                        + (approval.comment.map { ": \($0)" } ?? ""))
            guard isFinal else { return }
            try db.execute(sql: "UPDATE writeoff_requests SET state = 'approved', decided_at = ? WHERE id = ?",
                           arguments: [approval.at.millisecondsSinceEpoch, requestId])
            let kind = OutboxKind.postWriteOff
            let entryId = try OutboxDoor(db).enqueue(kind, subjectId: requestId, at: approval.at)
            try self.audit(db, at: approval.at, actor: approval.approver, action: "outbox.queued", subject: "outbox:\(entryId)",
                      details: "\(kind.operation) \(kind.clientReference(forSubject: requestId))")
        }
    }

    public func rejectWriteOffRequest(id: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: """
                UPDATE writeoff_requests SET state = 'rejected', rejection = ?, decided_at = ? WHERE id = ? AND state = 'pendingApproval'
                """, arguments: [reason, at.millisecondsSinceEpoch, id])
            guard db.changesCount == 1 else {
                throw StoreError(.wrongState, input: "write-off request \(id)",
                                 "write-off request \(id) is not waiting for approval, so it cannot be rejected")
            }
            try self.audit(db, at: at, actor: actor, action: "writeoff.rejected", subject: "writeoff:\(id)", details: reason)
        }
    }

    func request(from row: Row, _ db: Database) throws -> WriteOffRequest {
        let id: Int64 = row["id"]
        let currency = try CurrencyCode(row["currency"])
        let approvals = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM writeoff_approvals WHERE request_id = ? ORDER BY at, approver"),
                                         arguments: [id]).map { approval in
            Approval(approver: approval["approver"], role: approval["role"], matrixVersion: approval["matrix_version"],
                             at: Timestamp(millisecondsSinceEpoch: approval["at"]), comment: approval["comment"])
        }
        let invoices: String = row["invoice_numbers"]
        guard let reason = WriteOffReason(rawValue: row["reason"]), let state = WriteOffRequest.State(rawValue: row["state"]) else {
            throw StoreError(.corruptRecord, input: "write-off request \(id)", "write-off request \(id) has an unknown reason or state in the store")
        }
        return WriteOffRequest(
            id: id, contractNumber: row["contract_number"],
            invoiceNumbers: StoredRelief.invoiceNumbers(invoices),
            amount: Money(minorUnits: row["amount"], currency: currency), reason: reason, comment: row["comment"],
            requestedBy: row["requested_by"], requestedAt: Timestamp(millisecondsSinceEpoch: row["requested_at"]), state: state,
            requiredRole: row["required_role"], approvalsNeeded: row["approvals_needed"], matrixVersion: row["matrix_version"],
            approvals: approvals, customerMustBeTold: row["customer_must_be_told"], milesWriteOffId: row["miles_writeoff_id"],
            failureReason: row["failure_reason"], decidedAt: (row["decided_at"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)),
            rejection: row["rejection"])
    }
}
