import CollectionsDomain
import GRDB

extension SQLiteStore {
    public func queueStatusChange(_ change: StatusChange) throws -> Int64 {
        try database.write { db in try queueStatusChange(change, db) }
    }

    func queueStatusChange(_ change: StatusChange, _ db: Database) throws -> Int64 {
        let overrides = change.overrides.map { "\($0.rule)|\($0.by)|\($0.role)|\($0.reason)" }.joined(separator: "\n")
        try db.execute(sql: """
            INSERT INTO status_changes (contract_number, to_status, reason_code, effective_date, court_order_reference,
                expected_version, requested_by, requested_at, state, overrides)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)
            """, arguments: [
                change.contractNumber, change.to.rawValue, change.reasonCode, change.effectiveDate.daysSinceEpoch,
                change.courtOrderReference, change.expectedVersion, change.requestedBy, change.requestedAt.millisecondsSinceEpoch,
                overrides,
            ])
        let id = db.lastInsertedRowID
        let at = change.requestedAt
        try audit(db, at: at, actor: change.requestedBy, action: "status.requested", subject: "contract:\(change.contractNumber)",
                  details: "to \(change.to.rawValue), reason \(change.reasonCode), effective \(change.effectiveDate), "
                    + "on version \(change.expectedVersion)" + (change.courtOrderReference.map { ", court order \($0)" } ?? ""))
        for override in change.overrides {
            try audit(db, at: at, actor: override.by, action: "guard.overridden", subject: "contract:\(change.contractNumber)",
                      details: "rule \(override.rule) set aside by \(override.by) (\(override.role)): \(override.reason)")
        }
        try db.execute(sql: """
            INSERT INTO outbox (kind, client_reference, subject_id, state, next_attempt_at, created_at, updated_at)
            VALUES ('UpdateContractStatus', ?, ?, 'pending', ?, ?, ?)
            """, arguments: ["SC-\(id)", id, at.millisecondsSinceEpoch, at.millisecondsSinceEpoch, at.millisecondsSinceEpoch])
        try audit(db, at: at, actor: change.requestedBy, action: "outbox.queued", subject: "outbox:\(db.lastInsertedRowID)",
                  details: "UpdateContractStatus SC-\(id)")
        return id
    }

