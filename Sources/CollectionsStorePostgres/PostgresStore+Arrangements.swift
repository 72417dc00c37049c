import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: ArrangementStore {
    /// The states in which an arrangement is not over: a contract has at most one.
    private static let openStates = "('pendingApproval', 'approved', 'active', 'broken', 'completed')"

    public func createArrangement(_ arrangement: NewArrangement, proposedBy: String, at: Timestamp) async throws -> Int64 {
        try await transaction { [self] connection in
            let plan = arrangement.plan
            // The contract's proposals are stored one after the other: of two processes proposing at once, the second finds the first.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("arrangements of " + plan.contractNumber)))", logger: logger)
            if let open = try await rows("""
                SELECT id, state FROM arrangements WHERE contract_number = \(plan.contractNumber) AND state IN \(unescaped: Self.openStates)
                ORDER BY id LIMIT 1
                """, on: connection).first {
                let (openId, openState) = (try open.value("id", as: Int64.self), try open.value("state", as: String.self))
                throw StoreError(.duplicate, input: "contract \(plan.contractNumber)",
                                 "contract \(plan.contractNumber) already has arrangement \(openId) (\(openState)): "
                                    + "cancel it, or close it, before proposing another")
            }
            let assessment = arrangement.assessment
            let income = arrangement.income
            let inserted = try await rows("""
                INSERT INTO arrangements (contract_number, frequency, is_settlement, currency, proposed_by, proposed_at, state, required_role,
                    required_rank, approvals_needed, matrix_version, reduction, term_months, is_token, monthly_income, monthly_expenditure,
                    income_recorded_on, income_recorded_by)
                VALUES (\(plan.contractNumber), \(plan.frequency.rawValue), \(plan.isSettlement), \(plan.currency.code), \(proposedBy),
                    \(at.millisecondsSinceEpoch), 'pendingApproval', \(assessment.requiredRole.name), \(assessment.requiredRole.rank),
                    \(assessment.approvalsNeeded), \(assessment.matrixVersion), \(assessment.reduction.minorUnits), \(assessment.termMonths),
                    \(assessment.isTokenPlan), \(income.monthlyIncome.minorUnits), \(income.monthlyExpenditure.minorUnits),
                    \(income.recordedOn.daysSinceEpoch), \(income.recordedBy))
                RETURNING id
                """, on: connection)
            let id = try inserted.first?.value("id", as: Int64.self) ?? 0
            try await connection.query("""
                INSERT INTO arrangement_instalments (arrangement_id, position, due_date, amount)
                SELECT \(id), position - 1, due_date, amount
                FROM unnest(\(plan.instalments.map(\.dueDate.daysSinceEpoch)), \(plan.instalments.map(\.amount.minorUnits)))
                    WITH ORDINALITY AS instalment (due_date, amount, position)
                """, logger: logger)
            try await connection.query("""
                UPDATE reported_arrangements SET arrangement_id = \(id) WHERE contract_number = \(plan.contractNumber) AND arrangement_id IS NULL
                """, logger: logger)
            try await audit(connection, at: at, actor: proposedBy, action: "arrangement.proposed", subject: "arrangement:\(id)",
                            details: "contract \(plan.contractNumber), \(plan.instalments.count) \(plan.frequency.rawValue) instalments from "
                              + "\(plan.firstDate) to \(plan.lastDate), \(plan.total)" + (plan.isSettlement ? " in settlement" : "")
                              + "; income \(income.monthlyIncome), expenditure \(income.monthlyExpenditure) a month; needs "
                              + "\(assessment.requiredRole.name) x\(assessment.approvalsNeeded) (matrix v\(assessment.matrixVersion))")
            return id
        }
    }

    public func arrangement(id: Int64) async throws -> ArrangementProposal? {
        try await read { [self] connection in try await arrangement(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func arrangement(id: Int64, on connection: PostgresConnection) async throws -> ArrangementProposal? {
        try await arrangements(rows("SELECT * FROM arrangements WHERE id = \(id)", on: connection), on: connection).first
    }

    public func arrangements(state: ArrangementProposal.State?) async throws -> [ArrangementProposal] {
        try await read { [self] connection in
            try await arrangements(rows("""
                SELECT * FROM arrangements WHERE \(state?.rawValue)::text IS NULL OR state = \(state?.rawValue) ORDER BY id
                """, on: connection), on: connection)
        }
    }

    public func arrangements(contractNumber: String) async throws -> [ArrangementProposal] {
        try await read { [self] connection in
            try await arrangements(rows("SELECT * FROM arrangements WHERE contract_number = \(contractNumber) ORDER BY id DESC", on: connection),
                                   on: connection)
        }
    }

    public func reportedArrangements(open: Bool, limit: Int) async throws -> [ReportedArrangement] {
        try await read { [self] connection in
            try await rows("""
                SELECT * FROM reported_arrangements WHERE NOT \(open) OR arrangement_id IS NULL ORDER BY id DESC LIMIT \(limit)
                """, on: connection).map { row in
                ReportedArrangement(id: try row.value("id"), contractNumber: try row.value("contract_number"), agent: try row.value("agent"),
                                    reportedOn: try row.date("reported_on"), details: try row.value("details"), source: try row.value("source"),
                                    proposal: try row.value("arrangement_id"))
            }
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

    public func recordArrangementApproval(id: Int64, approval: Approval, expectedApprovals: Int, isFinal: Bool) async throws {
        try await transaction { [self] connection in
            try await recordDecisionApproval(.createPaymentArrangement, table: "arrangements", record: "arrangement", id: id, approval: approval,
                                             expectedApprovals: expectedApprovals, isFinal: isFinal, on: connection)
        }
    }

    public func rejectArrangement(id: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let rejected = try await rows("""
                UPDATE arrangements SET state = 'rejected', outcome = \(reason), decided_at = \(at.millisecondsSinceEpoch)
                WHERE id = \(id) AND state = 'pendingApproval' RETURNING id
                """, on: connection)
            guard !rejected.isEmpty else {
                throw StoreError(.wrongState, input: "arrangement \(id)", "arrangement \(id) is not waiting for approval, so it cannot be rejected")
            }
            try await audit(connection, at: at, actor: actor, action: "arrangement.rejected", subject: "arrangement:\(id)", details: reason)
        }
    }

    public func cancelArrangement(id: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            // The row is locked: a cancellation and a closing at once are decided one after the other, and queue one cancellation.
            let state = try await rows("SELECT state FROM arrangements WHERE id = \(id) FOR UPDATE", on: connection)
                .first?.value("state", as: String.self)
            switch state.flatMap(ArrangementProposal.State.init) {
            case .pendingApproval?:
                try await connection.query("UPDATE arrangements SET state = 'cancelled', outcome = \(reason) WHERE id = \(id)", logger: logger)
                try await audit(connection, at: at, actor: actor, action: "arrangement.cancelled", subject: "arrangement:\(id)", details: reason)
            case .active?, .broken?, .completed?:
                guard try await queueCancellation(id, reason: reason, by: actor, at: at, on: connection) else {
                    throw StoreError(.wrongState, input: "arrangement \(id)", "arrangement \(id) already has a cancellation in the outbox "
                                     + "(see 'outbox list'; a dead-lettered one is retried with 'outbox retry')")
                }
                try await audit(connection, at: at, actor: actor, action: "arrangement.cancel-requested", subject: "arrangement:\(id)",
                                details: "\(reason); \(OutboxKind.cancelPaymentArrangement.clientReference(forSubject: id))")
            case .approved?:
                throw StoreError(.wrongState, input: "arrangement \(id)", "arrangement \(id) is approved and on its way to MILES: "
                                 + "cancel it once MILES has created it (after 'push')")
            default:
                throw StoreError(.wrongState, input: "arrangement \(id)",
                                 "arrangement \(id) is \(state ?? "not there"): only a waiting or active arrangement can be cancelled")
            }
        }
    }

    public func recordArrangementOutcome(id: Int64, state: ArrangementProposal.State, outcome: String, on date: LocalDate, alert: RiskAlert?,
                                         at: Timestamp) async throws {
        try await transaction { [self] connection in
            let changed = try await rows("""
                UPDATE arrangements
                SET state = \(state.rawValue), outcome = \(outcome), broken_on = \(state == .broken ? date.daysSinceEpoch : nil)
                WHERE id = \(id) AND state = 'active' RETURNING id
                """, on: connection)
            guard !changed.isEmpty else {
                throw StoreError(.changedMeanwhile, input: "arrangement \(id)", "arrangement \(id) is no longer active")
            }
            try await audit(connection, at: at, actor: "sync", action: "arrangement.\(state.rawValue)", subject: "arrangement:\(id)", details: outcome)
            if let alert { try await raise(alert, runId: nil, at: at, on: connection) }
        }
    }

    public func arrangementBreaks(contractNumber: String) async throws -> [LocalDate] {
        try await read { [self] connection in
            try await rows("""
                SELECT broken_on FROM arrangements WHERE contract_number = \(contractNumber) AND broken_on IS NOT NULL ORDER BY broken_on
                """, on: connection).map { try $0.date("broken_on") }
        }
    }

    public func closeArrangement(id: Int64, by actor: String, change: StatusChange, at: Timestamp) async throws -> Int64 {
        try await transaction { [self] connection in
            // The row is locked: two people closing it at once, or closing and cancelling it, are decided one after the other.
            let state = try await rows("SELECT state FROM arrangements WHERE id = \(id) FOR UPDATE", on: connection)
                .first?.value("state", as: String.self)
            guard state == "broken" || state == "completed" else {
                throw StoreError(.wrongState, input: "arrangement \(id)", "arrangement \(id) is \(state ?? "not there"), not broken or completed")
            }
            let changeId = try await queueStatusChange(change, on: connection)
            try await connection.query("""
                UPDATE arrangements SET state = 'closed', closing_status_change = \(changeId), decided_at = \(at.millisecondsSinceEpoch)
                WHERE id = \(id)
                """, logger: logger)
            var details = "status change \(changeId) to \(change.to.rawValue) (\(change.reasonCode)) queued"
            // MILES still holds the plan as active: it is ended there too, once.
            if try await queueCancellation(id, reason: "\(state ?? ""): closed by \(actor)", by: actor, at: at, on: connection) {
                details += "; the plan is ended in MILES (\(OutboxKind.cancelPaymentArrangement.clientReference(forSubject: id)))"
            }
            try await audit(connection, at: at, actor: actor, action: "arrangement.closed", subject: "arrangement:\(id)", details: details)
            return changeId
        }
    }

    /// Queues CancelPaymentArrangement for the arrangement unless one is already in the outbox;
    /// false when there was one. The caller holds the arrangement's row.
    private func queueCancellation(_ id: Int64, reason: String, by actor: String, at: Timestamp,
                                   on connection: PostgresConnection) async throws -> Bool {
        let kind = OutboxKind.cancelPaymentArrangement
        guard try await rows("SELECT id FROM outbox WHERE kind = \(kind.rawValue) AND subject_id = \(id)", on: connection).isEmpty else {
            return false
        }
        try await connection.query("""
            UPDATE arrangements SET cancel_reason = \(reason), cancel_requested_by = \(actor) WHERE id = \(id)
            """, logger: logger)
        _ = try await enqueue(kind, subjectId: id, at: at, on: connection)
        return true
    }

    public func recordArrangementCreated(_ entry: OutboxEntry, created: CreatedArrangement, at: Timestamp) async throws {
        try await transaction { [self] connection in
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
        try await transaction { [self] connection in
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
