/// A MILES operation the adapter can call, named by its key under `operations:` in
/// `mappings/contract.yaml`. A MILES contract may expose only some of them: the mapping leaves the
/// others out, and the jobs that need them are refused (`MilesJob`).
public enum MilesOperation: String, CaseIterable, Sendable {
    case findContracts, getContract
    case updateContractStatus, addContractNote, updateContactDetails, requestCustomerLetter
    case createPaymentArrangement, cancelPaymentArrangement
    case postWriteOff, findWriteOffs, reverseWriteOff, raiseCreditNote, findCreditNotes
    case allocatePayment, reverseAllocation

    /// The operation as MILES's WSDL names it, e.g. `FindContracts`: in messages and the journal.
    public var name: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}
