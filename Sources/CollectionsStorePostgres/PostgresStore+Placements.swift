import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: PlacementStore {
    public func activePlacement(contractNumber: String) async throws -> String? {
        try await read { [self] connection in
            try await rows("SELECT agent FROM placements WHERE contract_number = \(contractNumber) AND recalled_at IS NULL", on: connection)
                .first?.value("agent", as: String.self)
        }
    }

    public func queuePlacement(agent: String, fileName: String, changes: [StatusChange], by actor: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            for change in changes {
                let changeId = try await queueStatusChange(change, on: connection)
                // The unique index placements_open allows one open placement per contract: of two stores
                // placing it at once, the second waits for the first, inserts nothing and is refused.
                let placed = try await rows("""
                    INSERT INTO placements (agent, contract_number, file_name, status_change_id, placed_at)
                    VALUES (\(agent), \(change.contractNumber), \(fileName), \(changeId), \(at.millisecondsSinceEpoch))
                    ON CONFLICT (contract_number) WHERE recalled_at IS NULL DO NOTHING RETURNING id
                    """, on: connection)
                guard !placed.isEmpty else {
                    let holder = try await rows("""
                        SELECT agent FROM placements WHERE contract_number = \(change.contractNumber) AND recalled_at IS NULL
                        """, on: connection).first?.value("agent", as: String.self)
                    throw StoreError.alreadyPlaced(change.contractNumber, with: holder)
                }
            }
            try await audit(connection, at: at, actor: actor, action: "placement.created", subject: "agent:\(agent)",
                            details: "\(changes.count) accounts in \(fileName)")
        }
    }

    public func agentInstructions(agent: String) async throws -> [AgentInstruction] {
        try await read { [self] connection in
            try await rows("SELECT * FROM agent_instructions WHERE agent = \(agent) ORDER BY id", on: connection).map { row in
                let stored = try row.value("kind", as: String.self)
                guard let kind = AgentInstruction.Kind(rawValue: stored) else {
                    let id = try row.value("id", as: Int64.self)
                    throw StoreError(.corruptRecord, input: "agent instruction \(id)", "agent instruction \(id) has the unknown kind '\(stored)'")
                }
                return AgentInstruction(agent: try row.value("agent"), contractNumber: try row.value("contract_number"), kind: kind,
                                        reason: try row.value("reason"))
            }
        }
    }

    public func recordRecall(agent: String, contractNumbers: [String], forced: Bool, by actor: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            try await connection.query("""
                UPDATE placements SET recalled_at = \(at.millisecondsSinceEpoch)
                WHERE agent = \(agent) AND contract_number = ANY(\(contractNumbers)) AND recalled_at IS NULL
                """, logger: logger)
            try await audit(connection, at: at, actor: actor, action: forced ? "placement.recalled-forced" : "placement.recalled", subject: "agent:\(agent)",
                            details: contractNumbers.joined(separator: ","))
        }
    }

    public func placedContracts(agent: String) async throws -> Set<String> {
        try await read { [self] connection in
            Set(try await rows("SELECT contract_number FROM placements WHERE agent = \(agent) AND recalled_at IS NULL", on: connection)
                .map { try $0.value("contract_number", as: String.self) })
        }
    }
}
