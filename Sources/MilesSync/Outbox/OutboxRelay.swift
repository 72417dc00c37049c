import CollectionsDomain
import CollectionsStore
import Foundation
import Logging
import MilesMapping
import MilesSOAP

/// Sends the outbox to MILES, exactly once in effect whatever fails on the way.
///
/// Each entry is marked `sending` (committed) before its request leaves, and carries a client
/// reference that is the same on every attempt. A money posting that was sent before — it is
/// `sending` after a crash, or a previous attempt's outcome is unknown — is first looked up in MILES
/// (FindWriteOffs for write-offs and their reversals, FindCreditNotes) and only sent again if MILES
/// has no record of it, and looked up once more before it is given up on. The other writes are
/// idempotent on their reference in MILES, so a repeat returns the first result.
///
/// Several relays (push workers, in one process or many) share the outbox: each claims a batch of
/// entries with a lease, renews it while it works through them, and records each result under the
/// fence it claimed with. A worker that dies or hangs loses its entries to another when its lease
/// expires (at once, if it ran on the same machine and its process is gone); the new holder asks
/// MILES before sending again, and the old one's late results are refused (`StoreError` `.leaseLost`).
///
/// ```swift
/// let summary = try await OutboxRelay(gateway: gateway, store: store).run()
/// ```
public struct OutboxRelay: Sendable {
    public struct Configuration: Sendable {
        public var retry: RetryPolicy
        /// Entries read per round.
        public var batchSize: Int
        /// The longest the relay waits for a scheduled retry before it stops and leaves it for the next run.
        public var longestWait: Duration
        /// How long the whole run may take: past it the relay stops between entries, leaving the rest pending.
        public var deadline: Duration?
        /// Who this relay is among the push workers sharing the outbox.
        public var worker: OutboxWorker
        /// How long a claimed batch is held from the other workers.
        public var lease: Duration
        /// The longest one entry can take: a look-up in MILES and the write, each at its timeouts.
        /// Before an entry the leases are renewed if less than this is left, so no lease runs out
        /// while its worker waits on MILES; `lease` must be longer.
        public var longestEntry: Duration

        public init(retry: RetryPolicy = RetryPolicy(), batchSize: Int = 200, longestWait: Duration = .seconds(60), deadline: Duration? = nil,
                    worker: OutboxWorker = Processes.outboxWorker(), lease: Duration = .seconds(300), longestEntry: Duration = .seconds(270)) {
            self.retry = retry
            self.batchSize = batchSize
            self.longestWait = longestWait
            self.deadline = deadline
            self.worker = worker
            self.lease = lease
            self.longestEntry = longestEntry
        }

        /// The longest one entry can take against MILES with these timeouts: two calls, each at most
        /// its connect and request timeouts, and a second's margin.
        public static func longestEntry(connectTimeout: Duration, requestTimeout: Duration) -> Duration {
            (connectTimeout + requestTimeout) * 2 + .seconds(1)
        }
    }

    public struct Summary: Sendable, Equatable {
        /// Write-offs MILES posted.
        public var posted = 0
        /// Status changes MILES applied.
        public var statusChangesApplied = 0
        /// Notes MILES filed.
        public var notesAdded = 0
        public var contactChangesApplied = 0
        /// Credit notes MILES raised.
        public var creditNotesRaised = 0
        /// Write-off reversals MILES made.
        public var writeOffsReversed = 0
        /// Letters MILES will serve.
        public var lettersIssued = 0
        /// Payment arrangements MILES created, and cancelled.
        public var arrangementsCreated = 0
        public var arrangementsCancelled = 0
        /// Bank payments MILES allocated to invoices, and allocations it reversed.
        public var allocationsPosted = 0
        public var allocationsReversed = 0
        /// Version conflicts after which the change, re-checked on MILES's fresh contract, was sent again.
        public var conflictsResolved = 0
        /// Settled by asking MILES: the write-off, credit note or reversal had been made on an earlier attempt.
        public var reconciled = 0
        public var retriesScheduled = 0
        public var deadLettered = 0
        /// Entries still waiting for a later retry, or held by another worker, when the relay stopped.
        public var leftPending = 0
        /// Entries taken from this worker meanwhile (another worker after its lease expired, or a
        /// person's retry or skip): their outcome is not this worker's to record.
        public var takenOver = 0
    }

