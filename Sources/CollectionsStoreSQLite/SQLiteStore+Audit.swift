import CollectionsDomain
import CollectionsStore
import Foundation
import GRDB

extension SQLiteStore {
    /// Appends an audit entry inside the caller's transaction, chained to the last one.
    func audit(_ db: Database, at: Timestamp, actor: String, action: String, subject: String, details: String) throws {
        let previous = try String.fetchOne(db, sql: "SELECT hash FROM audit_log ORDER BY sequence DESC LIMIT 1") ?? AuditChain.genesisHash
        let hash = AuditChain.hash(previous: previous, at: at, actor: actor, action: action, subject: subject, details: details)
        try db.cachedStatement(sql: """
            INSERT INTO audit_log (at, actor, action, subject, details, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [at.millisecondsSinceEpoch, actor, action, subject, details, previous, hash])
    }

    public func auditEntries() async throws -> [AuditEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY sequence").map(Self.auditEntry)
        }
    }

    public func verifyAudit() async throws -> AuditVerification {
        // The entries and the highest sequence used in one read: other processes keep appending.
        let (entries, highest) = try read { db in
            (try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY sequence").map(Self.auditEntry),
             // AUTOINCREMENT remembers the highest sequence ever used: a deleted last entry shows here.
             try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'") ?? 0)
        }
        return AuditChain.verify(entries, highest: highest)
    }

    public func recentAuditEntries(limit: Int) async throws -> [AuditEntry] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY sequence DESC LIMIT ?", arguments: [limit]).map(Self.auditEntry) }
    }

    public func auditEntries(subject: String, limit: Int) async throws -> [AuditEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log WHERE subject = ? ORDER BY sequence DESC LIMIT ?", arguments: [subject, limit])
                .map(Self.auditEntry)
        }
    }

    public func recordPersonalDataView(by actor: String, partnerId: String, contractNumber: String, at: Timestamp) async throws {
        try transaction { db in
            try audit(db, at: at, actor: actor, action: "personal-data.viewed", subject: "contract:\(contractNumber)",
                      details: "customer \(partnerId)'s name, address and contact details shown")
        }
    }

    static func auditEntry(_ row: Row) -> AuditEntry {
        AuditEntry(sequence: row["sequence"], at: Timestamp(millisecondsSinceEpoch: row["at"]), actor: row["actor"],
                   action: row["action"], subject: row["subject"], details: row["details"],
                   previousHash: row["previous_hash"], hash: row["hash"])
    }

    public func acknowledgeAuditBreak(sequence: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        try transaction { db in
            try audit(db, at: at, actor: actor, action: auditAcknowledgementAction, subject: "audit:\(sequence)", details: reason)
        }
    }
}
