import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore: ArrangementStore {
    /// The states in which an arrangement is not over: a contract has at most one.
    private static let openStates = "('pendingApproval', 'approved', 'active', 'broken', 'completed')"

    public func createArrangement(_ arrangement: NewArrangement, proposedBy: String, at: Timestamp) async throws -> Int64 {
        try transaction { db in
            let plan = arrangement.plan
            if let open = try Row.fetchOne(db, sql: """
                SELECT id, state FROM arrangements WHERE contract_number = ? AND state IN \(Self.openStates) ORDER BY id LIMIT 1
                """, arguments: [plan.contractNumber]) {
                throw StoreError(.duplicate, input: "contract \(plan.contractNumber)",
                                 "contract \(plan.contractNumber) already has arrangement \(open["id"] as Int64) (\(open["state"] as String)): "
                                    + "cancel it, or close it, before proposing another")
            }
            let assessment = arrangement.assessment
            let income = arrangement.income
            try db.execute(sql: """
                INSERT INTO arrangements (contract_number, frequency, is_settlement, currency, proposed_by, proposed_at, state, required_role,
                    required_rank, approvals_needed, matrix_version, reduction, term_months, is_token, monthly_income, monthly_expenditure,
                    income_recorded_on, income_recorded_by)
                VALUES (?, ?, ?, ?, ?, ?, 'pendingApproval', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [plan.contractNumber, plan.frequency.rawValue, plan.isSettlement, plan.currency.code, proposedBy,
                                 at.millisecondsSinceEpoch, assessment.requiredRole.name, assessment.requiredRole.rank, assessment.approvalsNeeded,
                                 assessment.matrixVersion, assessment.reduction.minorUnits, assessment.termMonths, assessment.isTokenPlan,
                                 income.monthlyIncome.minorUnits, income.monthlyExpenditure.minorUnits, income.recordedOn.daysSinceEpoch,
                                 income.recordedBy])
            let id = db.lastInsertedRowID
            for (position, instalment) in plan.instalments.enumerated() {
                try db.execute(sql: "INSERT INTO arrangement_instalments (arrangement_id, position, due_date, amount) VALUES (?, ?, ?, ?)",
                               arguments: [id, position, instalment.dueDate.daysSinceEpoch, instalment.amount.minorUnits])
            }
            try db.execute(sql: "UPDATE reported_arrangements SET arrangement_id = ? WHERE contract_number = ? AND arrangement_id IS NULL",
                           arguments: [id, plan.contractNumber])
            try self.audit(db, at: at, actor: proposedBy, action: "arrangement.proposed", subject: "arrangement:\(id)",
                           details: "contract \(plan.contractNumber), \(plan.instalments.count) \(plan.frequency.rawValue) instalments from "
                            + "\(plan.firstDate) to \(plan.lastDate), \(plan.total)" + (plan.isSettlement ? " in settlement" : "")
                            + "; income \(income.monthlyIncome), expenditure \(income.monthlyExpenditure) a month; needs "
                            + "\(assessment.requiredRole.name) x\(assessment.approvalsNeeded) (matrix v\(assessment.matrixVersion))")
            return id
        }
    }

    public func arrangement(id: Int64) async throws -> ArrangementProposal? {
        try read { db in try self.arrangement(id: id, db) }
    }

    func arrangement(id: Int64, _ db: Database) throws -> ArrangementProposal? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM arrangements WHERE id = ?"), arguments: [id]).map { try self.arrangement(from: $0, db) }
    }

    public func arrangements(state: ArrangementProposal.State?) async throws -> [ArrangementProposal] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM arrangements WHERE ?1 IS NULL OR state = ?1 ORDER BY id", arguments: [state?.rawValue])
                .map { try self.arrangement(from: $0, db) }
        }
    }

    public func arrangements(contractNumber: String) async throws -> [ArrangementProposal] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM arrangements WHERE contract_number = ? ORDER BY id DESC", arguments: [contractNumber])
                .map { try self.arrangement(from: $0, db) }
        }
    }

    public func reportedArrangements(open: Bool, limit: Int) async throws -> [ReportedArrangement] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM reported_arrangements WHERE NOT ? OR arrangement_id IS NULL ORDER BY id DESC LIMIT ?
                """, arguments: [open, limit]).map { row in
                ReportedArrangement(id: row["id"], contractNumber: row["contract_number"], agent: row["agent"],
                                    reportedOn: LocalDate(daysSinceEpoch: row["reported_on"]), details: row["details"], source: row["source"],
                                    proposal: row["arrangement_id"])
            }
        }
    }

    /// Keeps an agent's report of an arrangement for the team, inside the ingest batch's transaction.
    func record(_ reported: ReportedArrangement, at: Timestamp, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO reported_arrangements (contract_number, agent, reported_on, details, source) VALUES (?, ?, ?, ?, ?)
            """, arguments: [reported.contractNumber, reported.agent, reported.reportedOn.daysSinceEpoch, reported.details, reported.source])
        try audit(db, at: at, actor: "ingest:\(reported.agent)", action: "arrangement.reported", subject: "contract:\(reported.contractNumber)",
                  details: "\(reported.details) (\(reported.source)): to be proposed with the customer's income and expenditure")
    }

    public func recordArrangementApproval(id: Int64, approval: Approval, expectedApprovals: Int, isFinal: Bool) async throws {
        try transaction { db in
            try self.recordDecisionApproval(.createPaymentArrangement, table: "arrangements", record: "arrangement", id: id, approval: approval,
                                            expectedApprovals: expectedApprovals, isFinal: isFinal, db)
        }
    }

    public func rejectArrangement(id: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: "UPDATE arrangements SET state = 'rejected', outcome = ?, decided_at = ? WHERE id = ? AND state = 'pendingApproval'",
                           arguments: [reason, at.millisecondsSinceEpoch, id])
            guard db.changesCount == 1 else {
                throw StoreError(.wrongState, input: "arrangement \(id)", "arrangement \(id) is not waiting for approval, so it cannot be rejected")
            }
            try self.audit(db, at: at, actor: actor, action: "arrangement.rejected", subject: "arrangement:\(id)", details: reason)
        }
    }

    public func cancelArrangement(id: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        try transaction { db in
            let state = try String.fetchOne(db, sql: "SELECT state FROM arrangements WHERE id = ?", arguments: [id])
            switch state.flatMap(ArrangementProposal.State.init) {
            case .pendingApproval?:
                try db.execute(sql: "UPDATE arrangements SET state = 'cancelled', outcome = ? WHERE id = ?", arguments: [reason, id])
                try self.audit(db, at: at, actor: actor, action: "arrangement.cancelled", subject: "arrangement:\(id)", details: reason)
            case .active?, .broken?, .completed?:
                guard try self.queueCancellation(id, reason: reason, by: actor, at: at, db) else {
                    throw StoreError(.wrongState, input: "arrangement \(id)", "arrangement \(id) already has a cancellation in the outbox "
                                     + "(see 'outbox list'; a dead-lettered one is retried with 'outbox retry')")
                }
                try self.audit(db, at: at, actor: actor, action: "arrangement.cancel-requested", subject: "arrangement:\(id)",
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
        try transaction { db in
            try db.execute(sql: """
                UPDATE arrangements SET state = ?, outcome = ?, broken_on = CASE ? WHEN 'broken' THEN ? END WHERE id = ? AND state = 'active'
                """, arguments: [state.rawValue, outcome, state.rawValue, date.daysSinceEpoch, id])
            guard db.changesCount == 1 else {
                throw StoreError(.changedMeanwhile, input: "arrangement \(id)", "arrangement \(id) is no longer active")
            }
            try self.audit(db, at: at, actor: "sync", action: "arrangement.\(state.rawValue)", subject: "arrangement:\(id)", details: outcome)
            if let alert { try self.raise(alert, runId: nil, at: at, db) }
        }
    }

    public func arrangementBreaks(contractNumber: String) async throws -> [LocalDate] {
        try read { db in
            try Int32.fetchAll(db, sql: "SELECT broken_on FROM arrangements WHERE contract_number = ? AND broken_on IS NOT NULL ORDER BY broken_on",
                               arguments: [contractNumber]).map(LocalDate.init(daysSinceEpoch:))
        }
    }

    public func closeArrangement(id: Int64, by actor: String, change: StatusChange, at: Timestamp) async throws -> Int64 {
        try transaction { db in
            let state = try String.fetchOne(db, sql: "SELECT state FROM arrangements WHERE id = ?", arguments: [id])
            guard state == "broken" || state == "completed" else {
                throw StoreError(.wrongState, input: "arrangement \(id)", "arrangement \(id) is \(state ?? "not there"), not broken or completed")
            }
            let changeId = try self.queueStatusChange(change, db)
            try db.execute(sql: "UPDATE arrangements SET state = 'closed', closing_status_change = ?, decided_at = ? WHERE id = ?",
                           arguments: [changeId, at.millisecondsSinceEpoch, id])
            var details = "status change \(changeId) to \(change.to.rawValue) (\(change.reasonCode)) queued"
            // MILES still holds the plan as active: it is ended there too, once.
            if try self.queueCancellation(id, reason: "\(state ?? ""): closed by \(actor)", by: actor, at: at, db) {
                details += "; the plan is ended in MILES (\(OutboxKind.cancelPaymentArrangement.clientReference(forSubject: id)))"
            }
            try self.audit(db, at: at, actor: actor, action: "arrangement.closed", subject: "arrangement:\(id)", details: details)
            return changeId
        }
    }

    /// Queues CancelPaymentArrangement for the arrangement unless one is already in the outbox;
    /// false when there was one.
    private func queueCancellation(_ id: Int64, reason: String, by actor: String, at: Timestamp, _ db: Database) throws -> Bool {
        let kind = OutboxKind.cancelPaymentArrangement
        guard try Int64.fetchOne(db, sql: "SELECT id FROM outbox WHERE kind = ? AND subject_id = ?", arguments: [kind.rawValue, id]) == nil else {
            return false
        }
        try db.execute(sql: "UPDATE arrangements SET cancel_reason = ?, cancel_requested_by = ? WHERE id = ?", arguments: [reason, actor, id])
        try OutboxDoor(db).enqueue(kind, subjectId: id, at: at)
        return true
    }

    public func recordArrangementCreated(_ entry: OutboxEntry, created: CreatedArrangement, at: Timestamp) async throws {
        try transaction { db in
            let id = try self.markSent(entry, result: created.arrangementId, at: at, db)
            try db.execute(sql: "UPDATE arrangements SET state = 'active', miles_reference = ?, paid_before = ?, failure_reason = NULL WHERE id = ?",
                           arguments: [created.arrangementId, created.paidBefore.minorUnits, id])
            try self.audit(db, at: at, actor: "outbox-relay", action: "arrangement.created", subject: "arrangement:\(id)",
                           details: "MILES \(created.arrangementId); paid to date then \(created.paidBefore)")
        }
    }

    public func recordArrangementCancelled(_ entry: OutboxEntry, at: Timestamp) async throws {
        try transaction { db in
            let id = try self.markSent(entry, result: nil, at: at, db)
            // A closed (broken) arrangement stays closed: its cancellation only ends it in MILES.
            try db.execute(sql: """
                UPDATE arrangements SET state = CASE state WHEN 'closed' THEN 'closed' ELSE 'cancelled' END,
                    outcome = CASE state WHEN 'closed' THEN outcome ELSE cancel_reason END, failure_reason = NULL WHERE id = ?
                """, arguments: [id])
            try self.audit(db, at: at, actor: "outbox-relay", action: "arrangement.cancelled", subject: "arrangement:\(id)", details: "cancelled in MILES")
        }
    }

    /// How it ended, and what failed on the way; nil when neither is known.
    private static func outcome(_ outcome: String?, failure: String?) -> String? {
        let parts = [outcome, failure].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    private func arrangement(from row: Row, _ db: Database) throws -> ArrangementProposal {
        let id: Int64 = row["id"]
        let currency = try CurrencyCode(row["currency"])
        func money(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: currency) }
        guard let frequency = PaymentArrangement.Frequency(rawValue: row["frequency"]),
              let state = ArrangementProposal.State(rawValue: row["state"]) else {
            throw StoreError(.corruptRecord, input: "arrangement \(id)", "arrangement \(id) has an unknown frequency or state in the store")
        }
        let instalments = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM arrangement_instalments WHERE arrangement_id = ? ORDER BY position"),
                                           arguments: [id]).map { instalment in
            PaymentArrangement.Instalment(dueDate: LocalDate(daysSinceEpoch: instalment["due_date"]), amount: money(instalment["amount"]))
        }
        let plan: PaymentArrangement
        do {
            plan = try PaymentArrangement(contractNumber: row["contract_number"], frequency: frequency, instalments: instalments,
                                          isSettlement: row["is_settlement"])
        } catch {
            throw StoreError(.corruptRecord, input: "arrangement \(id)", "arrangement \(id)'s instalments in the store are not a plan: \(error)")
        }
        let approvals = try decisionApprovals(.createPaymentArrangement, id: id, db)
        let assessment = ArrangementPolicy.Assessment(
            requiredRole: CollectionsRole(name: row["required_role"], rank: row["required_rank"]), approvalsNeeded: row["approvals_needed"],
            reduction: money(row["reduction"]), termMonths: row["term_months"], isTokenPlan: row["is_token"], matrixVersion: row["matrix_version"])
        let income = IncomeAndExpenditure(monthlyIncome: money(row["monthly_income"]), monthlyExpenditure: money(row["monthly_expenditure"]),
                                          recordedOn: LocalDate(daysSinceEpoch: row["income_recorded_on"]), recordedBy: row["income_recorded_by"])
        return ArrangementProposal(
            id: id, plan: plan, assessment: assessment, proposedBy: row["proposed_by"], state: state, approvals: approvals, income: income,
            milesArrangementId: row["miles_reference"], paidBefore: (row["paid_before"] as Int64?).map(money),
            outcome: Self.outcome(row["outcome"], failure: row["failure_reason"]),
            cancelRequestedBy: row["cancel_requested_by"])
    }
}