    public let gateway: any MilesWriteService
    /// What the relay reads and settles: the outbox, and the records its entries carry.
    public typealias Stores = OutboxStore & ContractActionStore & ContractStore & PlacementStore

    public let store: any Stores
    public let configuration: Configuration
    public let logger: Logger
    let now: CollectionsClock

    public init(gateway: any MilesWriteService, store: any Stores, configuration: Configuration = Configuration(),
                logger: Logger = Logger(label: "miles-adapter.outbox"),
                now: CollectionsClock = .system) {
        self.gateway = gateway
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.now = now
    }

    /// Claims and sends every due entry, waits for scheduled retries and other workers' leases up to
    /// `longestWait`, and stops when nothing is left to send now. Refused credentials stop it at once.
    public func run() async throws(OutboxRelayError) -> Summary {
        var summary = Summary()
        let deadline = configuration.deadline.map { ContinuousClock.now + $0 }
        func pastDeadline(after wait: Duration = .zero) -> Bool { deadline.map { ContinuousClock.now + wait > $0 } ?? false }
        while true {
            let claimed: [OutboxEntry]
            do {
                claimed = try await store.claimOutboxEntries(for: configuration.worker, now: now(), leaseUntil: leaseEnd(), limit: configuration.batchSize,
                                                             isGone: Processes.isGone)
            } catch {
                throw OutboxRelayError(.storeFailed, reference: nil, "cannot claim outbox entries: \(error)")
            }
            if claimed.isEmpty {
                let backlog = try await backlog()
                guard backlog.waiting > 0, let next = backlog.nextClaimAt else { return summary }
                // At least a poll's interval: an entry whose time has just come is claimable on the next look.
                let wait = Duration.milliseconds(max(50, next.millisecondsSinceEpoch - now().millisecondsSinceEpoch))
                guard wait <= configuration.longestWait, !pastDeadline(after: wait) else {
                    summary.leftPending = backlog.waiting
                    return summary
                }
                // Another worker may settle what it holds long before its lease ends: look again every few seconds.
                do { try await Task.sleep(for: min(wait, Self.longestSleep)) } catch {
                    throw OutboxRelayError(.cancelled, reference: nil, "cancelled while waiting for a retry")
                }
                continue
            }
            if try await !send(claimed, pastDeadline: { pastDeadline() }, &summary) {
                summary.leftPending = try await backlog().waiting
                logger.warning("the run's deadline passed; the rest of the outbox is left for the next push",
                               metadata: ["leftPending": "\(summary.leftPending)"])
                return summary
            }
        }
    }

    /// Sends a claimed batch, renewing its leases before an entry when less than the longest an entry
    /// can take is left; false if the deadline passed first. Whatever it stops on, the entries it did
    /// not get to are let go for other workers.
    private func send(_ claimed: [OutboxEntry], pastDeadline: () -> Bool, _ summary: inout Summary) async throws(OutboxRelayError) -> Bool {
        // One store call for the batch's records rather than one per entry: each call is a thread hand-off.
        let subjects: [Int64: OutboxSubject]
        do { subjects = try await store.subjects(of: claimed) } catch {
            await release(claimed[...])
            throw OutboxRelayError(.storeFailed, reference: nil, "cannot read the outbox's records: \(error)")
        }
        var held = Set(claimed.map(\.id))
        var renewAt = ContinuousClock.now + configuration.lease - configuration.longestEntry
        for (index, entry) in claimed.enumerated() {
            if pastDeadline() {
                await release(claimed[index...])
                return false
            }
            if ContinuousClock.now >= renewAt {
                do { held = try await store.renewOutboxLeases(Array(claimed[index...]), until: leaseEnd()) } catch {
                    await release(claimed[index...])
                    throw OutboxRelayError(.storeFailed, reference: nil, "cannot renew the outbox leases: \(error)")
                }
                renewAt = ContinuousClock.now + configuration.lease - configuration.longestEntry
            }
            guard held.contains(entry.id) else {
                tookOver(entry, &summary)
                continue
            }
            do { try await process(entry, subject: subjects[entry.id], &summary) } catch {
                await release(claimed[(index + 1)...])
                throw error
            }
        }
        return true
    }

    private func leaseEnd() -> Timestamp { now().adding(milliseconds: Self.milliseconds(configuration.lease)) }

    /// The longest the relay sleeps before it looks at the outbox again.
    static let longestSleep = Duration.seconds(5)

