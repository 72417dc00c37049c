/// Why a debt is written off. MILES's reason codes are mapped onto these in `mappings/status-codes.yaml`.
public enum WriteOffReason: String, CaseIterable, Hashable, Sendable {
    case uneconomicalToPursue
    case deceasedNoEstate
    case insolvency
    case statuteBarred
    case vehicleSoldAtShortfall
}
