import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: WriteOffStore {
    public func createWriteOffRequest(_ request: NewWriteOffRequest, requestedBy: String, at: Timestamp) async throws -> RequestCreation {
        try await transaction { [self] connection in
            // The fingerprint is unique: of two processes storing the same request, one inserts and the other finds it.
            let inserted = try await rows("""
                INSERT INTO writeoff_requests (contract_number, invoice_numbers, amount, currency, reason, comment, requested_by,
                    requested_at, state, required_role, approvals_needed, matrix_version, customer_must_be_told, fingerprint, source)
                VALUES (\(request.contractNumber), \(request.invoiceNumbers.joined(separator: ",")), \(request.amount.minorUnits),
                    \(request.amount.currency.code), \(request.reason.rawValue), \(request.comment), \(requestedBy), \(at.millisecondsSinceEpoch),
                    'pendingApproval', \(request.requiredRole), \(request.approvalsNeeded), \(request.matrixVersion),
                    \(request.customerMustBeTold), \(request.fingerprint), \(request.source))
                ON CONFLICT (fingerprint) DO NOTHING RETURNING id
                """, on: connection)
            guard let id = try inserted.first?.value("id", as: Int64.self) else {
                let existing = try await rows("SELECT id FROM writeoff_requests WHERE fingerprint = \(request.fingerprint)", on: connection)
                return .alreadyRequested(id: try existing.first?.value("id") ?? 0)
            }
            try await audit(connection, at: at, actor: requestedBy, action: "writeoff.requested", subject: "writeoff:\(id)",
                            details: "contract \(request.contractNumber), \(request.amount), \(request.reason.rawValue), needs \(request.requiredRole)"
                              + " x\(request.approvalsNeeded) (matrix v\(request.matrixVersion)), from \(request.source): \(request.comment)")
            return .created(id: id)
        }
    }

    public func writeOffRequest(id: Int64) async throws -> WriteOffRequest? {
        try await read { [self] connection in try await writeOffRequest(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func writeOffRequest(id: Int64, on connection: PostgresConnection) async throws -> WriteOffRequest? {
        try await writeOffRequests(rows("SELECT * FROM writeoff_requests WHERE id = \(id)", on: connection), on: connection).first
    }

    public func writeOffRequests(state: WriteOffRequest.State?) async throws -> [WriteOffRequest] {
        try await read { [self] connection in
            try await writeOffRequests(rows("""
                SELECT * FROM writeoff_requests WHERE \(state?.rawValue)::text IS NULL OR state = \(state?.rawValue) ORDER BY id
                """, on: connection), on: connection)
        }
    }

    public func writeOffRequests(contractNumber: String) async throws -> [WriteOffRequest] {
        try await read { [self] connection in
            try await writeOffRequests(rows("SELECT * FROM writeoff_requests WHERE contract_number = \(contractNumber) ORDER BY id DESC",
                                            on: connection), on: connection)
        }
    }

    public func latestWriteOffRequests(limit: Int) async throws -> [WriteOffRequest] {
        try await read { [self] connection in
            try await writeOffRequests(rows("SELECT * FROM writeoff_requests ORDER BY id DESC LIMIT \(limit)", on: connection), on: connection)
        }
    }

    public func recordApproval(requestId: Int64, approval: Approval, expectedApprovals: Int, isFinal: Bool) async throws {
        try await transaction { [self] connection in
            // The request's row is locked while its approvals are counted: two approvers at once are decided one after the other.
            let state = try await rows("SELECT state FROM writeoff_requests WHERE id = \(requestId) FOR UPDATE", on: connection)
                .first?.value("state", as: String.self)
            let count = try await rows("SELECT count(*) AS n FROM writeoff_approvals WHERE request_id = \(requestId)", on: connection)
                .first?.value("n", as: Int.self) ?? 0
            guard state == WriteOffRequest.State.pendingApproval.rawValue, count == expectedApprovals else {
                throw StoreError(.changedMeanwhile, input: "write-off request \(requestId)",
                                 "write-off request \(requestId) changed while it was being approved; look at it again")
            }
            try await connection.query("""
                INSERT INTO writeoff_approvals (request_id, approver, role, matrix_version, at, comment)
                VALUES (\(requestId), \(approval.approver), \(approval.role), \(approval.matrixVersion), \(approval.at.millisecondsSinceEpoch),
                        \(approval.comment))
                """, logger: logger)
            try await audit(connection, at: approval.at, actor: approval.approver, action: "writeoff.approved", subject: "writeoff:\(requestId)",
                            details: "as \(approval.role) under matrix v\(approval.matrixVersion)" + (isFinal ? ", final approval" : ", first of two")
                              + (approval.comment.map { ": \($0)" } ?? ""))
            guard isFinal else { return }
            try await connection.query("""
                UPDATE writeoff_requests SET state = 'approved', decided_at = \(approval.at.millisecondsSinceEpoch) WHERE id = \(requestId)
                """, logger: logger)
            let kind = OutboxKind.postWriteOff
            let entryId = try await enqueue(kind, subjectId: requestId, at: approval.at, on: connection)
            try await audit(connection, at: approval.at, actor: approval.approver, action: "outbox.queued", subject: "outbox:\(entryId)",
                            details: "\(kind.operation) \(kind.clientReference(forSubject: requestId))")
        }
    }

    public func rejectWriteOffRequest(id: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let rejected = try await rows("""
                UPDATE writeoff_requests SET state = 'rejected', rejection = \(reason), decided_at = \(at.millisecondsSinceEpoch)
                WHERE id = \(id) AND state = 'pendingApproval' RETURNING id
                """, on: connection)
            guard !rejected.isEmpty else {
                throw StoreError(.wrongState, input: "write-off request \(id)",
                                 "write-off request \(id) is not waiting for approval, so it cannot be rejected")
            }
            try await audit(connection, at: at, actor: actor, action: "writeoff.rejected", subject: "writeoff:\(id)", details: reason)
        }
    }

    /// The requests in `found`, with their approvals read in one query.
    private func writeOffRequests(_ found: [PostgresRandomAccessRow], on connection: PostgresConnection) async throws -> [WriteOffRequest] {
        let ids = try found.map { try $0.value("id", as: Int64.self) }
        guard !ids.isEmpty else { return [] }
        var approvals: [Int64: [Approval]] = [:]
        for row in try await rows("SELECT * FROM writeoff_approvals WHERE request_id = ANY(\(ids)) ORDER BY at, approver", on: connection) {
            approvals[try row.value("request_id"), default: []].append(try Self.approval(row))
        }
        return try found.map { row in
            let id = try row.value("id", as: Int64.self)
            let currency = try CurrencyCode(try row.value("currency", as: String.self))
            let invoices = try row.value("invoice_numbers", as: String.self)
            guard let reason = WriteOffReason(rawValue: try row.value("reason")), let state = WriteOffRequest.State(rawValue: try row.value("state")) else {
                throw StoreError(.corruptRecord, input: "write-off request \(id)", "write-off request \(id) has an unknown reason or state in the store")
            }
            return WriteOffRequest(
                id: id, contractNumber: try row.value("contract_number"),
                invoiceNumbers: StoredRelief.invoiceNumbers(invoices),
                amount: Money(minorUnits: try row.value("amount"), currency: currency), reason: reason, comment: try row.value("comment"),
                requestedBy: try row.value("requested_by"), requestedAt: try row.timestamp("requested_at"), state: state,
                requiredRole: try row.value("required_role"), approvalsNeeded: try row.value("approvals_needed"),
                matrixVersion: try row.value("matrix_version"), approvals: approvals[id] ?? [],
                customerMustBeTold: try row.value("customer_must_be_told"), milesWriteOffId: try row.value("miles_writeoff_id"),
                failureReason: try row.value("failure_reason"), decidedAt: try row.timestamp("decided_at", as: Timestamp?.self),
                rejection: try row.value("rejection"))
        }
    }

    /// An approval as stored, in `writeoff_approvals` or `decision_approvals`.
    static func approval(_ row: PostgresRandomAccessRow) throws -> Approval {
        Approval(approver: try row.value("approver"), role: try row.value("role"), matrixVersion: try row.value("matrix_version"),
                 at: try row.timestamp("at"), comment: try row.value("comment"))
    }
}
