import CollectionsDomain
import CollectionsStore
import MilesMapping

/// What stands between a contract and a status change: MILES's status must be one the mapping
/// knows, the move must be in the transition table, and the action's guards must pass (or have
/// been overridden). Used when the change is asked for, and again on fresh data after a version conflict.
public enum StatusChangeRules {
    public static func refusals(moving contract: Contract, to target: ContractStatus, evidence: CollectionsGuards.Evidence,
                                overridden: Set<String>, store: any ContractActionStore, mappings: MappingSet, on today: LocalDate) async throws -> [GuardRefusal] {
        guard let current = mappings.statusCodes.internalStatus(forMilesCode: contract.statusCode) else {
            return [GuardRefusal(rule: "status-mapping", reason: "MILES status '\(contract.statusCode)' is not in status-codes.yaml",
                                 toSatisfy: "map the code in status-codes.yaml, then try again")]
        }
        guard StatusTransitions.isAllowed(from: current, to: target) else {
            return [GuardRefusal(rule: "status-transition", reason: "a contract cannot go from \(current.rawValue) to \(target.rawValue)",
                                 toSatisfy: "one of: " + (StatusTransitions.allowed[current] ?? []).map(\.rawValue).sorted().joined(separator: ", "))]
        }
        guard let action = CollectionsAction(movingTo: target) else { return [] }
        return CollectionsGuards.check(
            action, contract: contract, holds: try await store.holds(contractNumber: contract.contractNumber),
            notices: try await store.notices(contractNumber: contract.contractNumber),
            evidence: evidence, on: today)
            .filter { !overridden.contains($0.rule) }
    }
}
