/// An action on a contract that the law restricts.
public enum CollectionsAction: String, CaseIterable, Sendable {
    /// Handing the account to a debt collection agency.
    case agencyPlacement
    /// Recovering the vehicle.
    case repossession
    /// Ending the agreement.
    case termination
    /// Court action.
    case legalAction

    /// The collections status taking this action moves a contract to.
    public var targetStatus: ContractStatus {
        switch self {
        case .agencyPlacement: .placedWithAgent
        case .repossession: .repossession
        case .termination: .terminated
        case .legalAction: .legal
        }
    }

    /// The action a move to `status` amounts to, if it is restricted.
    public init?(movingTo status: ContractStatus) {
        switch status {
        case .placedWithAgent: self = .agencyPlacement
        case .repossession: self = .repossession
        case .terminated: self = .termination
        case .legal: self = .legalAction
        default: return nil
        }
    }
}
