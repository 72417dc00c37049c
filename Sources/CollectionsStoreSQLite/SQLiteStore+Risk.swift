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
