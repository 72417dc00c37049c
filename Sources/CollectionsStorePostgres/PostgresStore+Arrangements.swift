import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore {
    public func arrangement(id: Int64) async throws -> ArrangementProposal? {
        try await read { connection in try await arrangement(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func arrangement(id: Int64, on connection: PostgresConnection) async throws -> ArrangementProposal? {
        try await arrangements(rows("SELECT * FROM arrangements WHERE id = \(id)", on: connection), on: connection).first
    }

    public func arrangements(state: ArrangementProposal.State?) async throws -> [ArrangementProposal] {
        try await read { connection in
            try await arrangements(rows("""
                SELECT * FROM arrangements WHERE \(state?.rawValue)::text IS NULL OR state = \(state?.rawValue) ORDER BY id
                """, on: connection), on: connection)
        }
    }

    /// Keeps an agent's report of an arrangement for the team, inside the ingest batch's transaction.
    func record(_ reported: ReportedArrangement, at: Timestamp, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO reported_arrangements (contract_number, agent, reported_on, details, source)
            VALUES (\(reported.contractNumber), \(reported.agent), \(reported.reportedOn.daysSinceEpoch), \(reported.details), \(reported.source))
            """, logger: logger)
        try await audit(connection, at: at, actor: "ingest:\(reported.agent)", action: "arrangement.reported", subject: "contract:\(reported.contractNumber)",
                        details: "\(reported.details) (\(reported.source)): to be proposed with the customer's income and expenditure")
    }

    public func recordArrangementCreated(_ entry: OutboxEntry, created: CreatedArrangement, at: Timestamp) async throws {
        try await transaction { connection in
            let id = try await markSent(entry, result: created.arrangementId, at: at, on: connection)
            try await connection.query("""
                UPDATE arrangements SET state = 'active', miles_reference = \(created.arrangementId), paid_before = \(created.paidBefore.minorUnits),
                    failure_reason = NULL
                WHERE id = \(id)
                """, logger: logger)
            try await audit(connection, at: at, actor: "outbox-relay", action: "arrangement.created", subject: "arrangement:\(id)",
                            details: "MILES \(created.arrangementId); paid to date then \(created.paidBefore)")
        }
    }

    public func recordArrangementCancelled(_ entry: OutboxEntry, at: Timestamp) async throws {
        try await transaction { connection in
            let id = try await markSent(entry, result: nil, at: at, on: connection)
            // A closed (broken) arrangement stays closed: its cancellation only ends it in MILES.
            try await connection.query("""
                UPDATE arrangements SET state = CASE state WHEN 'closed' THEN 'closed' ELSE 'cancelled' END,
                    outcome = CASE state WHEN 'closed' THEN outcome ELSE cancel_reason END, failure_reason = NULL
                WHERE id = \(id)
                """, logger: logger)
            try await audit(connection, at: at, actor: "outbox-relay", action: "arrangement.cancelled", subject: "arrangement:\(id)",
                            details: "cancelled in MILES")
        }
    }

    /// How it ended, and what failed on the way; nil when neither is known.
    private static func outcome(_ outcome: String?, failure: String?) -> String? {
        let parts = [outcome, failure].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    /// The arrangements in `found`, with their instalments and approvals read in one query each.
    private func arrangements(_ found: [PostgresRandomAccessRow], on connection: PostgresConnection) async throws -> [ArrangementProposal] {
        let ids = try found.map { try $0.value("id", as: Int64.self) }
        guard !ids.isEmpty else { return [] }
        var instalments: [Int64: [(dueDate: LocalDate, amount: Int64)]] = [:]
        for row in try await rows("SELECT * FROM arrangement_instalments WHERE arrangement_id = ANY(\(ids)) ORDER BY arrangement_id, position",
                                  on: connection) {
            instalments[try row.value("arrangement_id"), default: []].append((try row.date("due_date"), try row.value("amount")))
        }
        let approvals = try await decisionApprovals(.createPaymentArrangement, ids: ids, on: connection)
        return try found.map { row in
            let id = try row.value("id", as: Int64.self)
            let currency = try CurrencyCode(try row.value("currency", as: String.self))
            func money(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: currency) }
            guard let frequency = PaymentArrangement.Frequency(rawValue: try row.value("frequency")),
                  let state = ArrangementProposal.State(rawValue: try row.value("state")) else {
                throw StoreError(.corruptRecord, input: "arrangement \(id)", "arrangement \(id) has an unknown frequency or state in the store")
            }
            let plan: PaymentArrangement
            do {
                plan = try PaymentArrangement(
                    contractNumber: try row.value("contract_number"), frequency: frequency,
                    instalments: (instalments[id] ?? []).map { PaymentArrangement.Instalment(dueDate: $0.dueDate, amount: money($0.amount)) },
                    isSettlement: try row.value("is_settlement"))
            } catch {
                throw StoreError(.corruptRecord, input: "arrangement \(id)", "arrangement \(id)'s instalments in the store are not a plan: \(error)")
            }
            let assessment = ArrangementPolicy.Assessment(
                requiredRole: CollectionsRole(name: try row.value("required_role"), rank: try row.value("required_rank")),
                approvalsNeeded: try row.value("approvals_needed"), reduction: money(try row.value("reduction")),
                termMonths: try row.value("term_months"), isTokenPlan: try row.value("is_token"), matrixVersion: try row.value("matrix_version"))
            let income = IncomeAndExpenditure(
                monthlyIncome: money(try row.value("monthly_income")), monthlyExpenditure: money(try row.value("monthly_expenditure")),
                recordedOn: try row.date("income_recorded_on"), recordedBy: try row.value("income_recorded_by"))
            return ArrangementProposal(
                id: id, plan: plan, assessment: assessment, proposedBy: try row.value("proposed_by"), state: state, approvals: approvals[id] ?? [],
                income: income, milesArrangementId: try row.value("miles_reference"),
                paidBefore: try row.value("paid_before", as: Int64?.self).map(money),
                outcome: Self.outcome(try row.value("outcome"), failure: try row.value("failure_reason")),
                cancelRequestedBy: try row.value("cancel_requested_by"))
        }
    }
}
