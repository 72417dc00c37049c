import CollectionsDomain

/// What the adapter does with MILES: the contract sync, and sending each kind of outbox entry.
/// Each needs its MILES operations mapped in `contract.yaml` (and contact changes the customer's
/// version); `mappings check` lists the jobs a mapping enables, and a job it does not enable is
/// refused at its start.
///
/// ```swift
/// if let refusal = mappings.contract.refusal(for: .outbox(.postWriteOff)) { throw refusal }
/// ```
public enum MilesJob: Hashable, Sendable, CaseIterable {
    /// `sync contracts`: FindContracts, page by page.
    case contractSync
    /// `push` sending entries of this kind (and the commands that queue them).
    case outbox(OutboxKind)

    public static var allCases: [MilesJob] { [.contractSync] + OutboxKind.allCases.map { .outbox($0) } }

    /// The job as `mappings check` names it.
    public var name: String {
        switch self {
        case .contractSync: "contract sync"
        case let .outbox(kind):
            switch kind {
            case .postWriteOff: "write-offs"
            case .updateContractStatus: "status changes"
            case .addContractNote: "notes"
            case .updateContactDetails: "contact changes"
            case .raiseCreditNote: "credit notes"
            case .reverseWriteOff: "write-off reversals"
            case .requestCustomerLetter: "letters"
            case .createPaymentArrangement: "payment arrangements"
            case .cancelPaymentArrangement: "arrangement cancellations"
            case .allocatePayment: "payment allocations"
            case .reverseAllocation: "allocation reversals"
            }
        }
    }

    /// Every operation the job calls: the write itself, and what the relay asks MILES when the
    /// answer to it was lost (FindWriteOffs, FindCreditNotes) or it met a version conflict (GetContract).
    public var operations: [MilesOperation] {
        switch self {
        case .contractSync: [.findContracts]
        case let .outbox(kind):
            switch kind {
            case .postWriteOff: [.postWriteOff, .findWriteOffs]
            case .updateContractStatus: [.updateContractStatus, .getContract]
            case .addContractNote: [.addContractNote]
            case .updateContactDetails: [.updateContactDetails, .getContract]
            case .raiseCreditNote: [.raiseCreditNote, .findCreditNotes]
            case .reverseWriteOff: [.reverseWriteOff, .findWriteOffs]
            case .requestCustomerLetter: [.requestCustomerLetter]
            case .createPaymentArrangement: [.createPaymentArrangement]
            case .cancelPaymentArrangement: [.cancelPaymentArrangement]
            case .allocatePayment: [.allocatePayment]
            case .reverseAllocation: [.reverseAllocation]
            }
        }
    }

    /// Contract fields the job cannot do without: a contact change names the customer's version it
    /// was decided on, which only a mapped `customer.version` supplies.
    public var contractFields: [ModelField] {
        self == .outbox(.updateContactDetails) ? [.customerVersion] : []
    }
}
