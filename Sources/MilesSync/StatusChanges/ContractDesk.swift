import CollectionsDomain
import CollectionsStore
import MilesMapping

/// Where status changes are asked for: checked against the transition table and the regulatory
/// guards on the stored contract, then queued for MILES with the version they were decided on.
///
/// ```swift
/// let id = try desk.requestStatusChange(contractNumber: "C00000042", to: .placedWithAgent, reasonCode: "DCAP",
///                                       effectiveDate: today, courtOrderReference: nil, by: bob, overrides: [])
/// ```
public struct ContractDesk: Sendable {
    public let store: any Store
    public let mappings: MappingSet
    let now: @Sendable () -> Timestamp

    public init(store: any Store, mappings: MappingSet, now: @escaping @Sendable () -> Timestamp = WriteOffDesk.wallClock) {
        self.store = store
        self.mappings = mappings
        self.now = now
    }

    /// Queues the change, or throws every refusal with what would satisfy it. `overrides` maps a rule id
    /// to the reason for setting it aside; each must be allowed to `user` by the authority matrix.
    public func requestStatusChange(contractNumber: String, to target: ContractStatus, reasonCode: String, effectiveDate: LocalDate,
                                    courtOrderReference: String?, by user: CollectionsUser,
                                    overrides: [String: String]) throws -> Int64 {
        guard mappings.statusCodes.statusChangeReasons[reasonCode] != nil else {
            throw ContractDeskError(["reason code '\(reasonCode)' is not in status-codes.yaml statusChangeReasons ("
                + mappings.statusCodes.statusChangeReasons.keys.sorted().joined(separator: ", ") + ")"])
        }
        guard let contract = try store.contract(number: contractNumber) else {
            throw ContractDeskError(["contract \(contractNumber) is not in the store (run sync contracts first, or check the number)"])
        }
        let refusals = try StatusChangeRules.refusals(moving: contract, to: target, courtOrderReference: courtOrderReference,
                                                      overridden: [], store: store, mappings: mappings, on: now().date)
        var granted: [GuardOverride] = []
        var remaining: [String] = []
        for refusal in refusals {
            guard let reason = overrides[refusal.rule] else {
                remaining.append(refusal.description)
                continue
            }
            do {
                granted.append(try GuardOverride.authorise(refusal, by: user, reason: reason,
                                                           overrideRoles: mappings.authorityMatrix.guardOverrideRoles))
            } catch {
                remaining.append("\(refusal.description) — override refused: \(error)")
            }
        }
        guard remaining.isEmpty else { throw ContractDeskError(remaining) }
        return try store.queueStatusChange(StatusChange(
            id: 0, contractNumber: contractNumber, to: target, reasonCode: reasonCode, effectiveDate: effectiveDate,
            courtOrderReference: courtOrderReference, expectedVersion: contract.version, requestedBy: user.name, requestedAt: now(),
            state: .queued, overrides: granted))
    }
}

/// A status change was refused; each line names a rule and what would satisfy it.
public struct ContractDeskError: Error, Sendable, CustomStringConvertible {
    public let refusals: [String]

    public init(_ refusals: [String]) {
        self.refusals = refusals
    }

    public var description: String { refusals.joined(separator: "\n") }
}
