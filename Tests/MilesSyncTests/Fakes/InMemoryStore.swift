import CollectionsDomain
import CollectionsStore
import Foundation

/// The narrow store protocols the desks and the relay use, kept in memory: enough behaviour to
/// test a desk's decisions without SQLite. Each write records what a real store would commit in one
/// transaction, including its outbox entry through `OutboxKind`, the one definition of each kind.
actor InMemoryStore: ContractStore, WriteOffStore, ContractActionStore, PlacementStore, OutboxStore {
    var contracts: [String: Contract] = [:] {
        didSet { revision += 1 }
    }
    private var revision: Int64 = 0
    /// How many times a worker has looked for entries to claim.
    private(set) var claims = 0
    var requests: [Int64: WriteOffRequest] = [:]
    var holdsByContract: [String: [ContractHold]] = [:]
    var noticesByContract: [String: ContractNotices] = [:]
    var statusChanges: [Int64: StatusChange] = [:]
    var notes: [Int64: ContractNote] = [:]
    var contactChanges: [Int64: ContactChange] = [:]
    var letters: [Int64: LetterRequest] = [:]
    var allocations: [Int64: PaymentAllocation] = [:]
    var placements: [String: String] = [:]
    var instructions: [AgentInstruction] = []
    var outbox: [Int64: OutboxEntry] = [:]
    private var nextId: Int64 = 1

    init(contracts: [Contract] = []) {
        for contract in contracts { self.contracts[contract.contractNumber] = contract }
    }

    private func newId() -> Int64 {
        defer { nextId += 1 }
        return nextId
    }

    private func enqueue(_ kind: OutboxKind, subjectId: Int64, at: Timestamp) {
        let id = newId()
        outbox[id] = OutboxEntry(id: id, kind: kind, clientReference: kind.clientReference(forSubject: subjectId), subjectId: subjectId,
                                 state: .pending, attempts: 0, nextAttemptAt: at, lastError: nil, resultReference: nil, createdAt: at, updatedAt: at)
    }

    func place(_ contractNumber: String, with agent: String) { placements[contractNumber] = agent }

    func setOutboxEntry(_ entry: OutboxEntry) { outbox[entry.id] = entry }

    // MARK: ContractStore

    func contract(number: String) -> Contract? { contracts[number] }

    func contracts(after contractNumber: String?, limit: Int) -> [Contract] {
        Array(contracts.values.filter { $0.contractNumber > (contractNumber ?? "") }.sorted { $0.contractNumber < $1.contractNumber }.prefix(limit))
    }

    /// Counts the revision reads, and holds every read of open invoices until `readersBeforeInvoices`
    /// revision reads have happened: a test's way to have concurrent readers all arrive while a
    /// computation is still reading.
    private var revisionReads = 0
    private var readersBeforeInvoices = 0
    private var heldInvoiceReads: [CheckedContinuation<Void, Never>] = []

    func holdInvoiceReads(untilMoreRevisionReads count: Int) { readersBeforeInvoices = revisionReads + count }

    func openInvoices(after cursor: OpenInvoicePage.Cursor?, limit: Int) async -> OpenInvoicePage {
        if revisionReads < readersBeforeInvoices { await withCheckedContinuation { heldInvoiceReads.append($0) } }
        var page: [(key: OpenInvoicePage.Cursor, invoice: Invoice)] = []
        for contract in contracts.values.sorted(by: { $0.contractNumber < $1.contractNumber }) {
            for (position, invoice) in contract.openInvoices.enumerated() {
                if let cursor, (contract.contractNumber, position) <= (cursor.contractNumber, cursor.position) { continue }
                guard page.count < limit else { break }
                page.append((OpenInvoicePage.Cursor(contractNumber: contract.contractNumber, position: position), invoice))
            }
        }
        return OpenInvoicePage(invoices: page.map(\.invoice), next: page.count == limit ? page.last?.key : nil)
    }

    func upsertContract(_ contract: Contract) { contracts[contract.contractNumber] = contract }

    func contractCount() -> Int { contracts.count }

    func searchContracts(matching text: String, limit: Int) -> [Contract] {
        let wanted = text.trimmingCharacters(in: .whitespaces).lowercased()
        func words(_ text: String) -> [Substring] { text.lowercased().split { !$0.isLetter && !$0.isNumber } }
        guard !wanted.isEmpty else { return [] }
        return contracts.values.filter { contract in
            let nameWords = words(contract.customer.name)
            return contract.contractNumber.lowercased().hasPrefix(wanted)
                || contract.customer.address.postcode.lowercased().replacingOccurrences(of: " ", with: "")
                    .hasPrefix(wanted.replacingOccurrences(of: " ", with: ""))
                || (!words(wanted).filter { $0.count > 1 }.isEmpty
                    && words(wanted).filter { $0.count > 1 }.allSatisfy { word in nameWords.contains { $0.hasPrefix(word) } })
        }.sorted { $0.contractNumber < $1.contractNumber }.prefix(limit).map { $0 }
    }

    func largestOpenBalances(by grouping: OpenBalanceGroup.Grouping, limit: Int) -> [OpenBalanceGroup] {
        var groups: [String: OpenBalanceGroup] = [:]
        for contract in contracts.values {
            let key = grouping == .contract ? contract.contractNumber : contract.customer.partnerId
            let open = contract.openInvoices
            groups["\(key) \(contract.currency.code)", default: OpenBalanceGroup(key: key, customerName: contract.customer.name,
                                                                                  currency: contract.currency, invoices: [])].invoices += open
        }
        func open(_ group: OpenBalanceGroup) -> Int64 { group.invoices.reduce(0) { $0 + $1.openAmount.minorUnits } }
        return Array(groups.values.filter { open($0) > 0 }.sorted { (open($0), $1.key) > (open($1), $0.key) }.prefix(limit))
    }

    func contractsRevision() -> Int64 {
        revisionReads += 1
        if revisionReads >= readersBeforeInvoices {
            heldInvoiceReads.forEach { $0.resume() }
            heldInvoiceReads = []
        }
        return revision
    }

    func statusCodeCounts() -> [String: Int] { Dictionary(contracts.values.map { ($0.statusCode, 1) }, uniquingKeysWith: +) }

    // MARK: WriteOffStore

    func createWriteOffRequest(_ request: NewWriteOffRequest, requestedBy: String, at: Timestamp) -> RequestCreation {
        let id = newId()
        requests[id] = WriteOffRequest(
            id: id, contractNumber: request.contractNumber, invoiceNumbers: request.invoiceNumbers, amount: request.amount,
            reason: request.reason, comment: request.comment, requestedBy: requestedBy, requestedAt: at, state: .pendingApproval,
            requiredRole: request.requiredRole, approvalsNeeded: request.approvalsNeeded, matrixVersion: request.matrixVersion, approvals: [],
            customerMustBeTold: request.customerMustBeTold)
        return .created(id: id)
    }

    func writeOffRequest(id: Int64) -> WriteOffRequest? { requests[id] }

    func writeOffRequests(state: WriteOffRequest.State?) -> [WriteOffRequest] {
        requests.values.filter { state == nil || $0.state == state }.sorted { $0.id < $1.id }
    }

    func writeOffRequests(contractNumber: String) -> [WriteOffRequest] {
        requests.values.filter { $0.contractNumber == contractNumber }.sorted { $0.id > $1.id }
    }

    func latestWriteOffRequests(limit: Int) -> [WriteOffRequest] {
        Array(requests.values.sorted { $0.id > $1.id }.prefix(limit))
    }

    func recordApproval(requestId: Int64, approval: Approval, expectedApprovals: Int, isFinal: Bool) throws {
        guard var request = requests[requestId], request.state == .pendingApproval, request.approvals.count == expectedApprovals else {
            throw StoreError(.changedMeanwhile, input: "write-off request \(requestId)", "changed meanwhile")
        }
        request.approvals.append(approval)
        if isFinal {
            request.state = .approved
            enqueue(.postWriteOff, subjectId: requestId, at: approval.at)
        }
        requests[requestId] = request
    }

    func rejectWriteOffRequest(id: Int64, by actor: String, reason: String, at: Timestamp) throws {
        guard requests[id]?.state == .pendingApproval else { throw StoreError(.wrongState, input: "write-off request \(id)", "not waiting") }
        requests[id]?.state = .rejected
        requests[id]?.rejection = reason
    }

    // MARK: ContractActionStore

    func holds(contractNumber: String) -> [ContractHold] { holdsByContract[contractNumber] ?? [] }

    func recordHold(_ hold: ContractHold, contractNumber: String, placedWith: String?, instruction: AgentInstruction?, at: Timestamp) throws {
        // In the real stores' order: the active hold first, then the placement.
        if let active = holds(contractNumber: contractNumber).first(where: { $0.kind == hold.kind && $0.isActive(on: hold.setOn) }) {
            throw StoreError.holdActive(hold.kind, on: contractNumber, setOn: active.setOn, by: active.setBy, reason: active.reason)
        }
        guard placements[contractNumber] == placedWith else {
            throw StoreError(.changedMeanwhile, input: "contract \(contractNumber)", "placement changed meanwhile")
        }
        holdsByContract[contractNumber, default: []].append(hold)
        if let instruction { instructions.append(instruction) }
    }

    func liftHold(contractNumber: String, kind: ContractHold.Kind, by actor: String, on date: LocalDate, at: Timestamp) throws {
        guard let index = holdsByContract[contractNumber]?.firstIndex(where: { $0.kind == kind && $0.liftedOn == nil }) else {
            throw StoreError(.notFound, input: "contract \(contractNumber)", "no active \(kind.rawValue) hold")
        }
        holdsByContract[contractNumber]?[index].liftedOn = date
    }

    func notices(contractNumber: String) -> ContractNotices { noticesByContract[contractNumber] ?? ContractNotices() }

    func recordNotice(contractNumber: String, arrearsNoticeSentOn: LocalDate?, defaultNotice: ContractNotices.DefaultNotice?,
                      by actor: String, at: Timestamp) {
        var notices = noticesByContract[contractNumber] ?? ContractNotices()
        if let arrearsNoticeSentOn { notices.arrearsNoticesSent.append(arrearsNoticeSentOn) }
        if let defaultNotice { notices.defaultNotice = defaultNotice }
        noticesByContract[contractNumber] = notices
    }

    func queueStatusChange(_ change: StatusChange) -> Int64 {
        let id = newId()
        var stored = change
        stored.id = id
        statusChanges[id] = stored
        enqueue(.updateContractStatus, subjectId: id, at: change.requestedAt)
        return id
    }

    func statusChange(id: Int64) -> StatusChange? { statusChanges[id] }

    func queueNote(_ note: ContractNote) -> Int64 {
        let id = newId()
        var stored = note
        stored.id = id
        notes[id] = stored
        enqueue(.addContractNote, subjectId: id, at: note.requestedAt)
        return id
    }

    func note(id: Int64) -> ContractNote? { notes[id] }

    func queueLetter(contractNumber: String, type: LetterType, by actor: String, at: Timestamp) -> RequestCreation {
        if let queued = letters.values.first(where: { $0.contractNumber == contractNumber && $0.type == type && $0.state == .queued }) {
            return .alreadyRequested(id: queued.id)
        }
        let id = newId()
        letters[id] = LetterRequest(id: id, contractNumber: contractNumber, type: type, requestedBy: actor, requestedAt: at, state: .queued)
        enqueue(.requestCustomerLetter, subjectId: id, at: at)
        return .created(id: id)
    }

    func letterRequest(id: Int64) -> LetterRequest? { letters[id] }

    func letterRequests(contractNumber: String) -> [LetterRequest] {
        letters.values.filter { $0.contractNumber == contractNumber }.sorted { $0.id < $1.id }
    }

    /// This store keeps no arrangements: none is ever agreed.
    func letterBacking(contractNumber: String) -> LetterBacking {
        LetterBacking(arrangementAgreed: false, partialWriteOffPosted: requests.values.contains {
            $0.contractNumber == contractNumber && $0.state == .posted && $0.customerMustBeTold
        })
    }

    func contactChange(id: Int64) -> ContactChange? { contactChanges[id] }

    /// A bank entry's allocation queued for MILES (or its reversal), as the bank store commits it with its outbox entry.
    func queueAllocation(_ allocation: PaymentAllocation, reversal: Bool, at: Timestamp) {
        allocations[allocation.id] = allocation
        enqueue(reversal ? .reverseAllocation : .allocatePayment, subjectId: allocation.id, at: at)
    }

    // MARK: PlacementStore

    func activePlacement(contractNumber: String) -> String? { placements[contractNumber] }

    func placedContracts(agent: String) -> Set<String> { Set(placements.filter { $0.value == agent }.keys) }

    func queuePlacement(agent: String, fileName: String, changes: [StatusChange], by actor: String, at: Timestamp) {
        for change in changes {
            _ = queueStatusChange(change)
            placements[change.contractNumber] = agent
        }
    }

    func recordRecall(agent: String, contractNumbers: [String], forced: Bool, by actor: String, at: Timestamp) {
        for number in contractNumbers where placements[number] == agent { placements[number] = nil }
    }

    func agentInstructions(agent: String) -> [AgentInstruction] { instructions.filter { $0.agent == agent } }

    // MARK: OutboxStore

    func claimOutboxEntries(for worker: OutboxWorker, now: Timestamp, leaseUntil: Timestamp, limit: Int,
                            isGone: @Sendable (OutboxWorker) -> Bool) -> [OutboxEntry] {
        claims += 1
        let claimable = outbox.values.filter { entry in
            (entry.state == .pending && entry.nextAttemptAt <= now || entry.state == .sending)
                && entry.lease.map { $0.expiresAt <= now || isGone($0.worker) } ?? true
                && !undoesUnsettledWrite(entry)
        }
        return claimable.sorted { $0.id < $1.id }.prefix(limit).map { entry in
            outbox[entry.id]?.lease = OutboxLease(worker: worker, expiresAt: leaseUntil)
            outbox[entry.id]?.fence += 1
            return outbox[entry.id]!
        }
    }

    /// The protocol's rule: an entry undoing another write waits while that one is pending or sending.
    private func undoesUnsettledWrite(_ entry: OutboxEntry) -> Bool {
        guard let undone = entry.kind.undoes?.clientReference(forSubject: entry.subjectId) else { return false }
        return outbox.values.contains { $0.clientReference == undone && ($0.state == .pending || $0.state == .sending) }
    }

    func renewOutboxLeases(_ entries: [OutboxEntry], until: Timestamp) -> Set<Int64> {
        Set(entries.filter { outbox[$0.id]?.fence == $0.fence }.map { entry in
            outbox[entry.id]?.lease?.expiresAt = until
            return entry.id
        })
    }

    func releaseOutboxLeases(_ entries: [OutboxEntry]) {
        for entry in entries where outbox[entry.id]?.fence == entry.fence { outbox[entry.id]?.lease = nil }
    }

    func outboxBacklog() -> OutboxBacklog {
        let waiting = outbox.values.filter { $0.state == .pending || $0.state == .sending }
        return OutboxBacklog(waiting: waiting.count, nextClaimAt: waiting.filter { !undoesUnsettledWrite($0) }.map { entry in
            max(entry.state == .pending ? entry.nextAttemptAt : Timestamp(millisecondsSinceEpoch: 0),
                entry.lease?.expiresAt ?? Timestamp(millisecondsSinceEpoch: 0))
        }.min())
    }

    func outboxEntries(state: OutboxEntry.State?) -> [OutboxEntry] {
        outbox.values.filter { state == nil || $0.state == state }.sorted { $0.id < $1.id }
    }

    func subjects(of entries: [OutboxEntry]) -> [Int64: OutboxSubject] {
        var subjects: [Int64: OutboxSubject] = [:]
        for entry in entries {
            switch entry.kind {
            case .postWriteOff: subjects[entry.id] = requests[entry.subjectId].map(OutboxSubject.writeOff)
            case .updateContractStatus: subjects[entry.id] = statusChanges[entry.subjectId].map(OutboxSubject.statusChange)
            case .addContractNote: subjects[entry.id] = notes[entry.subjectId].map(OutboxSubject.note)
            case .updateContactDetails: subjects[entry.id] = contactChanges[entry.subjectId].map(OutboxSubject.contactChange)
            case .requestCustomerLetter: subjects[entry.id] = letters[entry.subjectId].map(OutboxSubject.letter)
            case .allocatePayment, .reverseAllocation:
                subjects[entry.id] = allocations[entry.subjectId].map {
                    entry.kind == .reverseAllocation ? .allocationReversal($0, returnReason: nil) : .paymentAllocation($0, payerName: nil)
                }
            // This fake holds no credit notes, reversals or arrangements: it is no CreditStore or ArrangementStore.
            case .raiseCreditNote, .reverseWriteOff, .createPaymentArrangement, .cancelPaymentArrangement: break
            }
        }
        return subjects
    }

    func outboxCounts() -> [OutboxEntry.State: Int] { Dictionary(outbox.values.map { ($0.state, 1) }, uniquingKeysWith: +) }

    func outboxEntry(id: Int64) -> OutboxEntry? { outbox[id] }

    func markSending(_ entry: OutboxEntry, at: Timestamp) throws {
        try held(entry)
        outbox[entry.id]?.state = .sending
        outbox[entry.id]?.attempts += 1
    }

    func recordWriteOffPosted(_ entry: OutboxEntry, posted: PostedWriteOff, at: Timestamp) throws {
        try settle(entry, result: posted.writeOffId)
        requests[entry.subjectId]?.state = .posted
    }

    func recordLetterIssued(_ entry: OutboxEntry, letter: IssuedLetter, at: Timestamp) throws {
        try settle(entry, result: letter.letterId)
        letters[entry.subjectId]?.state = .issued
        letters[entry.subjectId]?.serveDate = letter.serveDate
        letters[entry.subjectId]?.remedyDate = letter.remedyDate
    }

    func recordArrangementCreated(_ entry: OutboxEntry, created: CreatedArrangement, at: Timestamp) throws {
        try settle(entry, result: created.arrangementId)
    }

    func recordArrangementCancelled(_ entry: OutboxEntry, at: Timestamp) throws {
        try settle(entry, result: "cancelled")
    }

    func recordAllocationPosted(_ entry: OutboxEntry, milesAllocationId: String, at: Timestamp) throws {
        try settle(entry, result: milesAllocationId)
        allocations[entry.subjectId]?.state = .allocated
        allocations[entry.subjectId]?.milesAllocationId = milesAllocationId
    }

    func recordAllocationReversed(_ entry: OutboxEntry, at: Timestamp) throws {
        try settle(entry, result: "reversed")
        allocations[entry.subjectId]?.state = .reversed
    }

    func recordCreditPosted(_ entry: OutboxEntry, posted: PostedCredit, at: Timestamp) throws {
        try settle(entry, result: posted.milesId)
    }

    func recordStatusApplied(_ entry: OutboxEntry, milesVersion: Int64, at: Timestamp) throws {
        try settle(entry, result: "version \(milesVersion)")
        statusChanges[entry.subjectId]?.state = .applied
    }

    func recordNoteAdded(_ entry: OutboxEntry, milesNoteId: String, at: Timestamp) throws { try settle(entry, result: milesNoteId) }

    func recordContactChangeApplied(_ entry: OutboxEntry, milesVersion: Int64, at: Timestamp) throws {
        try settle(entry, result: "partner version \(milesVersion)")
    }

    func recordVersionConflictRetry(_ entry: OutboxEntry, version: Int64, error: String, nextAttemptAt: Timestamp, at: Timestamp) throws {
        try recordRetry(entry, error: error, nextAttemptAt: nextAttemptAt, at: at)
        switch entry.kind {
        case .updateContractStatus: statusChanges[entry.subjectId]?.expectedVersion = version
        case .updateContactDetails: contactChanges[entry.subjectId]?.expectedVersion = version
        default: break
        }
    }

    func recordRetry(_ entry: OutboxEntry, error: String, nextAttemptAt: Timestamp, at: Timestamp) throws {
        try held(entry)
        outbox[entry.id]?.state = .pending
        outbox[entry.id]?.lastError = error
        outbox[entry.id]?.nextAttemptAt = nextAttemptAt
        outbox[entry.id]?.lease = nil
    }

    func recordDeadLetter(_ entry: OutboxEntry, reason: String, cause: DeadLetterCause, at: Timestamp) throws {
        try held(entry)
        outbox[entry.id]?.state = .deadLetter
        outbox[entry.id]?.lastError = reason
        outbox[entry.id]?.lease = nil
        if entry.kind == .updateContractStatus { statusChanges[entry.subjectId]?.state = .failed }
        guard entry.kind == .allocatePayment, cause == .refusedByMiles else { return }
        if allocations[entry.subjectId]?.state == .pending { allocations[entry.subjectId]?.state = .refused }
        if allocations[entry.subjectId]?.state == .reversing,
           let waiting = outbox.values.first(where: { $0.kind == .reverseAllocation && $0.subjectId == entry.subjectId && $0.state == .pending }) {
            outbox[waiting.id]?.state = .skipped
            allocations[entry.subjectId]?.state = .reversed
        }
    }

    func retryOutboxEntry(id: Int64, by actor: String, at: Timestamp) { outbox[id]?.state = .pending }

    func skipOutboxEntry(id: Int64, by actor: String, reason: String, at: Timestamp) { outbox[id]?.state = .skipped }

    /// Like the SQLite store: a result is recorded only under the fence the entry was claimed with.
    private func held(_ entry: OutboxEntry) throws {
        guard outbox[entry.id]?.fence == entry.fence else {
            throw StoreError(.leaseLost, input: "outbox entry \(entry.id)", "outbox entry \(entry.id) was taken over")
        }
    }

    private func settle(_ entry: OutboxEntry, result: String) throws {
        try held(entry)
        outbox[entry.id]?.state = .sent
        outbox[entry.id]?.resultReference = result
        outbox[entry.id]?.lease = nil
    }
}

extension InMemoryStore: ReliefStore {
    /// Allocations not yet answered by MILES (pending), and write-off requests waiting for approval or MILES:
    /// this store keeps no send times or contract versions, so nothing MILES answered is taken as still in flight.
    func reliefInFlight(contractNumbers: Set<String>) -> [String: [ReliefInFlight]] {
        var relief: [String: [ReliefInFlight]] = [:]
        for allocation in allocations.values.sorted(by: { $0.id < $1.id })
        where contractNumbers.contains(allocation.contractNumber) && allocation.state == .pending {
            relief[allocation.contractNumber, default: []].append(.allocation(
                identity: "entry-\(allocation.id)",
                lines: Dictionary(allocation.lines.map { ($0.invoiceNumber, $0.amount.minorUnits) }, uniquingKeysWith: +)))
        }
        for request in writeOffRequests(state: nil)
        where contractNumbers.contains(request.contractNumber) && (request.state == .pendingApproval || request.state == .approved) {
            relief[request.contractNumber, default: []].append(
                .writeOff(id: request.id, invoiceNumbers: request.invoiceNumbers, amount: request.amount.minorUnits))
        }
        return relief
    }
}
