import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore {
    public func activePlacement(contractNumber: String) async throws -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT agent FROM placements WHERE contract_number = ? AND recalled_at IS NULL",
                                arguments: [contractNumber])
        }
    }

    public func queuePlacement(agent: String, fileName: String, changes: [StatusChange], by actor: String, at: Timestamp) async throws {
        try transaction { db in
            for change in changes {
                if let holder = try String.fetchOne(db, sql: "SELECT agent FROM placements WHERE contract_number = ? AND recalled_at IS NULL",
                                                    arguments: [change.contractNumber]) {
                    throw StoreError.alreadyPlaced(change.contractNumber, with: holder)
                }
                let changeId = try self.queueStatusChange(change, db)
                try db.execute(sql: """
                    INSERT INTO placements (agent, contract_number, file_name, status_change_id, placed_at) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [agent, change.contractNumber, fileName, changeId, at.millisecondsSinceEpoch])
            }
            try self.audit(db, at: at, actor: actor, action: "placement.created", subject: "agent:\(agent)",
                      details: "\(changes.count) accounts in \(fileName)")
        }
    }

    public func agentInstructions(agent: String) async throws -> [AgentInstruction] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agent_instructions WHERE agent = ? ORDER BY id", arguments: [agent]).map { row in
                guard let kind = AgentInstruction.Kind(rawValue: row["kind"]) else {
                    throw StoreError(.corruptRecord, input: "agent instruction \(row["id"] as Int64)",
                                     "agent instruction \(row["id"] as Int64) has the unknown kind '\(row["kind"] as String)'")
                }
                return AgentInstruction(agent: row["agent"], contractNumber: row["contract_number"], kind: kind, reason: row["reason"])
            }
        }
    }

    public func recordRecall(agent: String, contractNumbers: [String], forced: Bool, by actor: String, at: Timestamp) async throws {
        try transaction { db in
            for number in contractNumbers {
                try db.execute(sql: "UPDATE placements SET recalled_at = ? WHERE agent = ? AND contract_number = ? AND recalled_at IS NULL",
                               arguments: [at.millisecondsSinceEpoch, agent, number])
            }
            try self.audit(db, at: at, actor: actor, action: forced ? "placement.recalled-forced" : "placement.recalled", subject: "agent:\(agent)",
                      details: contractNumbers.joined(separator: ","))
        }
    }

    public func placedContracts(agent: String) async throws -> Set<String> {
        try read { db in
            Set(try String.fetchAll(db, sql: "SELECT contract_number FROM placements WHERE agent = ? AND recalled_at IS NULL", arguments: [agent]))
        }
    }
}
