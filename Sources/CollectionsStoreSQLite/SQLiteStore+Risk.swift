import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore: RiskStore {
    public func riskAlerts(includeAcknowledged: Bool, limit: Int) async throws -> [StoredRiskAlert] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM risk_alerts WHERE ? OR acknowledged_at IS NULL ORDER BY id DESC LIMIT ?
                """), arguments: [includeAcknowledged, limit]).map(Self.riskAlert)
        }
    }

    public func riskAlert(id: Int64) async throws -> StoredRiskAlert? {
        try read { db in try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM risk_alerts WHERE id = ?"), arguments: [id]).map(Self.riskAlert) }
    }

    public func acknowledgeRiskAlert(id: Int64, by actor: String, comment: String, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: "UPDATE risk_alerts SET acknowledged_by = ?, acknowledged_at = ?, comment = ? WHERE id = ? AND acknowledged_at IS NULL",
                           arguments: [actor, at.millisecondsSinceEpoch, comment, id])
            guard db.changesCount == 1 else {
                throw StoreError(.changedMeanwhile, input: "risk alert \(id)", "risk alert \(id) does not exist or was acknowledged already")
            }
            try self.audit(db, at: at, actor: actor, action: "risk.acknowledged", subject: "risk:\(id)", details: comment)
        }
    }

    static func riskAlert(_ row: Row) -> StoredRiskAlert {
        StoredRiskAlert(
            id: row["id"], alert: RiskAlert(rule: row["rule"], contractNumber: row["contract_number"], facts: row["facts"]),
            raisedAt: Timestamp(millisecondsSinceEpoch: row["raised_at"]), acknowledgedBy: row["acknowledged_by"],
            acknowledgedAt: (row["acknowledged_at"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)), comment: row["comment"])
    }
}

extension SQLiteStore {
    /// Raises `alert` unless the same rule already has an open alert on the contract, audited.
    func raise(_ alert: RiskAlert, runId: Int64?, at: Timestamp, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO risk_alerts (contract_number, rule, facts, raised_at, run_id)
            SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (
                SELECT 1 FROM risk_alerts WHERE contract_number = ? AND rule = ? AND acknowledged_at IS NULL)
            """).execute(arguments: [alert.contractNumber, alert.rule, alert.facts, at.millisecondsSinceEpoch, runId,
                                     alert.contractNumber, alert.rule])
        if db.changesCount > 0 {
            try audit(db, at: at, actor: "sync", action: "risk.alert", subject: "contract:\(alert.contractNumber)",
                      details: "\(alert.rule): \(alert.facts)")
        }
    }
}
