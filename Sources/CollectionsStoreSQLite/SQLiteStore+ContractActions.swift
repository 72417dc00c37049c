import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore {
    public func queueStatusChange(_ change: StatusChange) async throws -> Int64 {
        try transaction { db in try self.queueStatusChange(change, db) }
    }

    func queueStatusChange(_ change: StatusChange, _ db: Database) throws -> Int64 {
        let overrides = change.overrides.map { "\($0.rule)|\($0.by)|\($0.role)|\($0.reason)" }.joined(separator: "\n")
        try db.execute(sql: """
            INSERT INTO status_changes (contract_number, to_status, reason_code, effective_date, court_order_reference,
                expected_version, requested_by, requested_at, state, overrides, customer_consent, abandonment)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)
            """, arguments: [
                change.contractNumber, change.to.rawValue, change.reasonCode, change.effectiveDate.daysSinceEpoch,
                change.courtOrderReference, change.expectedVersion, change.requestedBy, change.requestedAt.millisecondsSinceEpoch,
                overrides, change.customerConsent, change.abandonment,
            ])
        let id = db.lastInsertedRowID
        let at = change.requestedAt
        try self.audit(db, at: at, actor: change.requestedBy, action: "status.requested", subject: "contract:\(change.contractNumber)",
                  details: "to \(change.to.rawValue), reason \(change.reasonCode), effective \(change.effectiveDate), "
                    + "on version \(change.expectedVersion)" + (change.evidence.summary.isEmpty ? "" : "; evidence: \(change.evidence.summary)"))
        for override in change.overrides {
            try self.audit(db, at: at, actor: override.by, action: "guard.overridden", subject: "contract:\(change.contractNumber)",
                      details: "rule \(override.rule) set aside by \(override.by) (\(override.role)): \(override.reason)")
        }
        let kind = OutboxKind.updateContractStatus
        let entryId = try OutboxDoor(db).enqueue(kind, subjectId: id, at: at)
        try self.audit(db, at: at, actor: change.requestedBy, action: "outbox.queued", subject: "outbox:\(entryId)",
                  details: "\(kind.operation) \(kind.clientReference(forSubject: id))")
        return id
    }

    public func statusChange(id: Int64) async throws -> StatusChange? {
        try read { db in try self.statusChange(id: id, db) }
    }

    /// Read inside the caller's transaction.
    func statusChange(id: Int64, _ db: Database) throws -> StatusChange? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM status_changes WHERE id = ?", arguments: [id]) else { return nil }
        guard let status = ContractStatus(rawValue: row["to_status"]), let state = StatusChange.State(rawValue: row["state"]) else {
            throw StoreError(.corruptRecord, input: "status change \(id)", "status change \(id) has an unknown status or state in the store")
        }
        let overridesText: String = row["overrides"]
        var overrides: [GuardOverride] = []
        for line in overridesText.split(separator: "\n") {
            let parts = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            if parts.count == 4 { overrides.append(GuardOverride(rule: parts[0], by: parts[1], role: parts[2], reason: parts[3])) }
        }
        return StatusChange(
            id: id, contractNumber: row["contract_number"], to: status, reasonCode: row["reason_code"],
            effectiveDate: LocalDate(daysSinceEpoch: row["effective_date"]), courtOrderReference: row["court_order_reference"],
            expectedVersion: row["expected_version"], requestedBy: row["requested_by"],
            requestedAt: Timestamp(millisecondsSinceEpoch: row["requested_at"]), state: state, overrides: overrides,
            milesVersion: row["miles_version"], failureReason: row["failure_reason"], customerConsent: row["customer_consent"],
            abandonment: row["abandonment"])
    }

    public func recordStatusApplied(_ entry: OutboxEntry, milesVersion: Int64, at: Timestamp) async throws {
        try transaction { db in
            let changeId = try self.markSent(entry, result: "version \(milesVersion)", at: at, db)
            try db.execute(sql: "UPDATE status_changes SET state = 'applied', miles_version = ?, failure_reason = NULL WHERE id = ?",
                           arguments: [milesVersion, changeId])
            let contract = try String.fetchOne(db, sql: "SELECT contract_number FROM status_changes WHERE id = ?", arguments: [changeId]) ?? "?"
            try self.audit(db, at: at, actor: "outbox-relay", action: "status.applied", subject: "contract:\(contract)",
                      details: "status change \(changeId) applied in MILES as version \(milesVersion)")
        }
    }

    public func upsertContract(_ contract: Contract) async throws {
        try transaction { db in
            if try ContractRowWriter(db).write(contract) { try self.advanceContractsRevision(db) }
            try self.indexCustomerNames(db)
        }
    }

    public func holds(contractNumber: String) async throws -> [ContractHold] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM holds WHERE contract_number = ? ORDER BY id", arguments: [contractNumber]).compactMap { row in
                guard let kind = ContractHold.Kind(rawValue: row["kind"]) else { return nil }
                return ContractHold(kind: kind, reason: row["reason"], setBy: row["set_by"], setOn: LocalDate(daysSinceEpoch: row["set_on"]),
                                    liftedOn: (row["lifted_on"] as Int32?).map(LocalDate.init(daysSinceEpoch:)))
            }
        }
    }

    public func recordHold(_ hold: ContractHold, contractNumber: String, placedWith: String?, instruction: AgentInstruction?,
                           at: Timestamp) async throws {
        try transaction { db in
            // Checked where it is written: two people setting the same kind of hold at once make one.
            if let active = try Self.activeHold(like: hold, contractNumber: contractNumber, db) {
                throw StoreError.holdActive(hold.kind, on: contractNumber, setOn: active.setOn, by: active.setBy, reason: active.reason)
            }
            try self.recordHold(hold, contractNumber: contractNumber, placedWith: placedWith, instruction: instruction, at: at, db)
        }
    }

    /// The hold of `hold`'s kind already active on the contract on the day `hold` is set, if any.
    static func activeHold(like hold: ContractHold, contractNumber: String, _ db: Database) throws -> ContractHold? {
        try Row.fetchOne(db, sql: """
            SELECT set_on, set_by, reason FROM holds WHERE contract_number = ? AND kind = ? AND set_on <= ? AND (lifted_on IS NULL OR lifted_on > ?)
            """, arguments: [contractNumber, hold.kind.rawValue, hold.setOn.daysSinceEpoch, hold.setOn.daysSinceEpoch]).map {
            ContractHold(kind: hold.kind, reason: $0[2], setBy: $0[1], setOn: LocalDate(daysSinceEpoch: $0[0]))
        }
    }

    /// Stores the hold and the instruction the desk decided on, inside the caller's transaction.
    func recordHold(_ hold: ContractHold, contractNumber: String, placedWith: String?, instruction: AgentInstruction?, at: Timestamp,
                    _ db: Database) throws {
        let placedNow = try String.fetchOne(db, sql: "SELECT agent FROM placements WHERE contract_number = ? AND recalled_at IS NULL",
                                            arguments: [contractNumber])
        guard placedNow == placedWith else {
            throw StoreError(.changedMeanwhile, input: "contract \(contractNumber)",
                             "contract \(contractNumber) was " + (placedNow.map { "placed with \($0)" } ?? "recalled")
                                + " while its \(hold.kind.rawValue) hold was being decided; decide it again")
        }
        try db.execute(sql: "INSERT INTO holds (contract_number, kind, reason, set_by, set_on) VALUES (?, ?, ?, ?, ?)",
                       arguments: [contractNumber, hold.kind.rawValue, hold.reason, hold.setBy, hold.setOn.daysSinceEpoch])
        try self.audit(db, at: at, actor: hold.setBy, action: "hold.set", subject: "contract:\(contractNumber)",
                  details: "\(hold.kind.rawValue) from \(hold.setOn): \(hold.reason)")
        if let instruction {
            try db.execute(sql: """
                INSERT INTO agent_instructions (agent, contract_number, kind, reason, created_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [instruction.agent, instruction.contractNumber, instruction.kind.rawValue, instruction.reason,
                                 at.millisecondsSinceEpoch])
            try self.audit(db, at: at, actor: hold.setBy, action: "placement.paused", subject: "contract:\(contractNumber)",
                      details: "\(instruction.kind.rawValue) instruction for \(instruction.agent): \(hold.kind.rawValue) hold")
        }
    }

    public func notices(contractNumber: String) async throws -> ContractNotices {
        try read { db in
            var notices = ContractNotices()
            for row in try Row.fetchAll(db, sql: "SELECT * FROM notices WHERE contract_number = ? ORDER BY id", arguments: [contractNumber]) {
                let sent = LocalDate(daysSinceEpoch: row["sent_on"])
                if row["kind"] == "arrears" {
                    notices.arrearsNoticesSent.append(sent)
                } else if let remedy = row["remedy_date"] as Int32? {
                    notices.defaultNotice = ContractNotices.DefaultNotice(served: sent, remedyDate: LocalDate(daysSinceEpoch: remedy))
                }
            }
            return notices
        }
    }

    public func recordNotice(contractNumber: String, arrearsNoticeSentOn: LocalDate?, defaultNotice: ContractNotices.DefaultNotice?,
                             by actor: String, at: Timestamp) async throws {
        try transaction { db in
            if let sent = arrearsNoticeSentOn {
                try db.execute(sql: "INSERT INTO notices (contract_number, kind, sent_on, recorded_by) VALUES (?, 'arrears', ?, ?)",
                               arguments: [contractNumber, sent.daysSinceEpoch, actor])
                try self.audit(db, at: at, actor: actor, action: "notice.arrears", subject: "contract:\(contractNumber)", details: "sent \(sent)")
            }
            if let notice = defaultNotice {
                try db.execute(sql: """
                    INSERT INTO notices (contract_number, kind, sent_on, remedy_date, recorded_by) VALUES (?, 'default', ?, ?, ?)
                    """, arguments: [contractNumber, notice.served.daysSinceEpoch, notice.remedyDate.daysSinceEpoch, actor])
                try self.audit(db, at: at, actor: actor, action: "notice.default", subject: "contract:\(contractNumber)",
                          details: "served \(notice.served), remedy by \(notice.remedyDate)")
            }
        }
    }

    public func liftHold(contractNumber: String, kind: ContractHold.Kind, by actor: String, on date: LocalDate, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: """
                UPDATE holds SET lifted_on = ?, lifted_by = ? WHERE contract_number = ? AND kind = ? AND lifted_on IS NULL
                """, arguments: [date.daysSinceEpoch, actor, contractNumber, kind.rawValue])
            guard db.changesCount > 0 else { throw StoreError(.notFound, input: "contract \(contractNumber)", "contract \(contractNumber) has no active \(kind.rawValue) hold") }
            try self.audit(db, at: at, actor: actor, action: "hold.lifted", subject: "contract:\(contractNumber)", details: "\(kind.rawValue) on \(date)")
        }
    }

}
