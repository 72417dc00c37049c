import CollectionsDomain
import MilesMapping
import MilesSOAP

/// The MILES services as the jobs call them: typed requests in, model values out, every element
/// name taken from the mappings.
public struct MilesGateway: Sendable {
    public let client: SOAPClient
    public let mappings: MappingSet
    /// Shared by every call through this gateway, so a job sees one circuit per MILES service.
    public let circuitBreaker: CircuitBreaker

    public init(connection: MilesConnection, mappings: MappingSet) {
        self.mappings = mappings
        client = SOAPClient(configuration: SOAPClient.Configuration(
            endpoint: connection.endpoint, credentials: connection.credentials,
            messageNamespace: mappings.contract.namespace, faultNames: mappings.contract.faultNames,
            classifier: mappings.contract.faultClassifier, transport: connection.transport))
        circuitBreaker = CircuitBreaker(configuration: connection.circuitBreaker)
    }

    /// The operation as mapped. One this MILES does not offer is refused before anything is sent: the
    /// jobs refuse at their start, and this is the backstop.
    private func mapped(_ operation: MilesOperation) throws(SOAPCallError) -> OperationMapping {
        do { return try mappings.contract.mapped(operation) } catch {
            throw SOAPCallError(kind: .invalidRequest(error.description), operation: operation.name, endpoint: client.configuration.endpoint,
                                classifier: mappings.contract.faultClassifier)
        }
    }

    /// Every MILES call: refused at once while the service's circuit is open; otherwise made, and its
    /// outcome counted. A business refusal is an answer: only failures a retry could cure count.
    private func call<Decoder: SOAPPayloadDecoder>(
        _ operation: MilesOperation, as mapping: OperationMapping,
        payload: @escaping @Sendable (inout XMLWriter) throws -> Void,
        decoder: @escaping @Sendable (XMLStreamReader) -> Decoder
    ) async throws(SOAPCallError) -> Decoder.Output {
        let service = mapping.service
        if let failures = circuitBreaker.refusal(for: service) {
            throw SOAPCallError(kind: .circuitOpen(service: service, failures: failures), operation: operation.name,
                                endpoint: client.serviceURL(service), classifier: mappings.contract.faultClassifier)
        }
        let call = circuitBreaker.callSent()
        do {
            let output = try await client.call(service: service, operation: operation.name, soapAction: mapping.soapAction, payload: payload,
                                               decoder: decoder)
            circuitBreaker.record(success: true, for: service, call: call)
            return output
        } catch {
            circuitBreaker.record(success: !(error.disposition == .retryable || error.disposition == .unknownOutcome), for: service, call: call)
            throw error
        }
    }

    /// One page of contracts changed since `changedSince`; `nextCursorRead` is told the next page's cursor
    /// as soon as the answer names it, while the rest of the page is still arriving (`ContractPageReader`).
    public func findContracts(changedSince: Timestamp?, cursor: String?, pageSize: Int,
                              nextCursorRead: (@Sendable (String) -> Void)? = nil) async throws(SOAPCallError) -> ContractPage {
        let operation = try mapped(.findContracts)
        let mapping = mappings.contract
        let decoder = mappings.contractDecoder
        return try await call(
            .findContracts, as: operation,
            payload: { writer in
                try mapping.writeFindContracts(changedSince: changedSince, cursor: cursor, pageSize: pageSize, into: &writer)
            },
            decoder: { reader in decoder.findContractsDecoder(reader: reader, pageSize: pageSize, nextCursorRead: nextCursorRead) })
    }

    public func getContract(number: String) async throws(SOAPCallError) -> Contract? {
        let operation = try mapped(.getContract)
        let mapping = mappings.contract
        let decoder = mappings.contractDecoder
        let page = try await call(
            .getContract, as: operation,
            payload: { writer in try mapping.writeGetContract(contractNumber: number, into: &writer) },
            decoder: { reader in decoder.getContractDecoder(reader: reader) })
        return page.contracts.first
    }

    /// Asks MILES for a new status on the version the change was decided on; answers the new version.
    public func updateContractStatus(_ change: StatusChange, statusCode: String) async throws(SOAPCallError) -> Int64? {
        let operation = try mapped(.updateContractStatus)
        let mapping = mappings.contract
        let values = try await call(
            .updateContractStatus, as: operation,
            payload: { writer in try mapping.writeUpdateContractStatus(change, statusCode: statusCode, into: &writer) },
            decoder: { _ in ResponseValuesDecoder(operation: operation, elementNames: mapping.elementNames) })
        return values["version"].flatMap { Int64($0) }
    }

    /// Files a note on the contract; MILES returns the same note id for a repeated reference.
    public func addContractNote(_ note: ContractNote) async throws(SOAPCallError) -> String? {
        let operation = try mapped(.addContractNote)
        let mapping = mappings.contract
        return try await call(
            .addContractNote, as: operation,
            payload: { writer in try mapping.writeAddContractNote(note, into: &writer) },
            decoder: { _ in ResponseValuesDecoder(operation: operation, elementNames: mapping.elementNames) })["noteId"]
    }

