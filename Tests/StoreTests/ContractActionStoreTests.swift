import CollectionsDomain
import CollectionsStore
import TestSupport
import Testing

@Suite("Holds, notices, status changes, notes and letters, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct ContractActionStoreTests {
    typealias Stores = ContractActionStore & PlacementStore & OutboxStore & AuditStore

    let now = Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)
    let worker = OutboxWorker(name: "w", host: "h", processId: 1)

    /// A status change as the desk queues it once its guards passed, made up for the tests.
    static func statusChange(_ contractNumber: String, to status: ContractStatus = .defaulted, at: Timestamp, overrides: [GuardOverride] = [],
                             courtOrderReference: String? = nil, customerConsent: String? = nil) -> StatusChange {
        StatusChange(id: 0, contractNumber: contractNumber, to: status, reasonCode: "R12", effectiveDate: LocalDate(daysSinceEpoch: 20_400),
                     courtOrderReference: courtOrderReference, expectedVersion: 7, requestedBy: "ann", requestedAt: at, state: .queued,
                     overrides: overrides, customerConsent: customerConsent)
    }

    /// An audit entry as the tests compare it: who, what, on what, and the details.
    static func line(_ entry: AuditEntry) -> String { "\(entry.actor) \(entry.action) \(entry.subject): \(entry.details)" }

    /// Claims every due entry for `worker` and marks each sending, as the relay does before it calls MILES.
    func claimAndSend(_ store: any Stores) async throws -> [OutboxEntry] {
        let claimed = try await store.claimOutboxEntries(for: worker, now: now, leaseUntil: now.adding(seconds: 60), limit: 10, isGone: { _ in false })
        for entry in claimed { try await store.markSending(entry, at: now) }
        return claimed
    }

    @Test("a status change is stored with its evidence and overrides, audited, queued under its reference; applied when MILES confirms it",
          arguments: StoreKind.available)
    func statusChanges(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let overrides = [GuardOverride(rule: "defaultNoticeRemedyRunning", by: "tom", role: "teamLeader", reason: "customer asked | agreed"),
                             GuardOverride(rule: "breathingSpace", by: "una", role: "manager", reason: "ended yesterday")]
            var change = Self.statusChange("C-1", to: .repossession, at: now, overrides: overrides, courtOrderReference: "CO-9",
                                            customerConsent: "signed form")
            let id = try await store.queueStatusChange(change)
            change.id = id
            #expect(try await store.statusChange(id: id) == change)
            #expect(try await store.statusChange(id: id + 1) == nil)

            let entries = try await store.outboxEntries(state: nil)
            #expect(entries.count == 1)
            let entry = try #require(entries.first)
            #expect(entry.kind == .updateContractStatus && entry.state == .pending && entry.subjectId == id)
            #expect(entry.clientReference == change.clientReference)
            #expect(try await store.auditEntries().map(Self.line) == [
                "ann status.requested contract:C-1: to repossession, reason R12, effective 2025-11-08, on version 7; "
                    + "evidence: court order CO-9; customer's consent: signed form",
                "tom guard.overridden contract:C-1: rule defaultNoticeRemedyRunning set aside by tom (teamLeader): customer asked | agreed",
                "una guard.overridden contract:C-1: rule breathingSpace set aside by una (manager): ended yesterday",
                "ann outbox.queued outbox:\(entry.id): UpdateContractStatus \(change.clientReference)",
            ])

            let sending = try await claimAndSend(store)
            #expect(sending.map(\.id) == [entry.id])
            try await store.recordStatusApplied(try #require(sending.first), milesVersion: 8, at: now)
            let applied = try #require(try await store.statusChange(id: id))
            #expect(applied.state == .applied && applied.milesVersion == 8)
            #expect(try await store.outboxEntry(id: entry.id)?.state == .sent)
            #expect(try await store.auditEntries().last.map(Self.line)
                    == "outbox-relay status.applied contract:C-1: status change \(id) applied in MILES as version 8")
        }
    }

    @Test("holds are recorded, listed and lifted once; a placed contract's agent is told to pause; a hold decided on a stale placement is refused",
          arguments: StoreKind.available)
    func holds(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let today = LocalDate(daysSinceEpoch: 20_400)
            try await store.queuePlacement(agent: "acme", fileName: "acme-1.csv", changes: [Self.statusChange("C-1", to: .placedWithAgent, at: now)],
                                           by: "ann", at: now)
            let audited = try await store.auditEntries().count

            let dispute = ContractHold(kind: .dispute, reason: "disputes the balance", setBy: "ann", setOn: today)
            let pause = AgentInstruction(agent: "acme", contractNumber: "C-1", kind: .pause, reason: "dispute hold")
            try await store.recordHold(dispute, contractNumber: "C-1", placedWith: "acme", instruction: pause, at: now)
            let adviser = ContractHold(kind: .debtAdviser, reason: "StepChange acting", setBy: "tom", setOn: today.adding(days: 1))
            try await store.recordHold(adviser, contractNumber: "C-2", placedWith: nil, instruction: nil, at: now)
            #expect(try await store.holds(contractNumber: "C-1") == [dispute])
            #expect(try await store.holds(contractNumber: "C-2") == [adviser])
            #expect(try await store.agentInstructions(agent: "acme") == [pause])

            // Decided while the contract looked unplaced: it is placed now, so nothing is stored.
            let stale = ContractHold(kind: .vulnerable, reason: "bereaved", setBy: "ann", setOn: today)
            let refusal = await #expect(throws: StoreError.self) {
                try await store.recordHold(stale, contractNumber: "C-1", placedWith: nil, instruction: nil, at: now)
            }
            #expect(refusal?.code == .changedMeanwhile)
            #expect(try await store.holds(contractNumber: "C-1") == [dispute])

            // A second dispute hold, set by someone who read the contract before the first was stored: one stays.
            let second = ContractHold(kind: .dispute, reason: "disputes the balance too", setBy: "tom", setOn: today.adding(days: 1))
            let duplicate = await #expect(throws: StoreError.self) {
                try await store.recordHold(second, contractNumber: "C-1", placedWith: "acme", instruction: pause, at: now)
            }
            #expect(duplicate?.code == .duplicate)
            #expect(duplicate?.description.contains("a dispute hold is already active on C-1, set on \(today) by ann (disputes the balance)") == true)
            #expect(try await store.holds(contractNumber: "C-1") == [dispute])
            #expect(try await store.agentInstructions(agent: "acme") == [pause])

            try await store.liftHold(contractNumber: "C-1", kind: .dispute, by: "tom", on: today.adding(days: 3), at: now)
            var lifted = dispute
            lifted.liftedOn = today.adding(days: 3)
            #expect(try await store.holds(contractNumber: "C-1") == [lifted])
            let again = await #expect(throws: StoreError.self) {
                try await store.liftHold(contractNumber: "C-1", kind: .dispute, by: "tom", on: today.adding(days: 4), at: now)
            }
            #expect(again?.code == .notFound)
            let never = await #expect(throws: StoreError.self) {
                try await store.liftHold(contractNumber: "C-2", kind: .insolvency, by: "tom", on: today, at: now)
            }
            #expect(never?.code == .notFound)
            #expect(try await store.holds(contractNumber: "C-2") == [adviser])

            #expect(try await store.auditEntries().dropFirst(audited).map(Self.line) == [
                "ann hold.set contract:C-1: dispute from 2025-11-08: disputes the balance",
                "ann placement.paused contract:C-1: pause instruction for acme: dispute hold",
                "tom hold.set contract:C-2: debtAdviser from 2025-11-09: StepChange acting",
                "tom hold.lifted contract:C-1: dispute on 2025-11-11",
            ])
        }
    }

    @Test("from two stores at once: two people setting the same kind of hold, or a person and an agent's delivery reporting it, make one hold",
          arguments: StoreKind.available)
    func holdRaces(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let other = try await subject.reopen()
            let today = LocalDate(daysSinceEpoch: 20_400)
            let rounds = 4
            for round in 1...rounds {
                let contract = "C-\(round)"
                try await store.upsertContract(sampleContract(contract))
                let ann = ContractHold(kind: .dispute, reason: "disputes the balance", setBy: "ann", setOn: today)
                let tom = ContractHold(kind: .dispute, reason: "disputes the fees", setBy: "tom", setOn: today)
                let outcomes = await racing({ try await store.recordHold(ann, contractNumber: contract, placedWith: nil, instruction: nil, at: self.now) },
                                            { try await other.recordHold(tom, contractNumber: contract, placedWith: nil, instruction: nil, at: self.now) })
                #expect(tally(outcomes, refusedWith: .duplicate) == (1, 1))
                #expect(try await store.holds(contractNumber: contract).count == 1)
            }
            for round in 1...rounds {
                let contract = "C-\(rounds + round)"
                try await store.upsertContract(sampleContract(contract))
                let file = try await store.receiveInboxFile(NewInboxFile(agent: "acme", sha256: "race\(round)", originalName: "acme.csv",
                                                                         storedPath: "/inbox/acme/race\(round)", size: 10, channel: "file",
                                                                         receivedAt: now)).file
                let reported = ContractHold(kind: .deceased, reason: "acme reports: customer deceased", setBy: "agent:acme", setOn: today)
                let bob = ContractHold(kind: .deceased, reason: "death certificate seen", setBy: "bob", setOn: today)
                let outcomes = await racing({
                    try await store.applyIngestBatch(fileId: file.id, throughLine: 1, rows: [
                        IngestStoreTests.update(1, .status(.deceased, on: today), contract: contract, details: "customer deceased",
                                                effects: IngestEffects(hold: reported)),
                    ], by: "ingest", at: self.now)
                }, { try await other.recordHold(bob, contractNumber: contract, placedWith: nil, instruction: nil, at: self.now) })
                // The delivery always applies (its report is kept); the person is refused only when the agent's hold came first.
                let unexpected = outcomes.filter { if case .failure(let error) = $0 { (error as? StoreError)?.code != .duplicate } else { false } }
                #expect(unexpected.isEmpty, "\(unexpected)")
                #expect(try await store.holds(contractNumber: contract).count == 1)
            }
        }
    }

    @Test("notices of arrears and a default notice are recorded, audited and read back", arguments: StoreKind.available)
    func notices(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let sent = LocalDate(daysSinceEpoch: 20_400)
            #expect(try await store.notices(contractNumber: "C-1") == ContractNotices())
            try await store.recordNotice(contractNumber: "C-1", arrearsNoticeSentOn: sent, defaultNotice: nil, by: "ann", at: now)
            let defaultNotice = ContractNotices.DefaultNotice(served: sent.adding(days: 30), remedyDate: sent.adding(days: 44))
            try await store.recordNotice(contractNumber: "C-1", arrearsNoticeSentOn: sent.adding(days: 30), defaultNotice: defaultNotice, by: "tom", at: now)
            #expect(try await store.notices(contractNumber: "C-1")
                    == ContractNotices(arrearsNoticesSent: [sent, sent.adding(days: 30)], defaultNotice: defaultNotice))
            #expect(try await store.notices(contractNumber: "C-2") == ContractNotices())
            #expect(try await store.auditEntries().map(Self.line) == [
                "ann notice.arrears contract:C-1: sent 2025-11-08",
                "tom notice.arrears contract:C-1: sent 2025-12-08",
                "tom notice.default contract:C-1: served 2025-12-08, remedy by 2025-12-22",
            ])
        }
    }

    @Test("a note is queued for MILES, audited and read back; added when MILES confirms it", arguments: StoreKind.available)
    func notes(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            var note = ContractNote(id: 0, contractNumber: "C-1", category: "CALL", text: "Promised to pay on Friday", source: "workspace",
                                    requestedBy: "ann", requestedAt: now, state: .queued)
            let id = try await store.queueNote(note)
            note.id = id
            #expect(try await store.note(id: id) == note)
            #expect(try await store.note(id: id + 1) == nil)
            let entry = try #require(try await store.outboxEntries(state: .pending).first)
            #expect(entry.kind == .addContractNote && entry.subjectId == id
                    && entry.clientReference == OutboxKind.addContractNote.clientReference(forSubject: id))
            #expect(try await store.auditEntries().map(Self.line) == ["ann note.queued contract:C-1: CALL from workspace: Promised to pay on Friday"])

            let sending = try await claimAndSend(store)
            try await store.recordNoteAdded(try #require(sending.first), milesNoteId: "N-77", at: now)
            let added = try #require(try await store.note(id: id))
            #expect(added.state == .added && added.milesNoteId == "N-77")
        }
    }

    @Test("a letter is asked of MILES once while queued, even by two stores at once; listed; issued notices are recorded with MILES's dates",
          arguments: StoreKind.available)
    func letters(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            guard case .created(let arrears) = try await store.queueLetter(contractNumber: "C-1", type: .arrearsNotice, by: "ann", at: now) else {
                Issue.record("the first arrears notice was not created")
                return
            }
            #expect(try await store.queueLetter(contractNumber: "C-1", type: .arrearsNotice, by: "tom", at: now) == .alreadyRequested(id: arrears))

            // Two processes asking for the same letter at once: one request.
            let other = try await subject.reopen()
            async let mine = store.queueLetter(contractNumber: "C-1", type: .defaultNotice, by: "ann", at: now)
            async let theirs = other.queueLetter(contractNumber: "C-1", type: .defaultNotice, by: "tom", at: now)
            let creations = try await [mine, theirs]
            let defaultIds = Set(creations.map { creation -> Int64 in
                switch creation { case .created(let id), .alreadyRequested(let id): id }
            })
            #expect(defaultIds.count == 1)
            #expect(creations.filter { if case .created = $0 { true } else { false } }.count == 1)
            let defaultNotice = try #require(defaultIds.first)

            let letters = try await store.letterRequests(contractNumber: "C-1")
            #expect(letters.map(\.id) == [arrears, defaultNotice])
            #expect(letters.map(\.type) == [.arrearsNotice, .defaultNotice] && letters.allSatisfy { $0.state == .queued })
            #expect(try await store.letterRequests(contractNumber: "C-2").isEmpty)
            let entries = try await store.outboxEntries(state: .pending)
            #expect(entries.map(\.kind) == [.requestCustomerLetter, .requestCustomerLetter])
            #expect(entries.map(\.subjectId) == [arrears, defaultNotice])
            #expect(entries.map(\.clientReference) == [arrears, defaultNotice].map(OutboxKind.requestCustomerLetter.clientReference(forSubject:)))
            #expect(try await store.auditEntries().map(\.action) == ["letter.requested", "letter.requested"])
            #expect(try await store.auditEntries().first.map(Self.line)
                    == "ann letter.requested contract:C-1: arrearsNotice, letter \(arrears), outbox \(entries[0].id)")

            let served = LocalDate(daysSinceEpoch: 20_410)
            let sending = try await claimAndSend(store)
            #expect(sending.map(\.subjectId) == [arrears, defaultNotice])
            try await store.recordLetterIssued(sending[0], letter: IssuedLetter(letterId: "L-1", clientReference: sending[0].clientReference,
                                                                                contractNumber: "C-1", letterTypeCode: "ARRN", serveDate: served,
                                                                                remedyDate: nil), at: now)
            try await store.recordLetterIssued(sending[1], letter: IssuedLetter(letterId: "L-2", clientReference: sending[1].clientReference,
                                                                                contractNumber: "C-1", letterTypeCode: "DEFN",
                                                                                serveDate: served.adding(days: 2), remedyDate: served.adding(days: 16)),
                                               at: now)
            #expect(try await store.notices(contractNumber: "C-1") == ContractNotices(
                arrearsNoticesSent: [served],
                defaultNotice: ContractNotices.DefaultNotice(served: served.adding(days: 2), remedyDate: served.adding(days: 16))))
            let issued = try #require(try await store.letterRequest(id: defaultNotice))
            #expect(issued.state == .issued && issued.milesLetterId == "L-2" && issued.serveDate == served.adding(days: 2)
                    && issued.remedyDate == served.adding(days: 16))
            #expect(try await store.auditEntries().last.map(Self.line)
                    == "outbox-relay letter.issued contract:C-1: defaultNotice MILES L-2, served 2025-11-20, remedy by 2025-12-04, "
                        + "reference \(sending[1].clientReference)")

            // Issued, it no longer stands in the way of asking again.
            guard case .created(let second) = try await store.queueLetter(contractNumber: "C-1", type: .arrearsNotice, by: "ann", at: now) else {
                Issue.record("an arrears notice was not asked for again after the first was issued")
                return
            }
            #expect(second > defaultNotice)
        }
    }
}
