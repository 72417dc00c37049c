import CollectionsDomain
import Foundation
import MilesSOAP

/// The mock MILES's state and behaviour, apart from HTTP: the portfolio, security, injected
/// faults and the journal. Tests may drive it directly or through `MockMilesServer`.
public actor MockMiles {
    public let configuration: MockMilesConfiguration
    var portfolio: MockPortfolio
    var ledger = WriteOffLedger()
    /// Status updates by client reference: a repeat gets the first result.
    var statusUpdates: [String: (String, Int64, String)] = [:]
    /// Notes filed, by client reference.
    var notes: [String: MockNote] = [:]
    /// UpdateContactDetails answers by client reference: partner id and the version it made.
    var contactUpdates: [String: (String, Int64)] = [:]
    /// Letters issued, in issuing order.
    var letters: [MockLetter] = []
    /// Payment arrangements, in creation order.
    var arrangements: [MockArrangement] = []
    /// Bank payments allocated to invoices, with their reversals.
    var allocations = AllocationLedger()
    private var security: MockSecurity
    private var faults: FaultPlan
    /// How many calls an injected fault has failed or spoiled.
    public private(set) var injectedFaults = 0
    private var journal = RequestJournal()
    /// The wall clock used for WS-Security's Created check; tests can move it.
    private var wallClock: @Sendable () -> Date = { Date() }

    public init(configuration: MockMilesConfiguration) {
        self.configuration = configuration
        portfolio = MockPortfolio(seed: configuration.seed, contractCount: configuration.contractCount, baseTime: configuration.baseTime)
        security = MockSecurity(configuration: configuration)
        faults = FaultPlan(seed: configuration.faultSeed)
    }

    // MARK: SOAP

    /// Answers one SOAP call: the HTTP status, the body, and whether to drop the connection instead
    /// of answering (an injected fault after the request was processed).
    func handle(service: String, body: [UInt8]) -> (status: Int, body: [UInt8]) {
        let answer = respond(service: service, body: body)
        return (answer.status, answer.body)
    }

    func respond(service: String, body: [UInt8]) -> MockAnswer {
        let request: MockSOAPRequest
        do {
            request = try MockSOAPRequest.parse(body)
        } catch {
            let answer = fault(MockFault(code: "INVALID_REQUEST", message: "the request is not acceptable XML: \(error)"))
            return MockAnswer(status: answer.status, body: answer.body)
        }
        let operation = request.operation ?? "?"
        var parameters: [String: String] = [:]
        for (key, values) in request.parameters { parameters[key] = values.joined(separator: ",") }
        func answer(_ result: (status: Int, body: [UInt8]), _ outcome: String, drop: Bool = false) -> MockAnswer {
            journal.record(service: service, operation: operation, parameters: parameters, outcome: drop ? outcome + ",dropped" : outcome)
            return MockAnswer(status: result.status, body: result.body, dropConnection: drop)
        }
        if let failure = security.verify(request.token, timestamp: request.timestamp, now: wallClock()) {
            return answer(fault(failure), "fault:\(failure.code)")
        }
        let rule = faults.next(for: operation)
        if rule != nil { injectedFaults += 1 }
        // Faults that answer instead of the operation: nothing is applied.
        if let rule, rule.afterProcessing != true {
            let kind = rule.effectiveKind
            switch kind {
            case .soapFault:
                let code = rule.faultCode ?? "SERVER_BUSY"
                return answer(fault(MockFault(code: code, message: "injected fault \(code)", isServerFault: true)), "fault:\(code)")
            case .http:
                let status = rule.httpStatus ?? 503
                var result = answer((status, Array("<html><body>injected \(status)</body></html>".utf8)), "http:\(status)")
                result.retryAfterSeconds = rule.retryAfterSeconds
                return result
            case .connectionReset:
                return answer((200, []), "injected:connectionReset", drop: true)
            case .emptyResponse:
                return answer((200, []), "injected:emptyResponse")
            case .garbage:
                return answer((200, faults.randomBytes(2_048)), "injected:garbage")
            case .billionLaughs, .externalEntityFile, .externalEntityURL, .deepNesting, .hugeTextNode:
                return answer((200, HostileXML.body(kind, operation: operation, url: rule.url, sizeBytes: rule.sizeBytes)), "injected:\(kind.rawValue)")
            case .delay, .truncatedBody, .xsdMissingElement, .xsdWrongOrder, .xsdExtraElement, .cursorRepeat, .cursorSkip:
                break
            }
        }
        do {
            var bytes: [UInt8]
            switch (service, operation) {
            case ("ContractService", "FindContracts"): bytes = try findContracts(request, skipAPage: rule?.kind == .cursorSkip)
            case ("ContractService", "GetContract"): bytes = try getContract(request)
            case ("ContractService", "UpdateContractStatus"): bytes = try updateContractStatus(request)
            case ("ContractService", "AddContractNote"): bytes = try addContractNote(request)
            case ("ContractService", "UpdateContactDetails"): bytes = try updateContactDetails(request)
            case ("ContractService", "RequestCustomerLetter"): bytes = try requestCustomerLetter(request)
            case ("ContractService", "CreatePaymentArrangement"): bytes = try createPaymentArrangement(request)
            case ("ContractService", "CancelPaymentArrangement"): bytes = try cancelPaymentArrangement(request)
            case ("FinanceService", "PostWriteOff"): bytes = try postWriteOff(request)
            case ("FinanceService", "FindWriteOffs"): bytes = try findWriteOffs(request)
            case ("FinanceService", "RaiseCreditNote"): bytes = try raiseCreditNote(request)
            case ("FinanceService", "FindCreditNotes"): bytes = try findCreditNotes(request)
            case ("FinanceService", "ReverseWriteOff"): bytes = try reverseWriteOff(request)
            case ("FinanceService", "AllocatePayment"): bytes = try allocatePayment(request)
            case ("FinanceService", "ReverseAllocation"): bytes = try reverseAllocation(request)
            default:
                throw MockFault(code: "INVALID_REQUEST", message: "\(service) has no operation \(operation)")
            }
            guard let rule else { return answer((200, bytes), "ok") }
            if rule.afterProcessing == true {
                var result = answer((200, bytes), "ok", drop: rule.delayMilliseconds == nil)
                result.delayMilliseconds = rule.delayMilliseconds
                return result
            }
            // Faults that spoil the operation's real answer (it was applied).
            let kind = rule.effectiveKind
            switch kind {
            case .delay:
                var result = answer((200, bytes), "injected:delay")
                let limit = rule.delayMilliseconds ?? 5_000
                result.delayMilliseconds = rule.randomDelay == true ? faults.randomMilliseconds(upTo: limit) : limit
                return result
            case .truncatedBody:
                bytes = SpoiledAnswer.truncated(bytes)
            case .xsdMissingElement, .xsdWrongOrder, .xsdExtraElement:
                bytes = SpoiledAnswer.breakingSchema(bytes, kind)
            case .cursorRepeat:
                bytes = SpoiledAnswer.withNextCursor(bytes, request.value("Cursor"))
            default:
                break
            }
            return answer((200, bytes), "injected:\(kind.rawValue)")
        } catch let failure as MockFault {
            return answer(fault(failure), "fault:\(failure.code)")
        } catch {
            return answer(fault(MockFault(code: "INTERNAL_ERROR", message: "\(error)", isServerFault: true)), "fault:INTERNAL_ERROR")
        }
    }

    private func fault(_ fault: MockFault) -> (status: Int, body: [UInt8]) {
        let soapFault = SOAPFault(faultCode: fault.isServerFault ? "soapenv:Server" : "soapenv:Client",
                                  faultString: fault.message, code: fault.code)
        return (500, SOAPEnvelope.fault(soapFault, messageNamespace: MockMilesServer.namespace, detailElement: "FaultDetail",
                                        codeElement: "Code", messageElement: "Message"))
    }

    /// One page of a query; `skipAPage` (an injected fault) hands out the cursor after the next page's.
    private func findContracts(_ request: MockSOAPRequest, skipAPage: Bool) throws -> [UInt8] {
        guard let pageSizeText = request.value("PageSize"), let requested = Int(pageSizeText), requested >= 1 else {
            throw MockFault(code: "INVALID_REQUEST", message: "PageSize must be a whole number of at least 1")
        }
        let pageSize = min(requested, configuration.maximumPageSize)
        let query: MockCursor
        if let cursorText = request.value("Cursor") {
            guard let cursor = MockCursor(encoded: cursorText) else {
                throw MockFault(code: "INVALID_CURSOR", message: "cursor '\(cursorText)' was not issued by this server")
            }
            query = cursor
        } else {
            var since: Timestamp?
            if let text = request.value("ChangedSince") {
                guard let parsed = Timestamp.parse(text) else {
                    throw MockFault(code: "INVALID_REQUEST", message: "ChangedSince '\(text)' is not a date-time with a zone")
                }
                since = parsed
            }
            let asOf = portfolio.clock
            query = MockCursor(asOf: asOf, since: since, lastIndex: -1, total: portfolio.count(since: since, asOf: asOf))
        }
        let key = RenderedPages.Key(asOf: query.asOf, since: query.since, afterIndex: query.lastIndex, total: query.total,
                                    pageSize: pageSize, skipsAPage: skipAPage)
        if let page = portfolio.renderedPages[key] { return page }
        let (indexes, more) = portfolio.changed(since: query.since, after: query.lastIndex, limit: pageSize, asOf: query.asOf)
        var next: String?
        if more, var last = indexes.last {
            if skipAPage {
                let (skipped, _) = portfolio.changed(since: query.since, after: last, limit: pageSize, asOf: query.asOf)
                last = skipped.last ?? last
            }
            next = MockCursor(asOf: query.asOf, since: query.since, lastIndex: last, total: query.total).encoded
        }
        let page = try MockContractRenderer.findContractsResponse(
            asOf: query.asOf, totalCount: query.total, nextCursor: next, contracts: indexes.map { portfolio.contract($0) })
        portfolio.renderedPages.keep(page, for: key)
        return page
    }

    private func getContract(_ request: MockSOAPRequest) throws -> [UInt8] {
        guard let number = request.value("ContractNumber"), let contract = portfolio.contract(number: number) else {
            throw MockFault(code: "UNKNOWN_CONTRACT", message: "no contract \(request.value("ContractNumber") ?? "(none given)")")
        }
        return try MockContractRenderer.getContractResponse(contract)
    }

    // MARK: Administration and inspection

    /// Back to the seeded portfolio: no changes, no faults, empty journal, forgotten nonces.
    public func reset() {
        portfolio = MockPortfolio(seed: configuration.seed, contractCount: configuration.contractCount, baseTime: configuration.baseTime)
        security = MockSecurity(configuration: configuration)
        faults.clear()
        journal.clear()
        ledger = WriteOffLedger()
        statusUpdates = [:]
        notes = [:]
        contactUpdates = [:]
        letters = []
        arrangements = []
        allocations = AllocationLedger()
    }

    /// A day of business: the clock moves a day on and `changes` contracts change. Returns their numbers.
    @discardableResult
    public func advanceDay(changes: Int) -> [String] { portfolio.advanceDay(changes: changes) }

    /// One contract changed as a test crafts it (a balance, a flag), recorded as a new version.
    @discardableResult
    public func modifyContract(number: String, _ change: (inout Contract) -> Void) -> Bool { portfolio.modify(number: number, change) }

    public func injectFault(_ rule: FaultRule) { faults.add(rule) }
    public func clearFaults() { faults.clear() }
    public func journalEntries() -> [JournalEntry] { journal.entries }
    public func clearJournal() { journal.clear() }
    public func setWallClock(_ clock: @escaping @Sendable () -> Date) { wallClock = clock }

    /// The business clock: when the portfolio was last changed.
    public var businessClock: Timestamp { portfolio.clock }
    public var contractCount: Int { portfolio.contractCount }

    /// Every contract in contract-number order, as MILES holds it now (for reconciliation checks).
    public func forEachContract(_ body: (Contract) throws -> Void) rethrows {
        for index in 0..<portfolio.contractCount { try body(portfolio.contract(index)) }
    }

    public func contract(number: String) -> Contract? { portfolio.contract(number: number) }

    /// Every note filed, in filing order.
    public func contractNotes() -> [MockNote] { notes.values.sorted { $0.noteId < $1.noteId } }

    /// The client reference of every status change applied, once each.
    public func appliedStatusChangeReferences() -> [String] { statusUpdates.keys.sorted() }

    /// Every write-off posted, in posting order, each with its reversals.
    public func writeOffLedger() -> [MockWriteOff] { ledger.entries }

    /// Every payment arrangement, in creation order.
    public func arrangementLedger() -> [MockArrangement] { arrangements }

    /// Every payment allocation, in the order MILES made them, each marked when reversed.
    public func allocationLedger() -> [MockAllocation] { allocations.entries }

    /// How many allocations MILES applied under each client reference: a repeat applied twice would show as 2.
    public func allocationCounts() -> [String: Int] { Dictionary(allocations.entries.map { ($0.clientReference, 1) }, uniquingKeysWith: +) }

    /// Every letter issued, in issuing order.
    public func letterLedger() -> [MockLetter] { letters }

    /// Every credit note raised, in the order MILES raised them.
    public func creditNoteLedger() -> [MockPosting] { ledger.creditNotes }

    /// Every write-off reversal, in the order MILES made them.
    public func reversalLedger() -> [MockPosting] { ledger.reversals }

    /// A FindContracts answer holding contracts `range`, exactly as the server would send it (for benchmarks).
    /// Sample answers, one per file name: pages of contracts (with and without invoices, a last page),
    /// a single contract and a fault. The fuzzer's seed corpus.
    public func sampleResponses() throws -> [String: [UInt8]] {
        var samples: [String: [UInt8]] = [:]
        let count = min(portfolio.contractCount, 6)
        samples["find-contracts-page.xml"] = try MockContractRenderer.findContractsResponse(
            asOf: portfolio.clock, totalCount: portfolio.contractCount, nextCursor: "c2VlZA", contracts: (0..<count).map { portfolio.contract($0) })
        samples["find-contracts-last-page.xml"] = try renderedPage(0..<min(count, 1))
        samples["find-contracts-empty.xml"] = try renderedPage(0..<0)
        if count > 0 { samples["get-contract.xml"] = try MockContractRenderer.getContractResponse(portfolio.contract(count - 1)) }
        samples["fault.xml"] = fault(MockFault(code: "SERVER_BUSY", message: "try again later", isServerFault: true)).body
        return samples
    }

    public func renderedPage(_ range: Range<Int>) throws -> [UInt8] {
        try MockContractRenderer.findContractsResponse(
            asOf: portfolio.clock, totalCount: range.count, nextCursor: nil,
            contracts: range.map { portfolio.contract($0) })
    }
}

