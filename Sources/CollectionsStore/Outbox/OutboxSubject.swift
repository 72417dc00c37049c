import CollectionsDomain

/// The business record an outbox entry carries to MILES, as stored now.
public enum OutboxSubject: Sendable {
    case writeOff(WriteOffRequest)
    case statusChange(StatusChange)
    case note(ContractNote)
    case contactChange(ContactChange)
    case creditNote(CreditNoteRequest)
    case writeOffReversal(WriteOffReversal)
    case letter(LetterRequest)
    /// CreatePaymentArrangement, or CancelPaymentArrangement with the reason it was cancelled for.
    case arrangement(ArrangementProposal, cancellation: String?)
    /// AllocatePayment, with the payer's name as the bank gave it.
    case paymentAllocation(PaymentAllocation, payerName: String?)
    /// ReverseAllocation: the bank took the money back, with its return reason code when it gave one.
    case allocationReversal(PaymentAllocation, returnReason: String?)
}