    public func statusChange(id: Int64) throws -> StatusChange? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM status_changes WHERE id = ?", arguments: [id]) else { return nil }
            guard let status = ContractStatus(rawValue: row["to_status"]), let state = StatusChange.State(rawValue: row["state"]) else {
                throw DatabaseError(message: "status change \(id) has an unknown status or state in the store")
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
                milesVersion: row["miles_version"], failureReason: row["failure_reason"])
        }
    }

    public func updateExpectedVersion(statusChangeId: Int64, to version: Int64) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE status_changes SET expected_version = ? WHERE id = ?", arguments: [version, statusChangeId])
        }
    }

    public func recordStatusApplied(entryId: Int64, milesVersion: Int64, at: Timestamp) throws {
        try database.write { db in
            guard let changeId = try Int64.fetchOne(db, sql: "SELECT subject_id FROM outbox WHERE id = ?", arguments: [entryId]) else {
                throw StoreRefusal("there is no outbox entry \(entryId)")
            }
            try db.execute(sql: "UPDATE outbox SET state = 'sent', result_reference = ?, last_error = NULL, updated_at = ? WHERE id = ?",
                           arguments: ["version \(milesVersion)", at.millisecondsSinceEpoch, entryId])
            try db.execute(sql: "UPDATE status_changes SET state = 'applied', miles_version = ?, failure_reason = NULL WHERE id = ?",
                           arguments: [milesVersion, changeId])
            let contract = try String.fetchOne(db, sql: "SELECT contract_number FROM status_changes WHERE id = ?", arguments: [changeId]) ?? "?"
            try audit(db, at: at, actor: "outbox-relay", action: "status.applied", subject: "contract:\(contract)",
                      details: "status change \(changeId) applied in MILES as version \(milesVersion)")
        }
    }

    public func upsertContract(_ contract: Contract) throws {
        try database.write { db in _ = try upsert(contract, db) }
    }

    public func holds(contractNumber: String) throws -> [ContractHold] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM holds WHERE contract_number = ? ORDER BY id", arguments: [contractNumber]).compactMap { row in
                guard let kind = ContractHold.Kind(rawValue: row["kind"]) else { return nil }
                return ContractHold(kind: kind, reason: row["reason"], setBy: row["set_by"], setOn: LocalDate(daysSinceEpoch: row["set_on"]),
                                    liftedOn: (row["lifted_on"] as Int32?).map(LocalDate.init(daysSinceEpoch:)))
            }
        }
    }

    public func setHold(contractNumber: String, hold: ContractHold, at: Timestamp) throws {
        try database.write { db in try setHold(contractNumber: contractNumber, hold: hold, at: at, db) }
    }

    func setHold(contractNumber: String, hold: ContractHold, at: Timestamp, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO holds (contract_number, kind, reason, set_by, set_on) VALUES (?, ?, ?, ?, ?)",
                       arguments: [contractNumber, hold.kind.rawValue, hold.reason, hold.setBy, hold.setOn.daysSinceEpoch])
        try audit(db, at: at, actor: hold.setBy, action: "hold.set", subject: "contract:\(contractNumber)",
                  details: "\(hold.kind.rawValue) from \(hold.setOn): \(hold.reason)")
        // A placed account must stop being pursued at once: the agent is told to pause it.
        if let agent = try String.fetchOne(db, sql: "SELECT agent FROM placements WHERE contract_number = ? AND recalled_at IS NULL",
                                           arguments: [contractNumber]) {
            try db.execute(sql: """
                INSERT INTO agent_instructions (agent, contract_number, kind, reason, created_at) VALUES (?, ?, 'pause', ?, ?)
                """, arguments: [agent, contractNumber, "\(hold.kind.rawValue) hold: \(hold.reason)", at.millisecondsSinceEpoch])
            try audit(db, at: at, actor: hold.setBy, action: "placement.paused", subject: "contract:\(contractNumber)",
                      details: "pause instruction for \(agent): \(hold.kind.rawValue) hold")
        }
    }

    public func notices(contractNumber: String) throws -> ContractNotices {
        try database.read { db in
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
                             by actor: String, at: Timestamp) throws {
        try database.write { db in
            if let sent = arrearsNoticeSentOn {
                try db.execute(sql: "INSERT INTO notices (contract_number, kind, sent_on, recorded_by) VALUES (?, 'arrears', ?, ?)",
                               arguments: [contractNumber, sent.daysSinceEpoch, actor])
                try audit(db, at: at, actor: actor, action: "notice.arrears", subject: "contract:\(contractNumber)", details: "sent \(sent)")
            }
            if let notice = defaultNotice {
                try db.execute(sql: """
                    INSERT INTO notices (contract_number, kind, sent_on, remedy_date, recorded_by) VALUES (?, 'default', ?, ?, ?)
                    """, arguments: [contractNumber, notice.served.daysSinceEpoch, notice.remedyDate.daysSinceEpoch, actor])
                try audit(db, at: at, actor: actor, action: "notice.default", subject: "contract:\(contractNumber)",
                          details: "served \(notice.served), remedy by \(notice.remedyDate)")
            }
        }
    }

    public func liftHold(contractNumber: String, kind: ContractHold.Kind, by actor: String, on date: LocalDate, at: Timestamp) throws {
        try database.write { db in
            try db.execute(sql: """
                UPDATE holds SET lifted_on = ?, lifted_by = ? WHERE contract_number = ? AND kind = ? AND lifted_on IS NULL
                """, arguments: [date.daysSinceEpoch, actor, contractNumber, kind.rawValue])
            guard db.changesCount > 0 else { throw StoreRefusal("contract \(contractNumber) has no active \(kind.rawValue) hold") }
            try audit(db, at: at, actor: actor, action: "hold.lifted", subject: "contract:\(contractNumber)", details: "\(kind.rawValue) on \(date)")
        }
    }

    public func activePlacement(contractNumber: String) throws -> String? {
        try database.read { db in
            try String.fetchOne(db, sql: "SELECT agent FROM placements WHERE contract_number = ? AND recalled_at IS NULL",
                                arguments: [contractNumber])
        }
    }

    public func queuePlacement(agent: String, fileName: String, changes: [StatusChange], by actor: String, at: Timestamp) throws {
        try database.write { db in
            for change in changes {
                let changeId = try queueStatusChange(change, db)
                try db.execute(sql: """
                    INSERT INTO placements (agent, contract_number, file_name, status_change_id, placed_at) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [agent, change.contractNumber, fileName, changeId, at.millisecondsSinceEpoch])
            }
            try audit(db, at: at, actor: actor, action: "placement.created", subject: "agent:\(agent)",
                      details: "\(changes.count) accounts in \(fileName)")
        }
    }

    public func agentInstructions(agent: String) throws -> [(contractNumber: String, kind: String, reason: String)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agent_instructions WHERE agent = ? ORDER BY id", arguments: [agent]).map {
                (contractNumber: $0["contract_number"], kind: $0["kind"], reason: $0["reason"])
            }
        }
    }

    public func recordRecall(agent: String, contractNumbers: [String], forced: Bool, by actor: String, at: Timestamp) throws {
        try database.write { db in
            for number in contractNumbers {
                try db.execute(sql: "UPDATE placements SET recalled_at = ? WHERE agent = ? AND contract_number = ? AND recalled_at IS NULL",
                               arguments: [at.millisecondsSinceEpoch, agent, number])
            }
            try audit(db, at: at, actor: actor, action: forced ? "placement.recalled-forced" : "placement.recalled", subject: "agent:\(agent)",
                      details: contractNumbers.joined(separator: ","))
        }
    }
}
