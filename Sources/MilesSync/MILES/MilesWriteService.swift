import CollectionsDomain
import MilesMapping
import MilesSOAP

/// The MILES calls the outbox relay makes, apart from how they travel: `MilesGateway` sends them as
/// SOAP; tests answer them in memory.
public protocol MilesWriteService: Sendable {
    /// The mappings the calls are encoded and their faults classified with.
    var mappings: MappingSet { get }
    /// Where the calls go, for the errors that name it.
    var endpoint: String { get }

    func getContract(number: String) async throws(SOAPCallError) -> Contract?
    func updateContractStatus(_ change: StatusChange, statusCode: String) async throws(SOAPCallError) -> Int64?
    func addContractNote(_ note: ContractNote) async throws(SOAPCallError) -> String?
    func updateContactDetails(_ change: ContactChange) async throws(SOAPCallError) -> Int64?
    func createPaymentArrangement(_ proposal: ArrangementProposal, frequencyCode: String) async throws(SOAPCallError) -> CreatedArrangement?
    func cancelPaymentArrangement(_ proposal: ArrangementProposal, reason: String) async throws(SOAPCallError) -> String?
    func requestCustomerLetter(_ letter: LetterRequest, letterTypeCode: String) async throws(SOAPCallError) -> IssuedLetter?
    func postWriteOff(_ request: WriteOffRequest, reasonCode: String) async throws(SOAPCallError) -> PostedWriteOff?
    func findWriteOffs(clientReference: String) async throws(SOAPCallError) -> [PostedWriteOff]
    func raiseCreditNote(_ credit: CreditNoteRequest) async throws(SOAPCallError) -> PostedCredit?
    func findCreditNotes(clientReference: String) async throws(SOAPCallError) -> [PostedCredit]
    func reverseWriteOff(_ reversal: WriteOffReversal) async throws(SOAPCallError) -> PostedCredit?
    func findWriteOffReversals(writeOffReference: String) async throws(SOAPCallError) -> [PostedCredit]
    func allocatePayment(_ allocation: PaymentAllocation, payerName: String?) async throws(SOAPCallError) -> String?
    func reverseAllocation(_ allocation: PaymentAllocation, reason: String?) async throws(SOAPCallError) -> Bool
}

extension MilesGateway: MilesWriteService {
    public var endpoint: String { client.configuration.endpoint }
}
