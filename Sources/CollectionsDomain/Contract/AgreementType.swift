/// The kind of agreement a contract is; it decides which consumer-credit rules apply.
public enum AgreementType: String, CaseIterable, Hashable, Sendable {
    case hirePurchase
    case conditionalSale
    case personalContractPurchase
    case personalContractHire
    case businessContractHire

    /// Regulated consumer credit where the customer may come to own the vehicle (CCA s.90 protects the goods).
    public var isCreditAgreement: Bool {
        switch self {
        case .hirePurchase, .conditionalSale, .personalContractPurchase: return true
        case .personalContractHire, .businessContractHire: return false
        }
    }
}
