import CollectionsDomain
import CollectionsStore
import Crypto
import Foundation
import GRDB

extension SQLiteStore {
    static let genesisHash = String(repeating: "0", count: 64)

    /// Appends an audit entry inside the caller's transaction, chained to the last one.
    func audit(_ db: Database, at: Timestamp, actor: String, action: String, subject: String, details: String) throws {
        let previous = try String.fetchOne(db, sql: "SELECT hash FROM audit_log ORDER BY sequence DESC LIMIT 1") ?? Self.genesisHash
        let hash = Self.auditHash(previous: previous, at: at, actor: actor, action: action, subject: subject, details: details)
        try db.cachedStatement(sql: """
            INSERT INTO audit_log (at, actor, action, subject, details, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [at.millisecondsSinceEpoch, actor, action, subject, details, previous, hash])
    }

    static func auditHash(previous: String, at: Timestamp, actor: String, action: String, subject: String, details: String) -> String {
        // Fields separated by a character none of them holds, so no two entries hash alike by shifting text.
        let content = [previous, String(at.millisecondsSinceEpoch), actor, action, subject, details].joined(separator: "\u{1F}")
        return SHA256.hash(data: Data(content.utf8)).map { String(format: "%02x", $0) }.joined()
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
        let acknowledged = Set(entries.filter { $0.action == auditAcknowledgementAction }
            .compactMap { Int64($0.subject.dropFirst("audit:".count)) })
        var breaks: [Int64] = []
        /// Passes over an acknowledged break; false for one nobody has acknowledged.
        func passOver(_ sequence: Int64) -> Bool {
            guard acknowledged.contains(sequence) else { return false }
            if breaks.last != sequence { breaks.append(sequence) }
            return true
        }
        var previous = Self.genesisHash
        var expectedSequence: Int64 = 1
        for entry in entries {
            if entry.sequence != expectedSequence {
                guard passOver(expectedSequence) else {
                    return .broken(sequence: expectedSequence, reason: "entry \(expectedSequence) is missing (deleted)")
                }
                previous = entry.previousHash
                expectedSequence = entry.sequence
            }
            if entry.previousHash != previous {
                guard passOver(entry.sequence) else {
                    return .broken(sequence: entry.sequence, reason: "it does not chain to the entry before it")
                }
                previous = entry.previousHash
            }
            let hash = Self.auditHash(previous: previous, at: entry.at, actor: entry.actor, action: entry.action,
                                      subject: entry.subject, details: entry.details)
            if hash != entry.hash, !passOver(entry.sequence) {
                return .broken(sequence: entry.sequence, reason: "its content was changed after it was written")
            }
            previous = entry.hash
            expectedSequence += 1
        }
        if highest >= expectedSequence, !passOver(expectedSequence) {
            return .broken(sequence: expectedSequence, reason: "entries \(expectedSequence)...\(highest) are missing (deleted)")
        }
        return breaks.isEmpty ? .intact(entries: entries.count) : .acknowledged(entries: entries.count, breaks: breaks)
    }

    public func recentAuditEntries(limit: Int) async throws -> [AuditEntry] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY sequence DESC LIMIT ?", arguments: [limit]).map(Self.auditEntry) }
    }

    public func auditEntries(subject: String, limit: Int) async throws -> [AuditEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log WHERE subject = ? ORDER BY sequence LIMIT ?", arguments: [subject, limit])
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