    /// Creates the arrangement in MILES with its stable client reference; MILES answers a repeat with
    /// the first result. Nil when the answer lacks the arrangement's id or what was paid before it.
    public func createPaymentArrangement(_ proposal: ArrangementProposal, frequencyCode: String) async throws(SOAPCallError) -> CreatedArrangement? {
        let operation = try mapped(.createPaymentArrangement)
        let mapping = mappings.contract
        let values = try await call(
            .createPaymentArrangement, as: operation,
            payload: { writer in try mapping.writeCreatePaymentArrangement(proposal, frequencyCode: frequencyCode, into: &writer) },
            decoder: { _ in ResponseValuesDecoder(operation: operation, elementNames: mapping.elementNames) })
        guard let id = values["arrangementId"],
              let paid = values["paidToDate"].flatMap(DecimalAmount.parse)?.money(in: proposal.plan.currency) else { return nil }
        return CreatedArrangement(arrangementId: id, paidBefore: paid)
    }

    /// Cancels the arrangement in MILES; cancelling it again answers the same.
    public func cancelPaymentArrangement(_ proposal: ArrangementProposal, reason: String) async throws(SOAPCallError) -> String? {
        let operation = try mapped(.cancelPaymentArrangement)
        let mapping = mappings.contract
        return try await call(
            .cancelPaymentArrangement, as: operation,
            payload: { writer in try mapping.writeCancelPaymentArrangement(proposal, reason: reason, into: &writer) },
            decoder: { _ in ResponseValuesDecoder(operation: operation, elementNames: mapping.elementNames) })["status"]
    }

    /// Asks MILES to issue a letter; MILES answers a repeated reference with the first letter and issues nothing.
    /// Nil when the answer lacks the letter's id or serve date, or a default notice's remedy date.
    public func requestCustomerLetter(_ letter: LetterRequest, letterTypeCode: String) async throws(SOAPCallError) -> IssuedLetter? {
        let operation = try mapped(.requestCustomerLetter)
        let mapping = mappings.contract
        let values = try await call(
            .requestCustomerLetter, as: operation,
            payload: { writer in try mapping.writeRequestCustomerLetter(letter, letterTypeCode: letterTypeCode, into: &writer) },
            decoder: { _ in ResponseValuesDecoder(operation: operation, elementNames: mapping.elementNames) })
        guard let id = values["letterId"], let serve = values["serveDate"].flatMap(LocalDate.parse) else { return nil }
        // A default notice means nothing to the guards without the date the customer may put things right by.
        if letter.type == .defaultNotice, values["remedyDate"].flatMap(LocalDate.parse) == nil { return nil }
        return IssuedLetter(letterId: id, clientReference: values["clientReference"] ?? letter.clientReference,
                            contractNumber: letter.contractNumber, letterTypeCode: values["letterType"] ?? letterTypeCode, serveDate: serve,
                            remedyDate: values["remedyDate"].flatMap(LocalDate.parse))
    }

    /// Changes a customer's contact details; returns the new partner version. MILES answers a
    /// repeated reference with its first result and a stale partner version with VERSION_CONFLICT.
    public func updateContactDetails(_ change: ContactChange) async throws(SOAPCallError) -> Int64? {
        let operation = try mapped(.updateContactDetails)
        let mapping = mappings.contract
        return try await call(
            .updateContactDetails, as: operation,
            payload: { writer in try mapping.writeUpdateContactDetails(change, into: &writer) },
            decoder: { _ in ResponseValuesDecoder(operation: operation, elementNames: mapping.elementNames) })["partnerVersion"]
            .flatMap { Int64($0) }
    }

    /// Posts a write-off with its stable client reference; MILES returns the first result for a repeated reference.
    public func postWriteOff(_ request: WriteOffRequest, reasonCode: String) async throws(SOAPCallError) -> PostedWriteOff? {
        let operation = try mapped(.postWriteOff)
        let mapping = mappings.contract
        let mappings = self.mappings
        return try await call(
            .postWriteOff, as: operation,
            payload: { writer in try mapping.writePostWriteOff(request, reasonCode: reasonCode, into: &writer) },
            decoder: { _ in mappings.writeOffsDecoder(operation) }).first
    }

    /// What MILES posted under a client reference: how an unknown outcome is settled before sending again.
    public func findWriteOffs(clientReference: String) async throws(SOAPCallError) -> [PostedWriteOff] {
        let operation = try mapped(.findWriteOffs)
        let mapping = mappings.contract
        let mappings = self.mappings
        return try await call(
            .findWriteOffs, as: operation,
            payload: { writer in try mapping.writeFindWriteOffs(clientReference: clientReference, into: &writer) },
            decoder: { _ in mappings.writeOffsDecoder(operation) })
    }

