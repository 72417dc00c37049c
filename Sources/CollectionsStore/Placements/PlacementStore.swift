import CollectionsDomain

/// Which accounts are placed with which agent, and what the agents are told.
public protocol PlacementStore: Sendable {
    /// The agent the contract is placed with now, if any.
    func activePlacement(contractNumber: String) async throws -> String?

    /// The contracts placed with the agent now.
    func placedContracts(agent: String) async throws -> Set<String>

    /// Records the contracts of a placement file and queues, for each, the status change that tells
    /// MILES: all in one transaction, so a crash can never leave a change without its placement.
    /// A contract placed already (with any agent) refuses the whole file: `StoreError` `.duplicate`.
    func queuePlacement(agent: String, fileName: String, changes: [StatusChange], by actor: String, at: Timestamp) async throws

    /// Marks the placements of these contracts with the agent as recalled, audited.
    func recordRecall(agent: String, contractNumbers: [String], forced: Bool, by actor: String, at: Timestamp) async throws

    /// Instructions to the agent (e.g. pause a placed account that now has a hold), oldest first.
    func agentInstructions(agent: String) async throws -> [AgentInstruction]
}

extension StoreError {
    /// The refusal of a placement of a contract that is placed already, the same from every store.
    public static func alreadyPlaced(_ contractNumber: String, with agent: String?) -> StoreError {
        StoreError(.duplicate, input: "contract \(contractNumber)",
                   "contract \(contractNumber) is placed already" + (agent.map { " with \($0)" } ?? "") + ": recall it before placing it again")
    }
}
