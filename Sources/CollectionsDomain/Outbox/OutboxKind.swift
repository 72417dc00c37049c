/// The kinds of write the adapter sends to MILES through the outbox, each with the MILES operation
/// it calls and the prefix of its client reference. This is the one definition: the store writes
/// entries with it, the domain types name their references with it, and the relay reconciles on it,
/// so exactly-once delivery never depends on two copies staying equal.
///
/// ```swift
/// OutboxKind.postWriteOff.clientReference(forSubject: 12)   // "WO-12"
/// ```
public enum OutboxKind: String, Sendable, CaseIterable {
    case postWriteOff = "PostWriteOff"
    case updateContractStatus = "UpdateContractStatus"
    case addContractNote = "AddContractNote"
    case updateContactDetails = "UpdateContactDetails"
    case raiseCreditNote = "RaiseCreditNote"
    case reverseWriteOff = "ReverseWriteOff"
    case requestCustomerLetter = "RequestCustomerLetter"
    case createPaymentArrangement = "CreatePaymentArrangement"
    case cancelPaymentArrangement = "CancelPaymentArrangement"
    case allocatePayment = "AllocatePayment"
    case reverseAllocation = "ReverseAllocation"

    /// The MILES operation the entry calls.
    public var operation: String { rawValue }

    /// The business record an entry of this kind carries, as a person names it.
    public var recordName: String {
        switch self {
        case .postWriteOff: "write-off request"
        case .updateContractStatus: "status change"
        case .addContractNote: "note"
        case .updateContactDetails: "contact details change"
        case .raiseCreditNote: "credit note"
        case .reverseWriteOff: "write-off reversal"
        case .requestCustomerLetter: "letter"
        case .createPaymentArrangement: "payment arrangement"
        case .cancelPaymentArrangement: "arrangement cancellation"
        case .allocatePayment: "payment allocation"
        case .reverseAllocation: "allocation reversal"
        }
    }

    /// What MILES sees before the business record's id in every attempt's client reference.
    public var referencePrefix: String {
        switch self {
        case .postWriteOff: "WO-"
        case .updateContractStatus: "SC-"
        case .addContractNote: "NOTE-"
        case .updateContactDetails: "CD-"
        case .raiseCreditNote: "CN-"
        case .reverseWriteOff: "WR-"
        case .requestCustomerLetter: "LT-"
        case .createPaymentArrangement: "AR-"
        case .cancelPaymentArrangement: "AC-"
        case .allocatePayment: "PA-"
        case .reverseAllocation: "PR-"
        }
    }

    /// The reference MILES recognises repeats by: the same on every attempt for the same record.
    public func clientReference(forSubject id: Int64) -> String {
        referencePrefix + String(id)
    }

    /// The write this one undoes on the same record. It is not sent while that write may still reach
    /// MILES (pending, retrying or sending): MILES would refuse to undo what it has not seen yet, and
    /// the write arriving after would stand.
    public var undoes: OutboxKind? {
        switch self {
        case .reverseAllocation: .allocatePayment
        case .postWriteOff, .updateContractStatus, .addContractNote, .updateContactDetails, .raiseCreditNote, .reverseWriteOff,
             .requestCustomerLetter, .createPaymentArrangement, .cancelPaymentArrangement, .allocatePayment: nil
        }
    }
}