/// The opaque FindContracts cursor: the query it continues and where it stopped.
struct MockCursor {
    let asOf: Timestamp
    let since: Timestamp?
    let lastIndex: Int
    let total: Int

    init(asOf: Timestamp, since: Timestamp?, lastIndex: Int, total: Int) {
        self.asOf = asOf
        self.since = since
        self.lastIndex = lastIndex
        self.total = total
    }

    init?(encoded: String) {
        guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "v1", let asOf = Int64(parts[1]), let last = Int(parts[3]), let total = Int(parts[4]) else {
            return nil
        }
        self.asOf = Timestamp(millisecondsSinceEpoch: asOf)
        self.since = parts[2].isEmpty ? nil : Int64(parts[2]).map { Timestamp(millisecondsSinceEpoch: $0) }
        if !parts[2].isEmpty, since == nil { return nil }
        self.lastIndex = last
        self.total = total
    }

    var encoded: String {
        let text = "v1:\(asOf.millisecondsSinceEpoch):\(since.map { String($0.millisecondsSinceEpoch) } ?? ""):\(lastIndex):\(total)"
        return Data(text.utf8).base64EncodedString()
    }
}

/// What the server does with a call.
struct MockAnswer {
    var status: Int
    var body: [UInt8]
    /// Close the connection without answering: the caller cannot know whether the call was applied.
    var dropConnection = false
    /// Answer only after this long.
    var delayMilliseconds: Int?
    /// Sent as `Retry-After` with an HTTP status.
    var retryAfterSeconds: Int?
}
