/// Where a contract stands in collections, in the team's words. MILES's own codes are mapped
/// onto these by `mappings/status-codes.yaml`.
public enum ContractStatus: String, CaseIterable, Hashable, Sendable {
    case active
    case inArrears
    case paymentPlan
    case defaulted
    case placedWithAgent
    case repossession
    case legal
    case writtenOff
    case terminated
    case closed
}