    private func backlog() async throws(OutboxRelayError) -> OutboxBacklog {
        do { return try await store.outboxBacklog() } catch {
            throw OutboxRelayError(.storeFailed, reference: nil, "cannot read the outbox: \(error)")
        }
    }

    /// Lets go of entries this relay will not get to, so another worker need not wait for the lease to expire.
    private func release(_ entries: ArraySlice<OutboxEntry>) async {
        guard !entries.isEmpty else { return }
        do { try await store.releaseOutboxLeases(Array(entries)) } catch {
            logger.warning("cannot let go of outbox entries; other workers take them when the lease expires", metadata: ["error": "\(error)"])
        }
    }

    private func tookOver(_ entry: OutboxEntry, _ summary: inout Summary) {
        summary.takenOver += 1
        logger.warning("the entry was taken over (by another worker after this one's lease expired, or a person's retry or skip); its outcome is not this worker's to record",
                       metadata: ["reference": "\(entry.clientReference)", "worker": "\(configuration.worker.name)"])
    }

    /// Puts the entry back to wait; if another worker holds it now, it is theirs and nothing is recorded.
    /// The run stops either way: refused credentials or an open circuit stop every worker.
    private func retryUnlessTakenOver(_ entry: OutboxEntry, _ error: SOAPCallError) async throws {
        do {
            try await store.recordRetry(entry, error: error.description, nextAttemptAt: now(), at: now())
        } catch let lost as StoreError where lost.code == .leaseLost {
            logger.warning("\(lost)")
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    private func process(_ entry: OutboxEntry, subject: OutboxSubject?, _ summary: inout Summary) async throws(OutboxRelayError) {
        do {
            switch subject {
            case let .writeOff(request)?: try await processWriteOff(entry, request, &summary)
            case let .statusChange(change)?: try await processStatusChange(entry, change, &summary)
            case let .note(note)?: try await processNote(entry, note, &summary)
            case let .contactChange(change)?: try await processContactChange(entry, change, &summary)
            case let .creditNote(credit)?: try await processCreditNote(entry, credit, &summary)
            case let .writeOffReversal(reversal)?: try await processReversal(entry, reversal, &summary)
            case let .letter(letter)?: try await processLetter(entry, letter, &summary)
            case let .arrangement(arrangement, nil)?: try await processArrangement(entry, arrangement, &summary)
            case let .arrangement(arrangement, reason?)?: try await processCancellation(entry, arrangement, reason: reason, &summary)
            case let .paymentAllocation(allocation, payerName)?: try await processAllocation(entry, allocation, payerName: payerName, &summary)
            case let .allocationReversal(allocation, reason)?: try await processAllocationReversal(entry, allocation, reason: reason, &summary)
            case nil: try await deadLetter(entry, "\(entry.kind.recordName) \(entry.subjectId) no longer exists", &summary)
            }
        } catch let error as SOAPCallError {
            try await handle(error, entry: entry, &summary)
        } catch let error as OutboxRelayError {
            throw error
        } catch let error as StoreError where error.code == .leaseLost {
            tookOver(entry, &summary)
        } catch {
            throw OutboxRelayError(.storeFailed, reference: entry.clientReference, "outbox entry \(entry.id) (\(entry.clientReference)): \(error)")
        }
    }

    private func processWriteOff(_ entry: OutboxEntry, _ request: WriteOffRequest, _ summary: inout Summary) async throws {
        // Sent before (crashed while sending, or the answer was lost): ask MILES before sending again.
        if entry.state == .sending || entry.attempts > 0 {
            if let posted = try await gateway.findWriteOffs(clientReference: entry.clientReference).first {
                try await store.recordWriteOffPosted(entry, posted: posted, at: now())
                summary.reconciled += 1
                logger.info("write-off found in MILES on reconciliation", metadata: ["reference": "\(entry.clientReference)"])
                return
            }
        }
        guard let reasonCode = gateway.mappings.statusCodes.milesCode(for: request.reason) else {
            try await deadLetter(entry, "reason \(request.reason.rawValue) has no MILES code in status-codes.yaml", &summary)
            return
        }
        try await store.markSending(entry, at: now())
        guard let posted = try await gateway.postWriteOff(request, reasonCode: reasonCode) else {
            throw incompleteAnswer("PostWriteOff", without: "a write-off")
        }
        try await store.recordWriteOffPosted(entry, posted: posted, at: now())
        summary.posted += 1
    }

    /// Like a write-off: a credit note sent before is first looked for in MILES (FindCreditNotes).
    private func processCreditNote(_ entry: OutboxEntry, _ credit: CreditNoteRequest, _ summary: inout Summary) async throws {
        if entry.state == .sending || entry.attempts > 0,
           let raised = try await gateway.findCreditNotes(clientReference: entry.clientReference).first {
            try await reconciled(entry, raised, &summary)
            return
        }
        try await store.markSending(entry, at: now())
        guard let raised = try await gateway.raiseCreditNote(credit) else { throw incompleteAnswer("RaiseCreditNote", without: "a credit note") }
        try await store.recordCreditPosted(entry, posted: raised, at: now())
        summary.creditNotesRaised += 1
    }

    /// A reversal sent before is first looked for among its write-off's reversals (FindWriteOffs).
    private func processReversal(_ entry: OutboxEntry, _ reversal: WriteOffReversal, _ summary: inout Summary) async throws {
        if entry.state == .sending || entry.attempts > 0,
           let made = try await gateway.findWriteOffReversals(writeOffReference: reversal.writeOffReference)
            .first(where: { $0.clientReference == entry.clientReference }) {
            try await reconciled(entry, made, &summary)
            return
        }
        try await store.markSending(entry, at: now())
        guard let made = try await gateway.reverseWriteOff(reversal) else { throw incompleteAnswer("ReverseWriteOff", without: "a reversal") }
        try await store.recordCreditPosted(entry, posted: made, at: now())
        summary.writeOffsReversed += 1
    }

    private func reconciled(_ entry: OutboxEntry, _ posted: PostedCredit, _ summary: inout Summary) async throws {
        try await store.recordCreditPosted(entry, posted: posted, at: now())
        summary.reconciled += 1
        logger.info("\(entry.kind.recordName) found in MILES on reconciliation", metadata: ["reference": "\(entry.clientReference)"])
    }

    /// CreatePaymentArrangement is idempotent on its client reference in MILES: a repeat answers with
    /// the arrangement already created.
    private func processArrangement(_ entry: OutboxEntry, _ arrangement: ArrangementProposal, _ summary: inout Summary) async throws {
        guard let frequency = gateway.mappings.statusCodes.milesCode(for: arrangement.plan.frequency) else {
            try await deadLetter(entry, "frequency \(arrangement.plan.frequency.rawValue) has no MILES code in status-codes.yaml "
                                 + "arrangementFrequencies", &summary)
            return
        }
        try await store.markSending(entry, at: now())
        guard let created = try await gateway.createPaymentArrangement(arrangement, frequencyCode: frequency) else {
            throw incompleteAnswer("CreatePaymentArrangement", without: "an arrangement id and what was paid to date")
        }
        try await store.recordArrangementCreated(entry, created: created, at: now())
        summary.arrangementsCreated += 1
    }

    /// AllocatePayment is idempotent on its client reference in MILES (derived from the bank entry, so the
    /// same on every attempt and every re-import): a repeat after a lost answer or a crash answers with the
    /// allocation already made and allocates nothing, so no look-up comes first.
    private func processAllocation(_ entry: OutboxEntry, _ allocation: PaymentAllocation, payerName: String?, _ summary: inout Summary) async throws {
        try await store.markSending(entry, at: now())
        guard let allocationId = try await gateway.allocatePayment(allocation, payerName: payerName) else {
            throw incompleteAnswer("AllocatePayment", without: "the allocation of \(allocation.clientReference)")
        }
        try await store.recordAllocationPosted(entry, milesAllocationId: allocationId, at: now())
        summary.allocationsPosted += 1
    }

    /// ReverseAllocation is idempotent in MILES too: reversing an allocation again answers the same.
    /// The bank's return reason goes with it, so MILES's ledger says why the money went back.
    private func processAllocationReversal(_ entry: OutboxEntry, _ allocation: PaymentAllocation, reason: String?,
                                           _ summary: inout Summary) async throws {
        try await store.markSending(entry, at: now())
        guard try await gateway.reverseAllocation(allocation, reason: reason) else {
            throw incompleteAnswer("ReverseAllocation", without: "the reversal of \(allocation.clientReference)")
        }
        try await store.recordAllocationReversed(entry, at: now())
        summary.allocationsReversed += 1
    }

    /// Cancelling an arrangement twice answers the same in MILES: a repeat is safe.
    private func processCancellation(_ entry: OutboxEntry, _ arrangement: ArrangementProposal, reason: String,
                                     _ summary: inout Summary) async throws {
        try await store.markSending(entry, at: now())
        guard try await gateway.cancelPaymentArrangement(arrangement, reason: reason) != nil else {
            throw incompleteAnswer("CancelPaymentArrangement", without: "a status")
        }
        try await store.recordArrangementCancelled(entry, at: now())
        summary.arrangementsCancelled += 1
    }

    /// RequestCustomerLetter is idempotent on its client reference in MILES: a repeat after a lost
    /// answer or a crash returns the letter already issued, and issues nothing.
    private func processLetter(_ entry: OutboxEntry, _ letter: LetterRequest, _ summary: inout Summary) async throws {
        guard let code = gateway.mappings.statusCodes.milesCode(for: letter.type) else {
            try await deadLetter(entry, "letter \(letter.type.rawValue) has no MILES code in status-codes.yaml letterTypes", &summary)
            return
        }
        // Not sent before: the letter's rules are judged again on what the store holds now (breathing
        // space may have begun, the arrears been paid, since it was asked for).
        if entry.state == .pending, entry.attempts == 0, let contract = try await store.contract(number: letter.contractNumber) {
            let refusals = letter.type.refusals(for: contract, holds: try await store.holds(contractNumber: letter.contractNumber),
                                                backing: try await store.letterBacking(contractNumber: letter.contractNumber), on: now().date)
            guard refusals.isEmpty else {
                try await deadLetter(entry, "no longer sent: " + refusals.joined(separator: "; "), &summary)
                return
            }
        }
        try await store.markSending(entry, at: now())
        guard let issued = try await gateway.requestCustomerLetter(letter, letterTypeCode: code) else {
            throw incompleteAnswer("RequestCustomerLetter", without: "a letter id and serve date")
        }
        try await store.recordLetterIssued(entry, letter: issued, at: now())
        summary.lettersIssued += 1
    }

    /// AddContractNote is idempotent on its client reference in MILES: a repeat is safe.
    private func processNote(_ entry: OutboxEntry, _ note: ContractNote, _ summary: inout Summary) async throws {
        try await store.markSending(entry, at: now())
        guard let noteId = try await gateway.addContractNote(note) else {
            throw incompleteAnswer("AddContractNote", without: "a note id")
        }
        try await store.recordNoteAdded(entry, milesNoteId: noteId, at: now())
        summary.notesAdded += 1
    }

    /// UpdateContractStatus is idempotent on its client reference in MILES, so a repeat after a lost
    /// answer is safe. Before its first sending the change is judged again on what the store holds now,
    /// and on VERSION_CONFLICT on the contract re-read from MILES: sent (again, on the new version), or
    /// dead-lettered if no longer allowed.
    private func processStatusChange(_ entry: OutboxEntry, _ change: StatusChange, _ summary: inout Summary) async throws {
        guard let statusCode = gateway.mappings.statusCodes.milesCode(for: change.to) else {
            try await deadLetter(entry, "status \(change.to.rawValue) has no MILES code in status-codes.yaml", &summary)
            return
        }
        // A hold set since the change was queued (a dispute, breathing space) must stop a repossession or a
        // placement still waiting here: holds live in this store, so MILES's version says nothing of them. A
        // placement file already made is another matter: the agent has the account, the hold paused it, and
        // MILES is told where the account is. So is a change the store already shows made: MILES applied it
        // (an answer lost, then a retry), and sending it again only settles it.
        if entry.state == .pending, entry.attempts == 0, try await !placementFileMade(for: change),
           let contract = try await store.contract(number: change.contractNumber),
           gateway.mappings.statusCodes.internalStatus(forMilesCode: contract.statusCode) != change.to {
            let refusals = try await StatusChangeRules.refusals(
                moving: contract, to: change.to, evidence: change.evidence,
                overridden: Set(change.overrides.map(\.rule)), store: store, mappings: gateway.mappings, on: now().date)
            guard refusals.isEmpty else {
                try await deadLetter(entry, "no longer sent: " + refusals.map(\.description).joined(separator: "; "), &summary)
                return
            }
        }
        try await store.markSending(entry, at: now())
        do {
            let version = try await gateway.updateContractStatus(change, statusCode: statusCode)
            try await store.recordStatusApplied(entry, milesVersion: version ?? change.expectedVersion + 1, at: now())
            summary.statusChangesApplied += 1
        } catch let error as SOAPCallError where error.disposition == .conflict && entry.attempts + 1 < configuration.retry.maxAttempts {
            guard let fresh = try await freshContract(change.contractNumber, after: entry, &summary) else { return }
            let refusals = try await StatusChangeRules.refusals(
                moving: fresh, to: change.to, evidence: change.evidence,
                overridden: Set(change.overrides.map(\.rule)), store: store, mappings: gateway.mappings, on: now().date)
            if refusals.isEmpty {
                try await store.recordVersionConflictRetry(entry, version: fresh.version,
                                                           error: "version conflict: re-checked and re-sending on version \(fresh.version)",
                                                           nextAttemptAt: now(), at: now())
                summary.conflictsResolved += 1
            } else {
                try await deadLetter(entry, "MILES changed the contract (now version \(fresh.version)) and the change is no longer allowed: "
                                   + refusals.map(\.description).joined(separator: "; "), &summary)
            }
        }
    }

    /// Whether the change reports a placement whose file the agent already has.
    private func placementFileMade(for change: StatusChange) async throws -> Bool {
        guard change.to == .placedWithAgent else { return false }
        return try await store.activePlacement(contractNumber: change.contractNumber) != nil
    }

    /// UpdateContactDetails is idempotent on its client reference. On VERSION_CONFLICT (someone changed
    /// the customer in MILES) the partner version is re-read and the change sent again on it: an agent's
    /// trace result is news whatever else changed.
    private func processContactChange(_ entry: OutboxEntry, _ change: ContactChange, _ summary: inout Summary) async throws {
        try await store.markSending(entry, at: now())
        do {
            guard let version = try await gateway.updateContactDetails(change) else {
                throw incompleteAnswer("UpdateContactDetails", without: "a partner version")
            }
            try await store.recordContactChangeApplied(entry, milesVersion: version, at: now())
            summary.contactChangesApplied += 1
        } catch let error as SOAPCallError where error.disposition == .conflict && entry.attempts + 1 < configuration.retry.maxAttempts {
            guard let fresh = try await freshContract(change.contractNumber, after: entry, &summary) else { return }
            try await store.recordVersionConflictRetry(entry, version: fresh.customer.version,
                                                       error: "partner version conflict: re-sending on version \(fresh.customer.version)",
                                                       nextAttemptAt: now(), at: now())
            summary.conflictsResolved += 1
        }
    }

    /// MILES answered without what the call exists for: as unsure as a lost answer.
    private func incompleteAnswer(_ operation: String, without what: String) -> SOAPCallError {
        SOAPCallError(kind: .invalidResponse(.rejected("\(operation) answered without \(what)")), operation: operation,
                      endpoint: gateway.endpoint, classifier: gateway.mappings.contract.faultClassifier)
    }

    /// After a version conflict: the contract as MILES holds it now, stored; nil, with the entry
    /// dead-lettered, if MILES no longer has it.
    private func freshContract(_ number: String, after entry: OutboxEntry, _ summary: inout Summary) async throws -> Contract? {
        guard let fresh = try await gateway.getContract(number: number) else {
            try await deadLetter(entry, "after a version conflict MILES no longer has \(number)", &summary)
            return nil
        }
        try await store.upsertContract(fresh)
        return fresh
    }

    /// Looks the entry's write-off, credit note or reversal up in MILES once more before it is given
    /// up on; true when MILES has it (and it is recorded). A failed look leaves it to be dead-lettered.
    private func settledOnLastLook(_ entry: OutboxEntry, _ summary: inout Summary) async throws -> Bool {
        do {
            switch (entry.kind, try await store.subjects(of: [entry])[entry.id]) {
            case (.postWriteOff, _):
                guard let posted = try await gateway.findWriteOffs(clientReference: entry.clientReference).first else { return false }
                try await store.recordWriteOffPosted(entry, posted: posted, at: now())
            case (.raiseCreditNote, _):
                guard let raised = try await gateway.findCreditNotes(clientReference: entry.clientReference).first else { return false }
                try await store.recordCreditPosted(entry, posted: raised, at: now())
            case let (.reverseWriteOff, .writeOffReversal(reversal)?):
                guard let made = try await gateway.findWriteOffReversals(writeOffReference: reversal.writeOffReference)
                    .first(where: { $0.clientReference == entry.clientReference }) else { return false }
                try await store.recordCreditPosted(entry, posted: made, at: now())
            default:
                return false
            }
        } catch let error as SOAPCallError {
            logger.warning("the last look in MILES failed; the entry is dead-lettered: check MILES before raising it again",
                           metadata: ["reference": "\(entry.clientReference)", "error": "\(error)"])
            return false
        }
        summary.reconciled += 1
        return true
    }

    private func deadLetter(_ entry: OutboxEntry, _ reason: String, cause: DeadLetterCause = .givenUp, _ summary: inout Summary) async throws {
        try await store.recordDeadLetter(entry, reason: reason, cause: cause, at: now())
        summary.deadLettered += 1
    }

    private func handle(_ error: SOAPCallError, entry: OutboxEntry, _ summary: inout Summary) async throws(OutboxRelayError) {
        let attempts = entry.attempts + 1
        do {
            switch error.disposition {
            case .authentication:
                try await retryUnlessTakenOver(entry, error)
                throw OutboxRelayError(.authenticationFailed, reference: entry.clientReference,
                                       "MILES refused the adapter's credentials; the outbox is left as it was: \(error)")
            case .unavailable:
                // Not sent: the entry goes back to waiting, with no attempt counted against it.
                try await retryUnlessTakenOver(entry, error)
                throw OutboxRelayError(.milesUnavailable, reference: entry.clientReference,
                                       "MILES keeps failing, so the push stopped calling it; every entry is kept and the next push resumes: \(error)")
            case .businessRejection:
                let code = error.faultCode.map { "MILES \($0): " } ?? ""
                // Only a fault is MILES's own answer (it answers a repeated write with its first result, so a
                // fault says it holds none); an HTTP 4xx may come from a proxy and an invalid request never
                // left, so after an attempt whose answer was lost MILES may still hold the write.
                let refusedByMiles: Bool
                if case .fault = error.kind { refusedByMiles = true } else { refusedByMiles = false }
                try await deadLetter(entry, code + error.description, cause: refusedByMiles ? .refusedByMiles : .givenUp, &summary)
            case .retryable, .conflict, .unknownOutcome:
                if attempts >= configuration.retry.maxAttempts {
                    // A money posting whose outcome is unknown is looked for once more: marked failed while MILES
                    // made it, it could be raised again under a new reference and made twice.
                    if error.disposition == .unknownOutcome, try await settledOnLastLook(entry, &summary) { return }
                    try await deadLetter(entry, "gave up after \(attempts) attempts: \(error)", &summary)
                } else {
                    let delay = configuration.retry.delay(beforeAttempt: attempts + 1, retryAfter: error.retryAfter)
                    let next = now().adding(milliseconds: Self.milliseconds(delay))
                    try await store.recordRetry(entry, error: error.description, nextAttemptAt: next, at: now())
                    summary.retriesScheduled += 1
                    logger.warning("push failed; retry scheduled", metadata: [
                        "reference": "\(entry.clientReference)", "attempt": "\(attempts)", "error": "\(error)"])
                }
            }
        } catch let relayError as OutboxRelayError {
            throw relayError
        } catch let error as StoreError where error.code == .leaseLost {
            tookOver(entry, &summary)
        } catch {
            throw OutboxRelayError(.storeFailed, reference: entry.clientReference, "cannot record the outcome of outbox entry \(entry.id): \(error)")
        }
    }
}

/// The relay stopped; every entry keeps the state it had. Callers match on `code`; `reference` is
/// the client reference of the entry it stopped on, when it stopped on one.
public struct OutboxRelayError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CustomStringConvertible {
        /// MILES refused the credentials: retrying cannot help until they are fixed.
        case authenticationFailed
        /// MILES kept failing and the circuit breaker opened.
        case milesUnavailable
        /// The store could not be read or written.
        case storeFailed
        case cancelled

        public var description: String { rawValue }
    }

    public let code: Code
    public let reference: String?
    public let description: String

    public init(_ code: Code, reference: String?, _ description: String) {
        self.code = code
        self.reference = reference
        self.description = description
    }

    /// MILES refused the credentials: retrying cannot help until they are fixed.
    public var isAuthenticationFailure: Bool { code == .authenticationFailed }
}
