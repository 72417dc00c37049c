import CollectionsDomain
import CollectionsStore
import TestSupport
import Testing

@Suite("Bank statements, their entries and payment allocations, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct BankStoreTests {
    let start = Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)
    let today = LocalDate(daysSinceEpoch: 20_400)
    let account = "GB33BUKB20201555555555"
    let payer = "GB29NWBK60161331926819"

    func at(_ seconds: Int64) -> Timestamp { start.adding(seconds: seconds) }

    func gbp(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: .gbp) }

    func balance(_ minorUnits: Int64, on date: LocalDate) -> BankBalance { BankBalance(amount: gbp(minorUnits), mark: .credit, date: date) }

    /// Statement `index` of the file hashed `sha256`, for positions `first ..< first + entries`.
    func statement(_ sha256: String, index: Int = 0, first: Int = 1, entries: Int = 10, closing: Int64 = 150_000, on date: LocalDate? = nil,
                   continuity: StatementContinuity = .first) -> NewBankStatement {
        let day = date ?? today
        return NewBankStatement(
            header: BankStatementHeader(format: .camt053, account: account, currency: .gbp, statementId: "STMT-\(sha256)-\(index)",
                                        sequenceNumber: "\(index + 1)", opening: balance(100_000, on: day.adding(days: -1))),
            closing: balance(closing, on: day), entryCount: entries, firstPosition: first, fileSha256: sha256, indexInFile: index,
            fileName: "\(sha256).xml", storedPath: "/bank/\(sha256)", continuity: continuity)
    }

    /// A payment in (or, with `mark`, money out) at `position`, booked today unless told.
    func entry(_ position: Int, _ minorUnits: Int64, reference: String?, mark: CreditDebit = .credit, reversal: Bool = false,
               booked: LocalDate? = nil, currency: CurrencyCode = .gbp, endToEndId: String? = nil, remittance: String = "C-1 June",
               payer: String? = nil) -> BankEntry {
        BankEntry(position: position, bankReference: reference, bookingDate: booked ?? today, valueDate: booked ?? today,
                  amount: Money(minorUnits: minorUnits, currency: currency), mark: mark, isReversal: reversal,
                  returnReason: reversal ? "AC04" : nil, remittance: remittance, counterpartyName: "Ada Lovelace", counterpartyAccount: payer ?? self.payer,
                  endToEndId: endToEndId, instructedAmount: currency == .gbp ? nil : Money(minorUnits: minorUnits + 7, currency: .gbp))
    }

    func outcome(_ entry: BankEntry, _ decision: BankEntryDecision, statementKey: String = "STMT") -> BankEntryOutcome {
        BankEntryOutcome(entry: entry, identity: entry.identity(account: account, statementKey: statementKey), decision: decision)
    }

    /// The rules' allocation of `minorUnits` to `contract`'s first invoice, the rest in suspense.
    func allocate(_ minorUnits: Int64, to contract: String = "C-1", suspense: Int64 = 0, transit: Int64? = nil) -> BankEntryDecision {
        .allocate(contractNumber: contract, lines: [AllocationLine(invoiceNumber: "INV-\(contract)-0", amount: gbp(minorUnits))],
                  suspense: gbp(suspense), confidence: 95, reason: "contract number in the remittance", paymentInTransit: transit)
    }

    /// The pending or sent entry carrying `kind` for `subject`.
    func outboxEntry(_ kind: OutboxKind, subject: Int64, in store: any OutboxStore) async throws -> OutboxEntry? {
        try await store.outboxEntries(state: nil).first { $0.kind == kind && $0.subjectId == subject }
    }

    /// The id of the entry stored with `identity`'s reference, through the queue it waits in or the allocation it made.
    func storedId(_ outcome: BankEntryOutcome, in store: any BankStore & OutboxStore) async throws -> Int64 {
        for state in BankEntryState.allCases {
            if let found = try await store.bankEntries(state: state, limit: 1_000).first(where: { $0.identity == outcome.identity }) {
                return found.id
            }
        }
        throw StoreError(.notFound, input: outcome.identity, "no bank entry \(outcome.identity)")
    }

    @Test("a statement is stored once by (file hash, index): the same one again is found with its cursor; the last closing balance per account",
          arguments: StoreKind.available)
    func statements(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            #expect(try await store.lastClosingBalance(account: account) == nil)
            let first = try await store.receiveBankStatement(statement("aa11", entries: 3), at: at(0))
            #expect(first.isNew)
            #expect(first.statement.statement == statement("aa11", entries: 3))
            #expect(first.statement.positionsDone == 0)
            #expect(first.statement.state == .importing)
            #expect(first.statement.receivedAt == at(0))

            let gap = BankBalance(amount: gbp(99_000), mark: .debit, date: today)
            let second = try await store.receiveBankStatement(
                statement("aa11", index: 1, first: 4, entries: 2, closing: 170_000, on: today.adding(days: 1), continuity: .gap(lastClosing: gap)),
                at: at(1))
            #expect(second.isNew)
            #expect(second.statement.statement.continuity == .gap(lastClosing: gap))
            #expect(second.statement.positionsDone == 3)

            _ = try await store.applyBankBatch(statementId: first.statement.id, throughPosition: 2, outcomes: [
                outcome(entry(1, 1_000, reference: "R1"), .noAction(reason: "test")),
                outcome(entry(2, 2_000, reference: "R2"), .noAction(reason: "test")),
            ], by: "auto", at: at(2))
            // The same file again, even from a second store on the same data: the statements stored, with how far they came.
            let again = try await subject.reopen().receiveBankStatement(statement("aa11", entries: 3), at: at(3))
            #expect(!again.isNew)
            #expect(again.statement.id == first.statement.id)
            #expect(again.statement.positionsDone == 2)
            #expect(try await store.bankStatement(id: first.statement.id)?.positionsDone == 2)
            #expect(try await store.bankStatement(id: 999) == nil)

            #expect(try await store.lastClosingBalance(account: account) == balance(170_000, on: today.adding(days: 1)))
            #expect(try await store.lastClosingBalance(account: "GB00OTHER") == nil)
            #expect(try await store.bankStatements(account: account, limit: 10).map(\.id) == [second.statement.id, first.statement.id])
            #expect(try await store.bankStatements(account: "GB00OTHER", limit: 10).isEmpty)
            #expect(try await store.bankStatements(account: nil, limit: 1).map(\.id) == [second.statement.id])

            try await store.finishBankStatement(id: first.statement.id, at: at(4))
            #expect(try await store.bankStatement(id: first.statement.id)?.state == .imported)
            #expect(await storeRefusal { try await store.finishBankStatement(id: first.statement.id, at: at(5)) } == .wrongState)
            #expect(await storeRefusal {
                try await store.applyBankBatch(statementId: first.statement.id, throughPosition: 3, outcomes: [], by: "auto", at: at(5))
            } == .wrongState)
            let actions = try await store.auditEntries().map(\.action)
            #expect(actions.filter { $0 == "bank.statement-received" }.count == 2)
            #expect(actions.contains("bank.statement-duplicate"))
            #expect(actions.contains("bank.statement-imported"))
        }
    }

    @Test("a bank's reference with quotes, backslashes, a tab or accents is found stored again, as written",
          arguments: StoreKind.available)
    func referencesAsWritten(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let stored = try await store.receiveBankStatement(statement("ee55", entries: 4), at: at(0)).statement
            let outcomes = ["R\"1\"", "R\\2", "R\t3", "Réf-4 ✓"].enumerated().map { index, reference in
                outcome(entry(index + 1, 1_000, reference: reference), .suspense(reason: "nothing open"))
            }
            _ = try await store.applyBankBatch(statementId: stored.id, throughPosition: 4, outcomes: outcomes, by: "auto", at: at(1))
            let identities = outcomes.map(\.identity)
            // The same references escaped, or cut at the quote, are other entries.
            let others = [outcome(entry(1, 1_000, reference: "R\\\"1\\\""), .noAction(reason: "")).identity,
                          outcome(entry(1, 1_000, reference: "R"), .noAction(reason: "")).identity,
                          outcome(entry(2, 1_000, reference: "R\\\\2"), .noAction(reason: "")).identity]
            #expect(Set(others).isDisjoint(with: identities))
            #expect(try await store.storedBankEntryIdentities(identities + others) == Set(identities))
        }
    }

    @Test("a batch stores each entry with its decision, an allocation with its outbox entry, moves the cursor, audits; a stored identity is skipped",
          arguments: StoreKind.available)
    func batches(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            let stored = try await store.receiveBankStatement(statement("bb22", entries: 5), at: at(0)).statement
            let candidates = [BankMatchCandidate(contractNumber: "C-1", confidence: 60, reasons: ["payer's account known", "amount equals an invoice"]),
                              BankMatchCandidate(contractNumber: "C-2", confidence: 40, reasons: [])]
            let outcomes = [
                outcome(entry(1, 12_500, reference: "R1"), allocate(12_000, suspense: 500)),
                outcome(entry(2, 8_000, reference: nil), .toCheck(reason: "two contracts match", candidates: candidates), statementKey: "STMT-bb22"),
                outcome(entry(3, 3_000, reference: "R3", currency: .eur), .suspense(reason: "nothing open")),
                outcome(entry(4, 700, reference: "R4", mark: .debit), .noAction(reason: "money out")),
            ]
            let result = try await store.applyBankBatch(statementId: stored.id, throughPosition: 4, outcomes: outcomes, by: "auto", at: at(1))
            #expect(result.stored == 4 && result.alreadyStored == 0)
            #expect(try await store.bankStatement(id: stored.id)?.positionsDone == 4)

            let allocatedId = try await storedId(outcomes[0], in: store)
            #expect(result.entryIds.count == 4 && result.entryIds.allSatisfy { $0 != nil })
            #expect(result.entryIds[0] == allocatedId)
            let allocated = try #require(try await store.bankEntry(id: allocatedId))
            let allocation = PaymentAllocation(
                id: allocatedId, contractNumber: "C-1", lines: [AllocationLine(invoiceNumber: "INV-C-1-0", amount: gbp(12_000))], suspense: gbp(500),
                valueDate: today, account: account, bankReference: "R1", allocatedBy: "auto", reason: "contract number in the remittance",
                confidence: 95, state: .pending, milesAllocationId: nil)
            #expect(allocated == StoredBankEntry(id: allocatedId, statementId: stored.id, account: account, identity: outcomes[0].identity,
                                                 entry: outcomes[0].entry, state: .allocated, reason: nil, candidates: [], allocation: allocation,
                                                 reversesEntryId: nil))
            let waiting = try #require(try await store.bankEntries(state: .toCheck, limit: 10).first)
            #expect(waiting.entry == outcomes[1].entry)
            #expect(waiting.reason == "two contracts match")
            #expect(waiting.candidates == candidates)
            #expect(waiting.allocation == nil)
            let inSuspense = try #require(try await store.bankEntries(state: .suspense, limit: 10).first)
            #expect(inSuspense.entry == outcomes[2].entry)
            #expect(try await store.bankEntries(state: .noAction, limit: 10).map(\.reason) == ["money out"])
            #expect(try await store.bankSuspense(limit: 10).map(\.id) == [allocatedId, inSuspense.id])

            let queued = try #require(try await outboxEntry(.allocatePayment, subject: allocatedId, in: store))
            #expect(queued.state == .pending)
            #expect(queued.clientReference == allocation.clientReference)
            guard case let .paymentAllocation(carried, payerName)? = try await store.subjects(of: [queued])[queued.id] else {
                Issue.record("the outbox entry carries no payment allocation")
                return
            }
            #expect(carried == allocation)
            #expect(payerName == "Ada Lovelace")
            #expect(try await store.outboxEntries(state: nil).count == 1)
            let audit = try #require(try await store.auditEntries().last)
            #expect(audit.action == "bank.batch")
            #expect(audit.actor == "auto")
            #expect(audit.subject == "bank-statement:\(stored.id)")
            #expect(audit.details.contains("1 allocated, 1 to check, 1 in suspense, 0 reversals, 1 no action; 0 already stored"))

            // The same entries in the next batch (a restart that re-sent them) and in another statement: stored once.
            #expect(try await store.storedBankEntryIdentities(outcomes.map(\.identity) + ["unknown"]) == Set(outcomes.map(\.identity)))
            let overlapping = try await store.receiveBankStatement(statement("cc33", entries: 2), at: at(2)).statement
            let overlap = [
                outcome(entry(1, 12_500, reference: "R1"), allocate(12_000, suspense: 500)),
                outcome(entry(2, 4_000, reference: "R5"), .suspense(reason: "nothing open")),
            ]
            let repeated = try await store.applyBankBatch(statementId: overlapping.id, throughPosition: 2, outcomes: overlap, by: "auto", at: at(3))
            #expect(repeated.stored == 1 && repeated.alreadyStored == 1)
            #expect(repeated.entryIds.count == 2 && repeated.entryIds[0] == nil && repeated.entryIds[1] != nil)
            #expect(try await store.outboxEntries(state: nil).count == 1)
            #expect(try await store.bankEntry(id: allocatedId)?.statementId == stored.id)
            // Positions the statement's cursor has passed are not stored again.
            let resumed = try await store.applyBankBatch(statementId: stored.id, throughPosition: 5, outcomes: [
                outcome(entry(4, 700, reference: "R4-again", mark: .debit), .noAction(reason: "money out")),
                outcome(entry(5, 900, reference: "R6"), .suspense(reason: "nothing open")),
            ], by: "auto", at: at(4))
            #expect(resumed.stored == 1 && resumed.alreadyStored == 0 && resumed.entryIds.count == 2 && resumed.entryIds[0] == nil)
        }
    }

    @Test("a return undoes its payment's allocation: one MILES has is reversed through the outbox, one never sent is dropped with its entry",
          arguments: StoreKind.available)
    func reversals(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            try await store.upsertContract(sampleContract("C-2"))
            let stored = try await store.receiveBankStatement(statement("dd44", entries: 6), at: at(0)).statement
            let paid = [
                outcome(entry(1, 10_000, reference: "R1", endToEndId: "E2E-1"), allocate(10_000, to: "C-1")),
                outcome(entry(2, 8_000, reference: "R2", remittance: "C-2 June"), allocate(8_000, to: "C-2")),
                outcome(entry(3, 6_000, reference: "R3", remittance: "who?"), .toCheck(reason: "no contract found", candidates: [])),
            ]
            _ = try await store.applyBankBatch(statementId: stored.id, throughPosition: 3, outcomes: paid, by: "auto", at: at(1))
            let sentId = try await storedId(paid[0], in: store)
            let unsentId = try await storedId(paid[1], in: store)
            let waitingId = try await storedId(paid[2], in: store)
            let sending = try await claimSending(.allocatePayment, subject: sentId, in: store, at: at(2))
            try await store.recordAllocationPosted(sending, milesAllocationId: "MPA-1", at: at(3))
            #expect(try await store.bankEntry(id: sentId)?.allocation?.state == .allocated)
            #expect(try await store.bankEntry(id: sentId)?.allocation?.milesAllocationId == "MPA-1")

            // The returns, found as the desk would find them: by end-to-end id, by bank reference, by payer and remittance.
            let returnSent = entry(4, 10_000, reference: "RV1", reversal: true, endToEndId: "E2E-1")
            let returnUnsent = entry(5, 8_000, reference: "R2", reversal: true, booked: today.adding(days: 1))
            let returnWaiting = entry(6, 6_000, reference: nil, reversal: true, remittance: "who?")
            #expect(try await store.bankEntryReversed(by: returnSent, account: account)?.id == sentId)
            #expect(try await store.bankEntryReversed(by: returnUnsent, account: account)?.id == unsentId)
            #expect(try await store.bankEntryReversed(by: returnWaiting, account: account)?.id == waitingId)
            #expect(try await store.bankEntryReversed(by: returnSent, account: "GB00OTHER") == nil)

            let result = try await store.applyBankBatch(statementId: stored.id, throughPosition: 6, outcomes: [
                outcome(returnSent, .reverse(originalEntryId: sentId, reason: "AC04 account closed")),
                outcome(returnUnsent, .reverse(originalEntryId: unsentId, reason: "AC04 account closed")),
                outcome(returnWaiting, .reverse(originalEntryId: waitingId, reason: "AC04 account closed"), statementKey: "STMT-dd44"),
            ], by: "auto", at: at(4))
            #expect(result.stored == 3 && result.alreadyStored == 0)
            let reversalsStored = try await store.bankEntries(state: .reversal, limit: 10)
            // Oldest first: the return of the unsent payment is booked a day later.
            #expect(reversalsStored.map(\.reversesEntryId) == [sentId, waitingId, unsentId])
            #expect(reversalsStored.map(\.reason) == Array(repeating: "AC04 account closed", count: 3))

            // Sent: MILES has it, so ReverseAllocation is queued for the original entry. Until MILES has reversed it,
            // MILES still holds it: the matching still takes it off the open amounts.
            #expect(try await store.bankEntry(id: sentId)?.allocation?.state == .reversing)
            func c1Open() async throws -> [Money]? {
                try await store.bankMatchData(contractNumbers: ["C-1"], invoiceNumbers: [], payerAccounts: []).contracts["C-1"]?.openInvoices.map(\.openAmount)
            }
            #expect(try await c1Open() == [gbp(2_000), gbp(8_000)])
            let reverse = try #require(try await outboxEntry(.reverseAllocation, subject: sentId, in: store))
            #expect(reverse.state == .pending)
            #expect(reverse.clientReference == "PR-\(sentId)")
            guard case let .allocationReversal(carried, returnReason)? = try await store.subjects(of: [reverse])[reverse.id] else {
                Issue.record("the reversal carries no payment allocation")
                return
            }
            #expect(carried.id == sentId)
            // The bank's reason code goes to MILES with the reversal.
            #expect(returnReason == "AC04")
            // Never sent: its AllocatePayment is skipped, MILES is never called.
            #expect(try await store.bankEntry(id: unsentId)?.allocation?.state == .reversed)
            #expect(try await outboxEntry(.allocatePayment, subject: unsentId, in: store)?.state == .skipped)
            #expect(try await outboxEntry(.reverseAllocation, subject: unsentId, in: store) == nil)
            // Never allocated: it leaves the queue.
            #expect(try await store.bankEntry(id: waitingId)?.state == .noAction)
            #expect(try await store.bankEntries(state: .toCheck, limit: 10).isEmpty)
            // Each payment is undone once.
            #expect(try await store.bankEntryReversed(by: returnSent, account: account) == nil)

            let reversing = try await claimSending(.reverseAllocation, subject: sentId, in: store, at: at(5))
            try await store.recordAllocationReversed(reversing, at: at(6))
            #expect(try await store.bankEntry(id: sentId)?.allocation?.state == .reversed)
            #expect(try await c1Open() == [gbp(12_000), gbp(8_000)])
            #expect(try await store.outboxEntry(id: reverse.id)?.state == .sent)
        }
    }

    @Test("a return while its payment's AllocatePayment waits to be tried again: its ReverseAllocation is not sent until MILES has the allocation",
          arguments: StoreKind.available)
    func reversalWaitsForItsAllocation(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            let stored = try await store.receiveBankStatement(statement("ee55", entries: 2), at: at(0)).statement
            let paid = outcome(entry(1, 10_000, reference: "R1", endToEndId: "E2E-1"), allocate(10_000, to: "C-1"))
            _ = try await store.applyBankBatch(statementId: stored.id, throughPosition: 1, outcomes: [paid], by: "auto", at: at(1))
            let paidId = try await storedId(paid, in: store)
            // Tried once and MILES's answer lost: MILES may have the allocation or not. Tried again at 60 s.
            let tried = try await claimSending(.allocatePayment, subject: paidId, in: store, at: at(2))
            try await store.recordRetry(tried, error: "connection reset before an answer", nextAttemptAt: at(60), at: at(3))
            let returned = entry(2, 10_000, reference: "RV1", reversal: true, endToEndId: "E2E-1")
            _ = try await store.applyBankBatch(statementId: stored.id, throughPosition: 2,
                                               outcomes: [outcome(returned, .reverse(originalEntryId: paidId, reason: "AC04 account closed"))],
                                               by: "auto", at: at(4))
            let reverse = try #require(try await outboxEntry(.reverseAllocation, subject: paidId, in: store))
            let (first, second) = (OutboxWorker(name: "w1", host: "h", processId: 1), OutboxWorker(name: "w2", host: "h", processId: 2))
            func claim(_ worker: OutboxWorker, at seconds: Int64) async throws -> [OutboxEntry] {
                try await store.claimOutboxEntries(for: worker, now: at(seconds), leaseUntil: at(seconds + 60), limit: 10, isGone: { _ in false })
            }
            // Before the allocation's retry is due, the reversal waits too: MILES would refuse to undo what it has not seen.
            #expect(try await claim(first, at: 10).isEmpty)
            // So the next claim is due with the allocation, not at the reversal's own time (a relay would look again at once).
            let backlog = try await store.outboxBacklog()
            #expect(backlog.waiting == 2 && backlog.nextClaimAt == at(60))
            // The retry is due: only the allocation goes, and while it is being sent the reversal still waits.
            let due = try await claim(first, at: 60)
            #expect(due.map(\.kind) == [.allocatePayment])
            let allocation = try #require(due.first)
            try await store.markSending(allocation, at: at(60))
            #expect(try await claim(second, at: 61).isEmpty)
            try await store.recordAllocationPosted(allocation, milesAllocationId: "MPA-1", at: at(62))
            // MILES has it: the reversal goes.
            #expect(try await claim(second, at: 63).map(\.id) == [reverse.id])
        }
    }

    @Test("MILES refuses an AllocatePayment whose payment the bank returned meanwhile: the ReverseAllocation waiting for it is set aside (MILES holds nothing to reverse); given up without a refusal, the reversal goes; neither allocation can be retried",
          arguments: StoreKind.available)
    func refusedAllocationTakesItsReversal(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            let stored = try await store.receiveBankStatement(statement("ff66", entries: 4), at: at(0)).statement
            let refused = outcome(entry(1, 10_000, reference: "R1", endToEndId: "E2E-1"), allocate(10_000, to: "C-1"))
            let unknown = outcome(entry(2, 7_000, reference: "R2", endToEndId: "E2E-2"), allocate(7_000, to: "C-1"))
            _ = try await store.applyBankBatch(statementId: stored.id, throughPosition: 2, outcomes: [refused, unknown], by: "auto", at: at(1))
            let (refusedId, unknownId) = (try await storedId(refused, in: store), try await storedId(unknown, in: store))
            // Both tried once with the answer lost, then both payments returned: each reversal waits for its allocation.
            for id in [refusedId, unknownId] {
                let tried = try await claimSending(.allocatePayment, subject: id, in: store, at: at(2))
                try await store.recordRetry(tried, error: "connection reset before an answer", nextAttemptAt: at(10), at: at(3))
            }
            _ = try await store.applyBankBatch(statementId: stored.id, throughPosition: 4, outcomes: [
                outcome(entry(3, 10_000, reference: "RV1", reversal: true, endToEndId: "E2E-1"), .reverse(originalEntryId: refusedId, reason: "AC04")),
                outcome(entry(4, 7_000, reference: "RV2", reversal: true, endToEndId: "E2E-2"), .reverse(originalEntryId: unknownId, reason: "AC04")),
            ], by: "auto", at: at(4))
            let refusedReversal = try #require(try await outboxEntry(.reverseAllocation, subject: refusedId, in: store))
            let unknownReversal = try #require(try await outboxEntry(.reverseAllocation, subject: unknownId, in: store))

            let refusing = try await claimSending(.allocatePayment, subject: refusedId, in: store, at: at(10))
            try await store.recordDeadLetter(refusing, reason: "MILES ALLOCATION_EXCEEDS_OPEN: nothing open", cause: .refusedByMiles, at: at(11))
            let givingUp = try await claimSending(.allocatePayment, subject: unknownId, in: store, at: at(12))
            try await store.recordDeadLetter(givingUp, reason: "gave up after 5 attempts: connection reset", cause: .givenUp, at: at(13))

            // MILES refused it, so it never held it: the reversal is set aside and the allocation is undone.
            let setAside = try #require(try await store.outboxEntry(id: refusedReversal.id))
            #expect(setAside.state == .skipped)
            #expect(setAside.lastError?.contains("MILES refused the allocation it would reverse (\(refusing.clientReference))") == true)
            #expect(try await store.bankEntry(id: refusedId)?.allocation?.state == .reversed)
            // MILES may hold the other from an attempt whose answer was lost: its reversal is the only way to know, and goes.
            #expect(try await store.bankEntry(id: unknownId)?.allocation?.state == .reversing)
            let claimed = try await store.claimOutboxEntries(for: OutboxWorker(name: "w", host: "h", processId: 1), now: at(14),
                                                             leaseUntil: at(74), limit: 10, isGone: { _ in false })
            #expect(claimed.map(\.id) == [unknownReversal.id])
            // A person cannot send either allocation again: the bank took the money back.
            for (entry, returnedBy) in [(refusing, refusedId), (givingUp, unknownId)] {
                await #expect(throws: StoreError.self) { try await store.retryOutboxEntry(id: entry.id, by: "carol", at: at(15)) }
                do { try await store.retryOutboxEntry(id: entry.id, by: "carol", at: at(15)) } catch let error as StoreError {
                    #expect(error.code == .wrongState && error.description.contains("returned"), "\(error)")
                }
                #expect(try await store.outboxEntry(id: entry.id)?.state == .deadLetter, "returned \(returnedBy)")
            }
            // Nor the reversal set aside: the allocation it would reverse is undone.
            await #expect(throws: StoreError.self) { try await store.retryOutboxEntry(id: refusedReversal.id, by: "carol", at: at(16)) }
            #expect(try await store.outboxEntry(id: refusedReversal.id)?.state == .skipped)
        }
    }

    @Test("a person re-queues an AllocatePayment MILES refused: the allocation stands again, its payment leaves the queue, and a return then reverses it in MILES; one given up unconfirmed stays allocated",
          arguments: StoreKind.available)
    func retriedAllocation(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            let stored = try await store.receiveBankStatement(statement("ab12", entries: 3), at: at(0)).statement
            let refused = outcome(entry(1, 10_000, reference: "R1", endToEndId: "E2E-1"), allocate(10_000, to: "C-1"))
            let unconfirmed = outcome(entry(2, 7_000, reference: "R2", endToEndId: "E2E-2"), allocate(7_000, to: "C-1"))
            _ = try await store.applyBankBatch(statementId: stored.id, throughPosition: 2, outcomes: [refused, unconfirmed], by: "auto", at: at(1))
            let (refusedId, unconfirmedId) = (try await storedId(refused, in: store), try await storedId(unconfirmed, in: store))

            let refusing = try await claimSending(.allocatePayment, subject: refusedId, in: store, at: at(2))
            try await store.recordDeadLetter(refusing, reason: "MILES ALLOCATION_EXCEEDS_OPEN", cause: .refusedByMiles, at: at(3))
            #expect(try await store.bankEntry(id: refusedId)?.state == .toCheck)
            let givingUp = try await claimSending(.allocatePayment, subject: unconfirmedId, in: store, at: at(4))
            try await store.recordDeadLetter(givingUp, reason: "gave up after 5 attempts: connection reset", cause: .givenUp, at: at(5))
            // MILES may hold it: not offered to a person as a payment to allocate again.
            let kept = try #require(try await store.bankEntry(id: unconfirmedId))
            #expect(kept.state == .allocated && kept.allocation?.state == .pending)

            try await store.retryOutboxEntry(id: refusing.id, by: "carol", at: at(6))
            let again = try #require(try await store.bankEntry(id: refusedId))
            #expect(again.state == .allocated && again.allocation?.state == .pending && again.reason == nil)
            #expect(try await store.bankEntries(state: .toCheck, limit: 10).isEmpty)
            // Returned before the next push: MILES may have seen it, so it is reversed there, not dropped.
            _ = try await store.applyBankBatch(statementId: stored.id, throughPosition: 3, outcomes: [
                outcome(entry(3, 10_000, reference: "RV1", reversal: true, endToEndId: "E2E-1"), .reverse(originalEntryId: refusedId, reason: "AC04")),
            ], by: "auto", at: at(7))
            #expect(try await store.outboxEntry(id: refusing.id)?.state == .pending)
            #expect(try await outboxEntry(.reverseAllocation, subject: refusedId, in: store)?.state == .pending)
            #expect(try await store.bankEntry(id: refusedId)?.allocation?.state == .reversing)
        }
    }

    @Test("MILES refusing an allocation, or a person skipping it, puts its entry back in the queue; a person allocates it again, only from the queue or suspense",
          arguments: StoreKind.available)
    func refusedAndByHand(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            try await store.upsertContract(sampleContract("C-2"))
            let stored = try await store.receiveBankStatement(statement("ee55", entries: 3), at: at(0)).statement
            let outcomes = [
                outcome(entry(1, 10_000, reference: "R1"), allocate(10_000, to: "C-1")),
                outcome(entry(2, 5_000, reference: "R2"), .suspense(reason: "nothing open")),
                outcome(entry(3, 700, reference: "R3", mark: .debit), .noAction(reason: "money out")),
            ]
            _ = try await store.applyBankBatch(statementId: stored.id, throughPosition: 3, outcomes: outcomes, by: "auto", at: at(1))
            let refusedId = try await storedId(outcomes[0], in: store)
            let suspenseId = try await storedId(outcomes[1], in: store)
            let outgoingId = try await storedId(outcomes[2], in: store)

            let sending = try await claimSending(.allocatePayment, subject: refusedId, in: store, at: at(2))
            try await store.recordDeadLetter(sending, reason: "ALLOCATION_EXCEEDS_OPEN", cause: .refusedByMiles, at: at(3))
            let refused = try #require(try await store.bankEntry(id: refusedId))
            #expect(refused.state == .toCheck)
            #expect(refused.reason == "MILES refused the allocation: ALLOCATION_EXCEEDS_OPEN")
            #expect(refused.allocation?.state == .refused)

            let lines = [AllocationLine(invoiceNumber: "INV-C-2-0", amount: gbp(10_000))]
            let byHand = try await store.allocateBankEntry(id: refusedId, contractNumber: "C-2", lines: lines, suspense: gbp(0),
                                                           reason: "customer called: pays for C-2", by: "ann", at: at(4))
            #expect(byHand == PaymentAllocation(id: refusedId, contractNumber: "C-2", lines: lines, suspense: gbp(0), valueDate: today,
                                                account: account, bankReference: "R1", allocatedBy: "ann", reason: "customer called: pays for C-2",
                                                confidence: 100, state: .pending, milesAllocationId: nil))
            #expect(try await store.bankEntry(id: refusedId)?.state == .allocated)
            #expect(try await store.bankEntry(id: refusedId)?.allocation == byHand)
            // The refused entry's outbox entry goes again, under the same client reference.
            let requeued = try #require(try await outboxEntry(.allocatePayment, subject: refusedId, in: store))
            #expect(requeued.id == sending.id)
            #expect(requeued.state == .pending)
            #expect(requeued.attempts == 0)

            let fromSuspense = try await store.allocateBankEntry(id: suspenseId, contractNumber: "C-1", lines: [], suspense: gbp(5_000),
                                                                 reason: "held for C-1", by: "bob", at: at(5))
            #expect(fromSuspense.allocatedBy == "bob")
            let unsent = try #require(try await outboxEntry(.allocatePayment, subject: suspenseId, in: store))
            #expect(unsent.state == .pending)
            // A person sets the allocation aside before it is sent: MILES never has it, so the entry waits in the queue again.
            try await store.skipOutboxEntry(id: unsent.id, by: "tom", reason: "wrong customer", at: at(5))
            let setAside = try #require(try await store.bankEntry(id: suspenseId))
            #expect(setAside.state == .toCheck)
            #expect(setAside.reason == "its allocation was set aside by tom before it was sent: wrong customer")
            #expect(setAside.allocation?.state == .refused)
            _ = try await store.allocateBankEntry(id: suspenseId, contractNumber: "C-1", lines: [], suspense: gbp(5_000), reason: "held for C-1",
                                                  by: "bob", at: at(5))
            #expect(try await outboxEntry(.allocatePayment, subject: suspenseId, in: store).map { [$0.id, $0.state == .pending ? 1 : 0] }
                    == [unsent.id, 1])
            // Once an attempt was made MILES may hold it: set aside then, the allocation stays as it is and nothing is queued again.
            let tried = try await claimSending(.allocatePayment, subject: suspenseId, in: store, at: at(5))
            try await store.recordRetry(tried, error: "timed out", nextAttemptAt: at(6), at: at(5))
            try await store.skipOutboxEntry(id: tried.id, by: "tom", reason: "allocated by hand in MILES", at: at(6))
            let kept = try #require(try await store.bankEntry(id: suspenseId))
            #expect(kept.state == .allocated)
            #expect(kept.allocation?.state == .pending)

            #expect(await storeRefusal {
                try await store.allocateBankEntry(id: refusedId, contractNumber: "C-1", lines: lines, suspense: gbp(0), reason: "again", by: "ann",
                                                  at: at(6))
            } == .wrongState)
            #expect(await storeRefusal {
                try await store.allocateBankEntry(id: outgoingId, contractNumber: "C-1", lines: [], suspense: gbp(700), reason: "no", by: "ann",
                                                  at: at(6))
            } == .wrongState)
            #expect(await storeRefusal {
                try await store.allocateBankEntry(id: 9_999, contractNumber: "C-1", lines: [], suspense: gbp(1), reason: "no", by: "ann", at: at(6))
            } == .notFound)
            let byPeople = try await store.auditEntries().filter { $0.action == "bank.allocated" }
            #expect(byPeople.map(\.actor) == ["ann", "bob", "bob"])
            #expect(byPeople.map(\.subject) == ["bank-entry:\(refusedId)", "bank-entry:\(suspenseId)", "bank-entry:\(suspenseId)"])
        }
    }

    @Test("the matching's data: open amounts less allocations MILES has not shown, invoices' owners, payer accounts learnt, payments in transit",
          arguments: StoreKind.available)
    func matchData(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            // MILES last changed C-1 before the allocations below; C-3 is the same customer's other contract.
            try await store.upsertContract(sampleContract("C-1", modified: at(-60).millisecondsSinceEpoch))
            try await store.upsertContract(sampleContract("C-2", name: "Charles Babbage"))
            try await store.upsertContract(sampleContract("C-3", partner: "P-C-1", modified: at(-60).millisecondsSinceEpoch))

            let delivery = try await store.receiveInboxFile(NewInboxFile(agent: "acme", sha256: "ff66", originalName: "acme.csv",
                                                                         storedPath: "/inbox/acme/ff66", size: 100, channel: "file", receivedAt: at(0)))
            try await store.applyIngestBatch(fileId: delivery.file.id, throughLine: 2, rows: [
                IngestStoreTests.update(1, .paymentCollected(amount: gbp(4_000), on: LocalDate(daysSinceEpoch: 20_395), agentReference: "A1"),
                                        details: "£40.00 collected"),
                IngestStoreTests.update(2, .paymentCollected(amount: gbp(3_000), on: LocalDate(daysSinceEpoch: 20_396), agentReference: "A2"),
                                        details: "£30.00 collected"),
            ], by: "ingest", at: at(0))
            let before = try await store.bankMatchData(contractNumbers: ["C-1"], invoiceNumbers: [], payerAccounts: [payer])
            let transit = try #require(before.contracts["C-1"]?.paymentsInTransit)
            #expect(transit.map(\.amount) == [gbp(4_000), gbp(3_000)])
            #expect(transit.map(\.agentReference) == ["A1", "A2"])
            #expect(transit.first?.agent == "acme")
            #expect(before.payerContracts.isEmpty)
            #expect(before.contracts["C-1"]?.knownPayerAccounts == [])
            #expect(before.contracts["C-1"]?.openBalance == gbp(20_000))

            let stored = try await store.receiveBankStatement(statement("ab12", entries: 2), at: at(1)).statement
            let firstTransit = transit[0].updateId
            // The bank writes the payer's account in groups of four, in small letters: learnt as the matching looks it up.
            let allocated = outcome(entry(1, 5_000, reference: "R1", payer: "gb29 nwbk 6016 1331 9268 19"),
                                    allocate(5_000, to: "C-1", transit: firstTransit))
            let applied = try await store.applyBankBatch(statementId: stored.id, throughPosition: 2, outcomes: [
                allocated, outcome(entry(2, 6_000, reference: "R2"), .toCheck(reason: "unsure", candidates: [])),
            ], by: "auto", at: at(1))
            #expect(applied.entryIds[0] != nil)

            let data = try await store.bankMatchData(contractNumbers: ["C-9"], invoiceNumbers: ["INV-C-2-1", "INV-NONE"], payerAccounts: [payer, "GB00NEW"])
            #expect(data.invoiceOwners == ["INV-C-2-1": "C-2"])
            #expect(data.payerContracts == [payer: ["C-1", "C-3"]])
            #expect(Set(data.contracts.keys) == ["C-1", "C-2", "C-3"])
            let c1 = try #require(data.contracts["C-1"])
            #expect(c1.openInvoices.map(\.openAmount) == [gbp(7_000), gbp(8_000)])
            #expect(c1.openInvoices.map(\.amount) == [gbp(12_000), gbp(8_000)])
            #expect(c1.knownPayerAccounts == [payer])
            #expect(c1.customerName == "Ada Lovelace")
            #expect(c1.monthlyPayment == gbp(40_000))
            #expect(c1.paymentsInTransit.map(\.agentReference) == ["A2"])
            // Which allocations the open amounts leave out, so an import bringing them up to date does not take one twice.
            #expect(c1.takenBy == [allocated.identity])
            #expect(data.contracts["C-2"]?.takenBy == [])
            // The agent's payment the bank entry matched has arrived: no longer in transit for the placement guards either.
            #expect(try await store.paymentsInTransit(contractNumber: "C-1").map(\.agentReference) == ["A2"])
            #expect(data.contracts["C-3"]?.knownPayerAccounts == [payer])
            // Nothing was allocated to C-2: MILES's amounts as they are.
            #expect(data.contracts["C-2"]?.openInvoices.map(\.openAmount) == [gbp(12_000), gbp(8_000)])
            #expect(data.contracts["C-2"]?.customerName == "Charles Babbage")

            // MILES shows the contract changed since (something else changed it), but the allocation has not
            // reached MILES: MILES's amounts cannot include it, so it is still taken off them.
            try await store.upsertContract(sampleContract("C-1", version: 2, modified: at(10).millisecondsSinceEpoch))
            let stillWaiting = try await store.bankMatchData(contractNumbers: ["C-1"], invoiceNumbers: [], payerAccounts: [])
            #expect(stillWaiting.contracts["C-1"]?.openInvoices.map(\.openAmount) == [gbp(7_000), gbp(8_000)])
            #expect(stillWaiting.contracts["C-1"]?.takenBy == [allocated.identity])

            // MILES refuses the allocation that matched A1: it took nothing, so the amounts are MILES's again, and
            // the agent's payment is not in MILES, so in transit again.
            let matchedEntry = try await storedId(outcome(entry(1, 5_000, reference: "R1"), allocate(5_000, to: "C-1")), in: store)
            let sending = try await claimSending(.allocatePayment, subject: matchedEntry, in: store, at: at(11))
            try await store.recordDeadLetter(sending, reason: "ALLOCATION_EXCEEDS_OPEN", cause: .refusedByMiles, at: at(12))
            let refused = try await store.bankMatchData(contractNumbers: ["C-1"], invoiceNumbers: [], payerAccounts: [])
            #expect(refused.contracts["C-1"]?.openInvoices.map(\.openAmount) == [gbp(12_000), gbp(8_000)])
            #expect(refused.contracts["C-1"]?.takenBy == [])
            #expect(try await store.paymentsInTransit(contractNumber: "C-1").map(\.agentReference) == ["A1", "A2"])

            // MILES shows a payment on A2's date: no agent's payment is in transit any more, for the matching or the guards.
            var paid = sampleContract("C-1", version: 3, modified: at(20).millisecondsSinceEpoch)
            paid.lastPaymentDate = LocalDate(daysSinceEpoch: 20_396)
            try await store.upsertContract(paid)
            let afterPayment = try await store.bankMatchData(contractNumbers: ["C-1"], invoiceNumbers: [], payerAccounts: [])
            #expect(afterPayment.contracts["C-1"]?.paymentsInTransit.map(\.agentReference) == [])
            #expect(try await store.paymentsInTransit(contractNumber: "C-1").isEmpty)
        }
    }

    @Test("an allocation sent to MILES is taken off the open amounts until the sync shows MILES changed the contract after it was sent",
          arguments: StoreKind.available)
    func sentAllocationUntilMilesShowsIt(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1", modified: at(-60).millisecondsSinceEpoch))
            let stored = try await store.receiveBankStatement(statement("cc33", entries: 1), at: at(0)).statement
            let paid = outcome(entry(1, 5_000, reference: "R1"), allocate(5_000, to: "C-1"))
            _ = try await store.applyBankBatch(statementId: stored.id, throughPosition: 1, outcomes: [paid], by: "auto", at: at(1))
            // Something else changed the contract in MILES after the allocation was made, before it was sent; a sync read that.
            try await store.upsertContract(sampleContract("C-1", version: 2, modified: at(2).millisecondsSinceEpoch))
            let sending = try await claimSending(.allocatePayment, subject: try await storedId(paid, in: store), in: store, at: at(3))
            try await store.recordAllocationPosted(sending, milesAllocationId: "MPA-1", at: at(4))

            // MILES took it, but the sync read the contract before it was sent: its amounts cannot show it.
            let posted = try await store.bankMatchData(contractNumbers: ["C-1"], invoiceNumbers: [], payerAccounts: [])
            #expect(posted.contracts["C-1"]?.openInvoices.map(\.openAmount) == [gbp(7_000), gbp(8_000)])
            #expect(posted.contracts["C-1"]?.takenBy == [paid.identity])

            // MILES changed the contract when it took the allocation: the next sync's amounts include it.
            try await store.upsertContract(sampleContract("C-1", version: 3, modified: at(4).millisecondsSinceEpoch))
            let shown = try await store.bankMatchData(contractNumbers: ["C-1"], invoiceNumbers: [], payerAccounts: [])
            #expect(shown.contracts["C-1"]?.openInvoices.map(\.openAmount) == [gbp(12_000), gbp(8_000)])
            #expect(shown.contracts["C-1"]?.takenBy == [])
        }
    }

    @Test("the day's report: by currency, payments in = allocated by the rules + by hand + waiting + in suspense; overpaid, returns, money out",
          arguments: StoreKind.available)
    func dayReport(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            let yesterday = today.adding(days: -1)
            let stored = try await store.receiveBankStatement(statement("ac13", entries: 9), at: at(0)).statement
            let outcomes = [
                outcome(entry(1, 12_500, reference: "R1"), allocate(12_000, suspense: 500)),
                outcome(entry(2, 10_000, reference: "R2"), allocate(10_000)),
                outcome(entry(3, 5_000, reference: "R3"), .toCheck(reason: "unsure", candidates: [])),
                outcome(entry(4, 3_000, reference: "R4"), .toCheck(reason: "unsure", candidates: [])),
                outcome(entry(5, 2_000, reference: "R5"), .suspense(reason: "nothing open")),
                outcome(entry(6, 700, reference: "R6", mark: .debit), .noAction(reason: "money out")),
                outcome(entry(7, 400, reference: "R7", reversal: true), .noAction(reason: "returned, nothing allocated")),
                outcome(entry(8, 9_900, reference: "R8", currency: .eur), .suspense(reason: "nothing open in EUR")),
                outcome(entry(9, 1_100, reference: "R9", booked: yesterday), .suspense(reason: "yesterday")),
            ]
            _ = try await store.applyBankBatch(statementId: stored.id, throughPosition: 9, outcomes: outcomes, by: "auto", at: at(1))
            let waitingId = try await storedId(outcomes[2], in: store)
            _ = try await store.allocateBankEntry(id: waitingId, contractNumber: "C-1", lines: [AllocationLine(invoiceNumber: "INV-C-1-1", amount: gbp(4_000))],
                                                  suspense: gbp(1_000), reason: "by hand", by: "ann", at: at(2))

            let reports = try await store.bankDayReport(date: today)
            #expect(reports.map(\.currency.code) == ["EUR", "GBP"])
            let pounds = try #require(reports.last)
            typealias Line = BankDayReport.Line
            #expect(pounds == BankDayReport(
                date: today, currency: .gbp, received: Line(count: 5, minorUnits: 32_500),
                allocatedAutomatically: Line(count: 2, minorUnits: 22_500), allocatedByHand: Line(count: 1, minorUnits: 5_000),
                waiting: Line(count: 1, minorUnits: 3_000), inSuspense: Line(count: 1, minorUnits: 2_000), overpaid: Line(count: 2, minorUnits: 1_500),
                reversals: Line(count: 1, minorUnits: 400), outgoing: Line(count: 1, minorUnits: 700)))
            let parts = [pounds.allocatedAutomatically, pounds.allocatedByHand, pounds.waiting, pounds.inSuspense]
            #expect(parts.map(\.count).reduce(0, +) == pounds.received.count)
            #expect(parts.map(\.minorUnits).reduce(0, +) == pounds.received.minorUnits)
            #expect(reports.first?.inSuspense == Line(count: 1, minorUnits: 9_900))
            #expect(reports.first?.received == Line(count: 1, minorUnits: 9_900))
            #expect(try await store.bankDayReport(date: yesterday).map(\.inSuspense) == [Line(count: 1, minorUnits: 1_100)])
            #expect(try await store.bankDayReport(date: today.adding(days: 1)).isEmpty)
        }
    }
}
