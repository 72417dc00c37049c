import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore {
    public func statusChange(id: Int64) async throws -> StatusChange? {
        try await read { connection in try await statusChange(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func statusChange(id: Int64, on connection: PostgresConnection) async throws -> StatusChange? {
        guard let row = try await rows("SELECT * FROM status_changes WHERE id = \(id)", on: connection).first else { return nil }
        guard let status = ContractStatus(rawValue: try row.value("to_status")), let state = StatusChange.State(rawValue: try row.value("state")) else {
            throw StoreError(.corruptRecord, input: "status change \(id)", "status change \(id) has an unknown status or state in the store")
        }
        var overrides: [GuardOverride] = []
        for line in try row.value("overrides", as: String.self).split(separator: "\n") {
            let parts = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            if parts.count == 4 { overrides.append(GuardOverride(rule: parts[0], by: parts[1], role: parts[2], reason: parts[3])) }
        }
        return StatusChange(
            id: id, contractNumber: try row.value("contract_number"), to: status, reasonCode: try row.value("reason_code"),
            effectiveDate: try row.date("effective_date"), courtOrderReference: try row.value("court_order_reference"),
            expectedVersion: try row.value("expected_version"), requestedBy: try row.value("requested_by"),
            requestedAt: try row.timestamp("requested_at"), state: state, overrides: overrides,
            milesVersion: try row.value("miles_version"), failureReason: try row.value("failure_reason"),
            customerConsent: try row.value("customer_consent"), abandonment: try row.value("abandonment"))
    }

    public func recordStatusApplied(_ entry: OutboxEntry, milesVersion: Int64, at: Timestamp) async throws {
        try await transaction { connection in
            let changeId = try await markSent(entry, result: "version \(milesVersion)", at: at, on: connection)
            let contract = try await rows("""
                UPDATE status_changes SET state = 'applied', miles_version = \(milesVersion), failure_reason = NULL WHERE id = \(changeId)
                RETURNING contract_number
                """, on: connection).first?.value("contract_number", as: String.self) ?? "?"
            try await audit(connection, at: at, actor: "outbox-relay", action: "status.applied", subject: "contract:\(contract)",
                            details: "status change \(changeId) applied in MILES as version \(milesVersion)")
        }
    }
}