    /// Raises a credit note with its stable client reference; MILES returns the first result for a repeated reference.
    public func raiseCreditNote(_ credit: CreditNoteRequest) async throws(SOAPCallError) -> PostedCredit? {
        let operation = try mapped(.raiseCreditNote)
        let mapping = mappings.contract
        let mappings = self.mappings
        return try await call(
            .raiseCreditNote, as: operation,
            payload: { writer in try mapping.writeRaiseCreditNote(credit, into: &writer) },
            decoder: { _ in mappings.creditNotesDecoder(operation) }).first
    }

    /// The credit notes MILES raised under a client reference: how an unknown outcome is settled.
    public func findCreditNotes(clientReference: String) async throws(SOAPCallError) -> [PostedCredit] {
        let operation = try mapped(.findCreditNotes)
        let mapping = mappings.contract
        let mappings = self.mappings
        return try await call(
            .findCreditNotes, as: operation,
            payload: { writer in try mapping.writeFindCreditNotes(clientReference: clientReference, into: &writer) },
            decoder: { _ in mappings.creditNotesDecoder(operation) })
    }

    /// Reverses (part of) a posted write-off with the reversal's stable client reference.
    public func reverseWriteOff(_ reversal: WriteOffReversal) async throws(SOAPCallError) -> PostedCredit? {
        let operation = try mapped(.reverseWriteOff)
        let mapping = mappings.contract
        let mappings = self.mappings
        return try await call(
            .reverseWriteOff, as: operation,
            payload: { writer in try mapping.writeReverseWriteOff(reversal, into: &writer) },
            decoder: { _ in mappings.reverseWriteOffDecoder(operation) }).first
    }

    /// The reversals of the write-off posted under `writeOffReference`, as FindWriteOffs returns them with it.
    public func findWriteOffReversals(writeOffReference: String) async throws(SOAPCallError) -> [PostedCredit] {
        let operation = try mapped(.findWriteOffs)
        let mapping = mappings.contract
        let mappings = self.mappings
        return try await call(
            .findWriteOffs, as: operation,
            payload: { writer in try mapping.writeFindWriteOffs(clientReference: writeOffReference, into: &writer) },
            decoder: { _ in mappings.writeOffReversalsDecoder(operation) })
    }

    /// Allocates a bank payment to the contract's invoices under its stable client reference; MILES answers
    /// a repeat with the first allocation and allocates nothing. Answers MILES's allocation id; nil when the
    /// answer lacks it or is about another allocation (another reference, another amount). `payerName` is the
    /// payer as the bank named them, sent where the mapping maps it.
    public func allocatePayment(_ allocation: PaymentAllocation, payerName: String?) async throws(SOAPCallError) -> String? {
        let operation = try mapped(.allocatePayment)
        let mapping = mappings.contract
        let values = try await call(
            .allocatePayment, as: operation,
            payload: { writer in try mapping.writeAllocatePayment(allocation, payerName: payerName, into: &writer) },
            decoder: { _ in ResponseValuesDecoder(operation: operation, elementNames: mapping.elementNames) })
        let currency = allocation.allocated.currency
        guard let id = values["allocationId"], values["clientReference"] == allocation.clientReference, values["currency"] == currency.code,
              values["amount"].flatMap(DecimalAmount.parse)?.money(in: currency) == allocation.allocated else { return nil }
        return id
    }

    /// Undoes the allocation made under the allocation's client reference; reversing it again answers the same.
    /// `reason` is the bank's return reason code. False when MILES's answer does not say it is reversed.
    public func reverseAllocation(_ allocation: PaymentAllocation, reason: String?) async throws(SOAPCallError) -> Bool {
        let operation = try mapped(.reverseAllocation)
        let mapping = mappings.contract
        let values = try await call(
            .reverseAllocation, as: operation,
            payload: { writer in try mapping.writeReverseAllocation(allocation, reasonCode: reason, into: &writer) },
            decoder: { _ in ResponseValuesDecoder(operation: operation, elementNames: mapping.elementNames) })
        return values["allocationId"] != nil && (values["reversed"] == "true" || values["reversed"] == "1")
    }
}

/// Where MILES is and who the adapter is to it.
public struct MilesConnection: Sendable {
    /// Base URL of the MILES services, e.g. `https://miles.example.com/services`.
    public var endpoint: String
    public var credentials: MilesCredentials
    public var transport: HTTPTransportConfiguration
    public var circuitBreaker: CircuitBreaker.Configuration

    public init(endpoint: String, credentials: MilesCredentials, transport: HTTPTransportConfiguration = HTTPTransportConfiguration(),
                circuitBreaker: CircuitBreaker.Configuration = CircuitBreaker.Configuration()) {
        self.endpoint = endpoint
        self.credentials = credentials
        self.transport = transport
        self.circuitBreaker = circuitBreaker
    }
}
