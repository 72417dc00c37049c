import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: ContractActionStore {
    public func queueStatusChange(_ change: StatusChange) async throws -> Int64 {
        try await transaction { [self] connection in try await queueStatusChange(change, on: connection) }
    }

    /// Stores the status change, its audit entries and its outbox entry inside the caller's transaction.
    func queueStatusChange(_ change: StatusChange, on connection: PostgresConnection) async throws -> Int64 {
        let overrides = change.overrides.map { "\($0.rule)|\($0.by)|\($0.role)|\($0.reason)" }.joined(separator: "\n")
        guard let id = try await rows("""
            INSERT INTO status_changes (contract_number, to_status, reason_code, effective_date, court_order_reference,
                expected_version, requested_by, requested_at, state, overrides, customer_consent, abandonment)
            VALUES (\(change.contractNumber), \(change.to.rawValue), \(change.reasonCode), \(change.effectiveDate.daysSinceEpoch),
                    \(change.courtOrderReference), \(change.expectedVersion), \(change.requestedBy), \(change.requestedAt.millisecondsSinceEpoch),
                    'queued', \(overrides), \(change.customerConsent), \(change.abandonment))
            RETURNING id
            """, on: connection).first?.value("id", as: Int64.self) else {
            throw StoreError(.corruptRecord, input: "status change of \(change.contractNumber)",
                             "the store gave no id for a new status change of contract \(change.contractNumber)")
        }
        let at = change.requestedAt
        try await audit(connection, at: at, actor: change.requestedBy, action: "status.requested", subject: "contract:\(change.contractNumber)",
                        details: "to \(change.to.rawValue), reason \(change.reasonCode), effective \(change.effectiveDate), "
                          + "on version \(change.expectedVersion)" + (change.evidence.summary.isEmpty ? "" : "; evidence: \(change.evidence.summary)"))
        for override in change.overrides {
            try await audit(connection, at: at, actor: override.by, action: "guard.overridden", subject: "contract:\(change.contractNumber)",
                            details: "rule \(override.rule) set aside by \(override.by) (\(override.role)): \(override.reason)")
        }
        let kind = OutboxKind.updateContractStatus
        let entryId = try await enqueue(kind, subjectId: id, at: at, on: connection)
        try await audit(connection, at: at, actor: change.requestedBy, action: "outbox.queued", subject: "outbox:\(entryId)",
                        details: "\(kind.operation) \(kind.clientReference(forSubject: id))")
        return id
    }

    public func statusChange(id: Int64) async throws -> StatusChange? {
        try await read { [self] connection in try await statusChange(id: id, on: connection) }
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
        try await transaction { [self] connection in
            let changeId = try await markSent(entry, result: "version \(milesVersion)", at: at, on: connection)
            let contract = try await rows("""
                UPDATE status_changes SET state = 'applied', miles_version = \(milesVersion), failure_reason = NULL WHERE id = \(changeId)
                RETURNING contract_number
                """, on: connection).first?.value("contract_number", as: String.self) ?? "?"
            try await audit(connection, at: at, actor: "outbox-relay", action: "status.applied", subject: "contract:\(contract)",
                            details: "status change \(changeId) applied in MILES as version \(milesVersion)")
        }
    }

    public func holds(contractNumber: String) async throws -> [ContractHold] {
        try await read { [self] connection in
            try await rows("SELECT * FROM holds WHERE contract_number = \(contractNumber) ORDER BY id", on: connection).compactMap { row in
                guard let kind = ContractHold.Kind(rawValue: try row.value("kind")) else { return nil }
                return ContractHold(kind: kind, reason: try row.value("reason"), setBy: try row.value("set_by"), setOn: try row.date("set_on"),
                                    liftedOn: try row.date("lifted_on", as: LocalDate?.self))
            }
        }
    }

    public func recordHold(_ hold: ContractHold, contractNumber: String, placedWith: String?, instruction: AgentInstruction?,
                           at: Timestamp) async throws {
        try await transaction { [self] connection in
            // Checked where it is written, under its lock: two people setting the same kind of hold at once make one.
            try await lockHolds(of: [(hold.kind, contractNumber)], on: connection)
            if let active = try await activeHold(like: hold, contractNumber: contractNumber, on: connection) {
                throw StoreError.holdActive(hold.kind, on: contractNumber, setOn: active.setOn, by: active.setBy, reason: active.reason)
            }
            try await recordHold(hold, contractNumber: contractNumber, placedWith: placedWith, instruction: instruction, at: at, on: connection)
        }
    }

    /// Takes the locks on these kinds of hold of these contracts, held until the transaction ends, in one
    /// order whoever takes them: a batch taking several never waits on another that waits on it.
    func lockHolds(of holds: [(kind: ContractHold.Kind, contractNumber: String)], on connection: PostgresConnection) async throws {
        for key in Set(holds.map { "\($0.kind.rawValue) holds of \($0.contractNumber)" }).sorted() {
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(key)))", logger: logger)
        }
    }

    /// The hold of `hold`'s kind already active on the contract on the day `hold` is set, if any. The caller holds
    /// that hold's lock (`lockHolds`), so two writers of that kind of hold take turns.
    func activeHold(like hold: ContractHold, contractNumber: String, on connection: PostgresConnection) async throws -> ContractHold? {
        let day = Int32(hold.setOn.daysSinceEpoch)
        return try await rows("""
            SELECT set_on, set_by, reason FROM holds WHERE contract_number = \(contractNumber) AND kind = \(hold.kind.rawValue)
            AND set_on <= \(day) AND (lifted_on IS NULL OR lifted_on > \(day))
            """, on: connection).first.map {
            ContractHold(kind: hold.kind, reason: try $0.value("reason"), setBy: try $0.value("set_by"), setOn: try $0.date("set_on"))
        }
    }

    /// Stores the hold and the instruction the desk decided on, inside the caller's transaction.
    func recordHold(_ hold: ContractHold, contractNumber: String, placedWith: String?, instruction: AgentInstruction?, at: Timestamp,
                    on connection: PostgresConnection) async throws {
        // FOR SHARE: a recall of the placement waits for this transaction, so an instruction is never
        // committed to an agent the account was taken back from meanwhile.
        let placedNow = try await rows("""
            SELECT agent FROM placements WHERE contract_number = \(contractNumber) AND recalled_at IS NULL FOR SHARE
            """, on: connection).first?.value("agent", as: String.self)
        guard placedNow == placedWith else {
            throw StoreError(.changedMeanwhile, input: "contract \(contractNumber)",
                             "contract \(contractNumber) was " + (placedNow.map { "placed with \($0)" } ?? "recalled")
                                + " while its \(hold.kind.rawValue) hold was being decided; decide it again")
        }
        try await connection.query("""
            INSERT INTO holds (contract_number, kind, reason, set_by, set_on)
            VALUES (\(contractNumber), \(hold.kind.rawValue), \(hold.reason), \(hold.setBy), \(hold.setOn.daysSinceEpoch))
            """, logger: logger)
        try await audit(connection, at: at, actor: hold.setBy, action: "hold.set", subject: "contract:\(contractNumber)",
                        details: "\(hold.kind.rawValue) from \(hold.setOn): \(hold.reason)")
        if let instruction {
            try await connection.query("""
                INSERT INTO agent_instructions (agent, contract_number, kind, reason, created_at)
                VALUES (\(instruction.agent), \(instruction.contractNumber), \(instruction.kind.rawValue), \(instruction.reason),
                        \(at.millisecondsSinceEpoch))
                """, logger: logger)
            try await audit(connection, at: at, actor: hold.setBy, action: "placement.paused", subject: "contract:\(contractNumber)",
                            details: "\(instruction.kind.rawValue) instruction for \(instruction.agent): \(hold.kind.rawValue) hold")
        }
    }

    public func notices(contractNumber: String) async throws -> ContractNotices {
        try await read { [self] connection in
            var notices = ContractNotices()
            for row in try await rows("SELECT * FROM notices WHERE contract_number = \(contractNumber) ORDER BY id", on: connection) {
                let sent = try row.date("sent_on")
                if try row.value("kind", as: String.self) == "arrears" {
                    notices.arrearsNoticesSent.append(sent)
                } else if let remedy = try row.date("remedy_date", as: LocalDate?.self) {
                    notices.defaultNotice = ContractNotices.DefaultNotice(served: sent, remedyDate: remedy)
                }
            }
            return notices
        }
    }

    public func recordNotice(contractNumber: String, arrearsNoticeSentOn: LocalDate?, defaultNotice: ContractNotices.DefaultNotice?,
                             by actor: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            if let sent = arrearsNoticeSentOn {
                try await connection.query("""
                    INSERT INTO notices (contract_number, kind, sent_on, recorded_by) VALUES (\(contractNumber), 'arrears', \(sent.daysSinceEpoch), \(actor))
                    """, logger: logger)
                try await audit(connection, at: at, actor: actor, action: "notice.arrears", subject: "contract:\(contractNumber)", details: "sent \(sent)")
            }
            if let notice = defaultNotice {
                try await connection.query("""
                    INSERT INTO notices (contract_number, kind, sent_on, remedy_date, recorded_by)
                    VALUES (\(contractNumber), 'default', \(notice.served.daysSinceEpoch), \(notice.remedyDate.daysSinceEpoch), \(actor))
                    """, logger: logger)
                try await audit(connection, at: at, actor: actor, action: "notice.default", subject: "contract:\(contractNumber)",
                                details: "served \(notice.served), remedy by \(notice.remedyDate)")
            }
        }
    }

    public func liftHold(contractNumber: String, kind: ContractHold.Kind, by actor: String, on date: LocalDate, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let lifted = try await rows("""
                UPDATE holds SET lifted_on = \(date.daysSinceEpoch), lifted_by = \(actor)
                WHERE contract_number = \(contractNumber) AND kind = \(kind.rawValue) AND lifted_on IS NULL
                RETURNING id
                """, on: connection)
            guard !lifted.isEmpty else {
                throw StoreError(.notFound, input: "contract \(contractNumber)", "contract \(contractNumber) has no active \(kind.rawValue) hold")
            }
            try await audit(connection, at: at, actor: actor, action: "hold.lifted", subject: "contract:\(contractNumber)", details: "\(kind.rawValue) on \(date)")
        }
    }
}
