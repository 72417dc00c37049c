import CollectionsDomain
import MilesMapping

/// The workspace's decisions that queue writes to MILES, each with the jobs it needs of the mapping:
/// against a MILES that lacks one, the page shows why in place of the form, and the route refuses
/// the decision (409) should a form from an older page be sent.
enum PageDecision: String, CaseIterable {
    case writeOffs, statusChange, note, credit, writeOffReversal, letter, arrangement, arrangementClose, placement, allocation

    var jobs: [MilesJob] {
        switch self {
        case .writeOffs: [.outbox(.postWriteOff)]
        case .statusChange, .placement: [.outbox(.updateContractStatus)]
        case .note: [.outbox(.addContractNote)]
        case .credit: [.outbox(.raiseCreditNote)]
        case .writeOffReversal: [.outbox(.reverseWriteOff)]
        case .letter: [.outbox(.requestCustomerLetter)]
        case .arrangement: [.outbox(.createPaymentArrangement)]
        case .arrangementClose: [.outbox(.updateContractStatus), .outbox(.cancelPaymentArrangement)]
        case .allocation: [.outbox(.allocatePayment)]
        }
    }

    /// Why this MILES cannot take the decision, or nil when it can.
    func refusals(in contract: ContractMapping) -> [UnmappedOperationError] {
        jobs.compactMap(contract.refusal(for:))
    }

    /// What every page is given: `offers<Decision>` true when the mapping enables the decision, and
    /// otherwise `missing<Decision>`, the refusal a person reads in place of the form.
    static func offers(in contract: ContractMapping) -> [String: Any] {
        var values: [String: Any] = [:]
        for decision in allCases {
            let name = decision.rawValue.prefix(1).uppercased() + decision.rawValue.dropFirst()
            let refusals = decision.refusals(in: contract)
            values["offers" + name] = refusals.isEmpty
            if !refusals.isEmpty { values["missing" + name] = refusals.map(\.description).joined(separator: "; ") }
        }
        return values
    }
}
