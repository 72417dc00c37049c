import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: RiskStore {
    public func riskAlerts(includeAcknowledged: Bool, limit: Int) async throws -> [StoredRiskAlert] {
        try await read { [self] connection in
            try await rows("""
                SELECT * FROM risk_alerts WHERE \(includeAcknowledged) OR acknowledged_at IS NULL ORDER BY id DESC LIMIT \(limit)
                """, on: connection).map(Self.riskAlert)
        }
    }

    public func riskAlert(id: Int64) async throws -> StoredRiskAlert? {
        try await read { [self] connection in try await rows("SELECT * FROM risk_alerts WHERE id = \(id)", on: connection).first.map(Self.riskAlert) }
    }

    public func acknowledgeRiskAlert(id: Int64, by actor: String, comment: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let changed = try await rows("""
                UPDATE risk_alerts SET acknowledged_by = \(actor), acknowledged_at = \(at.millisecondsSinceEpoch), comment = \(comment)
                WHERE id = \(id) AND acknowledged_at IS NULL RETURNING id
                """, on: connection)
            guard !changed.isEmpty else {
                throw StoreError(.changedMeanwhile, input: "risk alert \(id)", "risk alert \(id) does not exist or was acknowledged already")
            }
            try await audit(connection, at: at, actor: actor, action: "risk.acknowledged", subject: "risk:\(id)", details: comment)
        }
    }

    /// Raises `alert` unless the same rule already has an open alert on the contract (the unique
    /// index decides, whichever process raises it first), audited.
    func raise(_ alert: RiskAlert, runId: Int64?, at: Timestamp, on connection: PostgresConnection) async throws {
        let raised = try await rows("""
            INSERT INTO risk_alerts (contract_number, rule, facts, raised_at, run_id)
            VALUES (\(alert.contractNumber), \(alert.rule), \(alert.facts), \(at.millisecondsSinceEpoch), \(runId))
            ON CONFLICT (contract_number, rule) WHERE acknowledged_at IS NULL DO NOTHING RETURNING id
            """, on: connection)
        if !raised.isEmpty {
            try await audit(connection, at: at, actor: "sync", action: "risk.alert", subject: "contract:\(alert.contractNumber)",
                            details: "\(alert.rule): \(alert.facts)")
        }
    }

    static func riskAlert(_ row: PostgresRandomAccessRow) throws -> StoredRiskAlert {
        StoredRiskAlert(
            id: try row.value("id"),
            alert: RiskAlert(rule: try row.value("rule"), contractNumber: try row.value("contract_number"), facts: try row.value("facts")),
            raisedAt: Timestamp(millisecondsSinceEpoch: try row.value("raised_at")), acknowledgedBy: try row.value("acknowledged_by"),
            acknowledgedAt: try row.value("acknowledged_at", as: Int64?.self).map(Timestamp.init(millisecondsSinceEpoch:)),
            comment: try row.value("comment"))
    }
}
