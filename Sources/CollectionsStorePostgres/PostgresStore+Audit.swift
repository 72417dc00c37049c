import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: AuditStore {
    /// Appends an audit entry inside the caller's transaction, chained to the last one. The head row
    /// is locked until the transaction ends: appends from every process queue on it, one chain.
    func audit(_ connection: PostgresConnection, at: Timestamp, actor: String, action: String, subject: String, details: String) async throws {
        guard let head = try await rows("SELECT sequence, hash FROM audit_head WHERE id = 1 FOR UPDATE", on: connection).first else {
            throw StoreError(.corruptRecord, input: "audit_head", "the audit log's head row is missing")
        }
        let sequence = try head.value("sequence", as: Int64.self) + 1
        let previous = try head.value("hash", as: String.self)
        let hash = AuditChain.hash(previous: previous, at: at, actor: actor, action: action, subject: subject, details: details)
        try await connection.query("""
            INSERT INTO audit_log (sequence, at, actor, action, subject, details, previous_hash, hash)
            VALUES (\(sequence), \(at.millisecondsSinceEpoch), \(actor), \(action), \(subject), \(details), \(previous), \(hash))
            """, logger: logger)
        try await connection.query("UPDATE audit_head SET sequence = \(sequence), hash = \(hash) WHERE id = 1", logger: logger)
    }

    public func auditEntries() async throws -> [AuditEntry] {
        try await read { [self] connection in
            try await rows("SELECT * FROM audit_log ORDER BY sequence", on: connection).map(Self.auditEntry)
        }
    }

    public func verifyAudit() async throws -> AuditVerification {
        // The entries and the head from one snapshot: other processes keep appending.
        let (entries, highest) = try await snapshot { [self] connection in
            (try await rows("SELECT * FROM audit_log ORDER BY sequence", on: connection).map(Self.auditEntry),
             try await rows("SELECT sequence FROM audit_head WHERE id = 1", on: connection).first?.value("sequence", as: Int64.self) ?? 0)
        }
        return AuditChain.verify(entries, highest: highest)
    }

    public func recentAuditEntries(limit: Int) async throws -> [AuditEntry] {
        try await read { [self] connection in
            try await rows("SELECT * FROM audit_log ORDER BY sequence DESC LIMIT \(limit)", on: connection).map(Self.auditEntry)
        }
    }

    public func auditEntries(subject: String, limit: Int) async throws -> [AuditEntry] {
        try await read { [self] connection in
            try await rows("SELECT * FROM audit_log WHERE subject = \(subject) ORDER BY sequence DESC LIMIT \(limit)", on: connection).map(Self.auditEntry)
        }
    }

    public func recordPersonalDataView(by actor: String, partnerId: String, contractNumber: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            try await audit(connection, at: at, actor: actor, action: "personal-data.viewed", subject: "contract:\(contractNumber)",
                            details: "customer \(partnerId)'s name, address and contact details shown")
        }
    }

    public func acknowledgeAuditBreak(sequence: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            try await audit(connection, at: at, actor: actor, action: auditAcknowledgementAction, subject: "audit:\(sequence)", details: reason)
        }
    }

    static func auditEntry(_ row: PostgresRandomAccessRow) throws -> AuditEntry {
        AuditEntry(sequence: try row.value("sequence"), at: Timestamp(millisecondsSinceEpoch: try row.value("at")), actor: try row.value("actor"),
                   action: try row.value("action"), subject: try row.value("subject"), details: try row.value("details"),
                   previousHash: try row.value("previous_hash"), hash: try row.value("hash"))
    }
}
