import CollectionsDomain
import MilesMapping
import MilesSOAP
import MilesSync

/// MILES's write calls answered in memory, for testing the relay's decisions without a server:
/// status changes and allocations answer with the queued faults first, then as MILES would.
actor InMemoryMiles: MilesWriteService {
    nonisolated let mappings: MappingSet
    nonisolated var endpoint: String { "memory://miles" }
    /// What GetContract answers, by contract number.
    var contracts: [String: Contract]
    /// Fault codes UpdateContractStatus answers with, one per call, before it succeeds.
    private var statusFaults: [String]
    private(set) var statusCalls: [(reference: String, expectedVersion: Int64)] = []
    /// Fault codes AllocatePayment answers with, one per call, before it allocates.
    private var allocationFaults: [String]
    /// The client reference of every AllocatePayment and ReverseAllocation call, in order.
    private(set) var allocationCalls: [String] = []

    init(mappings: MappingSet, contracts: [Contract], statusFaults: [String] = [], allocationFaults: [String] = []) {
        self.mappings = mappings
        self.contracts = Dictionary(uniqueKeysWithValues: contracts.map { ($0.contractNumber, $0) })
        self.statusFaults = statusFaults
        self.allocationFaults = allocationFaults
    }

    /// MILES's fault `code`, or, for `HTTP 404` and the like, an answer with that status and no SOAP in it.
    private func fault(_ code: String, operation: String) -> SOAPCallError {
        if code.hasPrefix("HTTP "), let status = Int(code.dropFirst(5)) {
            return SOAPCallError(kind: .httpStatus(status, body: "Not Found"), operation: operation, endpoint: endpoint,
                                 classifier: mappings.contract.faultClassifier)
        }
        return SOAPCallError(kind: .fault(SOAPFault(faultCode: "soap:Client", faultString: code, code: code)), operation: operation,
                             endpoint: endpoint, classifier: mappings.contract.faultClassifier)
    }

    func getContract(number: String) async throws(SOAPCallError) -> Contract? { contracts[number] }

    func updateContractStatus(_ change: StatusChange, statusCode: String) async throws(SOAPCallError) -> Int64? {
        statusCalls.append((change.clientReference, change.expectedVersion))
        if !statusFaults.isEmpty { throw fault(statusFaults.removeFirst(), operation: "UpdateContractStatus") }
        return change.expectedVersion + 1
    }

    func addContractNote(_ note: ContractNote) async throws(SOAPCallError) -> String? { "N-\(note.id)" }

    func updateContactDetails(_ change: ContactChange) async throws(SOAPCallError) -> Int64? { change.expectedVersion + 1 }

    func createPaymentArrangement(_ proposal: ArrangementProposal, frequencyCode: String) async throws(SOAPCallError) -> CreatedArrangement? {
        CreatedArrangement(arrangementId: "A-\(proposal.id)", paidBefore: Money(minorUnits: 0, currency: proposal.plan.currency))
    }

    func cancelPaymentArrangement(_ proposal: ArrangementProposal, reason: String) async throws(SOAPCallError) -> String? { "CANCELLED" }

    func requestCustomerLetter(_ letter: LetterRequest, letterTypeCode: String) async throws(SOAPCallError) -> IssuedLetter? {
        IssuedLetter(letterId: "L-\(letter.id)", clientReference: letter.clientReference, contractNumber: letter.contractNumber,
                     letterTypeCode: letterTypeCode, serveDate: letter.requestedAt.date.adding(days: 2), remedyDate: nil)
    }

    func postWriteOff(_ request: WriteOffRequest, reasonCode: String) async throws(SOAPCallError) -> PostedWriteOff? {
        PostedWriteOff(writeOffId: "W-\(request.id)", clientReference: request.clientReference, contractNumber: request.contractNumber,
                       amount: request.amount, reasonCode: reasonCode, postedAt: request.requestedAt, contractVersion: 1)
    }

    func findWriteOffs(clientReference: String) async throws(SOAPCallError) -> [PostedWriteOff] { [] }

    func raiseCreditNote(_ credit: CreditNoteRequest) async throws(SOAPCallError) -> PostedCredit? {
        PostedCredit(milesId: "CN-\(credit.id)", clientReference: credit.clientReference, contractNumber: credit.contractNumber,
                     amount: credit.amount, reasonCode: credit.reasonCode, postedAt: credit.trail.requestedAt, contractVersion: 1)
    }

    func findCreditNotes(clientReference: String) async throws(SOAPCallError) -> [PostedCredit] { [] }

    func reverseWriteOff(_ reversal: WriteOffReversal) async throws(SOAPCallError) -> PostedCredit? {
        PostedCredit(milesId: "WR-\(reversal.id)", clientReference: reversal.clientReference, contractNumber: reversal.contractNumber,
                     amount: reversal.amount, reasonCode: reversal.reasonCode, postedAt: reversal.trail.requestedAt, contractVersion: 1)
    }

    func findWriteOffReversals(writeOffReference: String) async throws(SOAPCallError) -> [PostedCredit] { [] }

    func allocatePayment(_ allocation: PaymentAllocation, payerName: String?) async throws(SOAPCallError) -> String? {
        allocationCalls.append(allocation.clientReference)
        if !allocationFaults.isEmpty { throw fault(allocationFaults.removeFirst(), operation: "AllocatePayment") }
        return "MAL-\(allocation.id)"
    }

    func reverseAllocation(_ allocation: PaymentAllocation, reason: String?) async throws(SOAPCallError) -> Bool {
        allocationCalls.append(allocation.reversalReference)
        return true
    }
}
