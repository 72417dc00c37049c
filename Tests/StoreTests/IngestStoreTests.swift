import CollectionsDomain
import CollectionsStore
import TestSupport
import Testing

@Suite("Agents' deliveries: the inbox, each batch's rows and what they did, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct IngestStoreTests {
    typealias Stores = IngestStore & OutboxStore & AuditStore & ContractStore & RiskStore

    let now = Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)
    let today = LocalDate(daysSinceEpoch: 20_400)
    let worker = OutboxWorker(name: "w", host: "h", processId: 1)

    /// A delivery from `agent` as the inbox copied it, made up for the tests.
    func delivery(_ sha256: String, agent: String = "acme", name: String = "acme-0601.csv", channel: String = "file") -> NewInboxFile {
        NewInboxFile(agent: agent, sha256: sha256, originalName: name, storedPath: "/inbox/\(agent)/\(sha256)", size: 2_048, channel: channel,
                     receivedAt: now)
    }

    /// Line `line` of acme's delivery, decided as an update of `kind` with `effects`.
    static func update(_ line: Int, _ kind: ThirdPartyUpdate.Kind, contract: String = "C-1", details: String,
                       effects: IngestEffects = IngestEffects()) -> IngestRow {
        .update(ThirdPartyUpdate(agent: "acme", source: "acme-0601.csv:\(line)", contractNumber: contract, kind: kind), line: line,
                details: details, effects: effects)
    }

    static func pounds(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: .gbp) }

    /// A note an agent's row adds to a contract.
    func note(_ text: String, contract: String = "C-1") -> ContractNote {
        ContractNote(id: 0, contractNumber: contract, category: "AGNT", text: text, source: "acme", requestedBy: "ingest:acme", requestedAt: now,
                     state: .queued)
    }

    /// An audit entry as the tests compare it: who, what, on what, and the details.
    static func line(_ entry: AuditEntry) -> String { "\(entry.actor) \(entry.action) \(entry.subject): \(entry.details)" }

    @Test("a delivery is recorded once: the same content from the same agent again, even from two processes at once, is the one recorded",
          arguments: StoreKind.available)
    func receivedOnce(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let first = try await store.receiveInboxFile(delivery("aa11"))
            #expect(first.isNew)
            #expect(first.file == InboxFile(id: first.file.id, agent: "acme", sha256: "aa11", originalName: "acme-0601.csv",
                                            storedPath: "/inbox/acme/aa11", size: 2_048, channel: "file", receivedAt: now, state: .received,
                                            linesDone: 0, applied: 0, refused: 0, rejected: 0))
            #expect(try await store.inboxFile(id: first.file.id) == first.file)
            #expect(try await store.inboxFile(id: first.file.id + 100) == nil)

            let again = try await store.receiveInboxFile(delivery("aa11", name: "resent.csv", channel: "http"))
            #expect(!again.isNew)
            #expect(again.file == first.file)
            let fromBolt = try await store.receiveInboxFile(delivery("aa11", agent: "bolt"))
            #expect(fromBolt.isNew)
            #expect(fromBolt.file.id != first.file.id)

            let other = try await subject.reopen()
            let raced = try await withThrowingTaskGroup(of: (sha256: String, id: Int64, isNew: Bool).self) { group in
                for sha256 in ["b1", "b2", "b3", "b4"] {
                    let file = delivery(sha256)
                    for server in [store, other] {
                        group.addTask {
                            let received = try await server.receiveInboxFile(file)
                            return (sha256, received.file.id, received.isNew)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for sha256 in ["b1", "b2", "b3", "b4"] {
                let both = raced.filter { $0.sha256 == sha256 }
                #expect(both.count == 2)
                #expect(both.filter(\.isNew).count == 1)
                #expect(Set(both.map(\.id)).count == 1)
            }

            let acme = try await store.inboxFiles(agent: "acme", state: nil, limit: 10)
            #expect(acme.count == 5)
            #expect(acme.map(\.id) == acme.map(\.id).sorted(by: >))
            #expect(acme.last == first.file)
            #expect(try await store.inboxFiles(agent: "bolt", state: .received, limit: 10) == [fromBolt.file])
            #expect(try await store.inboxFiles(agent: nil, state: .received, limit: 2).map(\.id) == Array(acme.map(\.id).prefix(2)))
            #expect(try await store.inboxFiles(agent: nil, state: .processed, limit: 10).isEmpty)

            let audit = try await store.auditEntries()
            #expect(audit.filter { $0.action == "inbox.received" }.count == 6)
            #expect(audit.filter { $0.action == "inbox.duplicate" }.count == 5)
            #expect(audit.prefix(3).map(Self.line) == [
                "acme inbox.received inbox:\(first.file.id): acme-0601.csv via file, 2048 bytes, sha256 aa11",
                "acme inbox.duplicate inbox:\(first.file.id): resent.csv via http has the content of delivery \(first.file.id)",
                "bolt inbox.received inbox:\(fromBolt.file.id): acme-0601.csv via file, 2048 bytes, sha256 aa11",
            ])
        }
    }

    @Test("a batch stores every row, applies each applied update's effects, moves the cursor and counts; rows already done are skipped",
          arguments: StoreKind.available)
    func batches(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            try await store.upsertContract(sampleContract("C-2"))
            let file = try await store.receiveInboxFile(delivery("cc33")).file
            let audited = try await store.auditEntries().count

            let legal = StatusChange(id: 0, contractNumber: "C-1", to: .legal, reasonCode: "AGENT-LEGAL", effectiveDate: today,
                                     courtOrderReference: nil, expectedVersion: 1, requestedBy: "ingest:acme", requestedAt: now, state: .queued,
                                     overrides: [])
            let alert = RiskAlert(rule: "agentStatus", contractNumber: "C-1", facts: "acme reports legalProcess")
            let dispute = ContractHold(kind: .dispute, reason: "customer disputes the balance", setBy: "ingest:acme", setOn: today)
            let pause = AgentInstruction(agent: "acme", contractNumber: "C-2", kind: .pause, reason: "dispute hold")
            let moved = PostalAddress(line1: "2 New Street", line2: "Flat 3", town: "York", postcode: "YO1 7HH", country: "GB")
            let trace = ContactChange(id: 0, contractNumber: "C-1", partnerId: "P-C-1", expectedVersion: 1, address: moved, phone: "07700 900999",
                                      email: "ada@example.com", source: "acme trace", requestedBy: "ingest:acme", requestedAt: now)
            let plan = ReportedArrangement(id: 0, contractNumber: "C-2", agent: "acme", reportedOn: today, details: "£50 a month from July",
                                           source: "acme-0601.csv:8", proposal: nil)
            let refusedChange = StatusChange(id: 0, contractNumber: "C-2", to: .legal, reasonCode: "AGENT-LEGAL", effectiveDate: today,
                                             courtOrderReference: nil, expectedVersion: 1, requestedBy: "ingest:acme", requestedAt: now,
                                             state: .queued, overrides: [])
            let collected = LocalDate(daysSinceEpoch: 20_395)
            try await store.applyIngestBatch(fileId: file.id, throughLine: 12, rows: [
                Self.update(1, .paymentCollected(amount: Self.pounds(15_000), on: collected, agentReference: "R1"), details: "£150.00 collected"),
                Self.update(2, .paymentCollected(amount: Self.pounds(2_000), on: LocalDate(daysSinceEpoch: 20_380), agentReference: "R2"),
                            details: "£20.00 collected"),
                .rejected(line: 3, column: "amount", value: "12,5x", reason: "not an amount"),
                Self.update(4, .status(.legalProcess, on: today), details: "legal process", effects: IngestEffects(statusChange: legal, alert: alert)),
                Self.update(5, .status(.hold, on: today), contract: "C-2", details: "on hold",
                            effects: IngestEffects(hold: dispute, instruction: pause)),
                Self.update(6, .traceResult(address: moved, phone: "07700 900999", email: "ada@example.com", on: today), details: "traced",
                            effects: IngestEffects(contactChange: trace)),
                Self.update(7, .note("called the customer"), details: "note", effects: IngestEffects(note: note("called the customer"))),
                Self.update(8, .status(.activePlan, on: today), contract: "C-2", details: "plan agreed",
                            effects: IngestEffects(reportedArrangement: plan)),
                Self.update(9, .status(.legalProcess, on: today), contract: "C-2", details: "legal process",
                            effects: IngestEffects(statusChange: refusedChange, note: note("never"), refusal: "C-2 is in a payment plan")),
                Self.update(10, .paymentCollected(amount: Self.pounds(9_900), on: LocalDate(daysSinceEpoch: 20_399), agentReference: "R3"),
                            details: "£99.00 collected", effects: IngestEffects(refusal: "reference R3 seen before")),
                Self.update(11, .note("second note"), contract: "C-2", details: "note", effects: IngestEffects(note: note("second note", contract: "C-2"))),
                .rejected(line: 12, column: "contract", value: "", reason: "missing"),
            ], by: "ingest", at: now)

            let batched = try #require(try await store.inboxFile(id: file.id))
            #expect(batched.state == .received)
            #expect(batched.linesDone == 12)
            #expect(batched.applied == 8)
            #expect(batched.refused == 2)
            #expect(batched.rejected == 2)

            let updates = try await store.thirdPartyUpdates(fileId: file.id)
            #expect(updates.map(\.line) == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11])
            #expect(updates.map(\.kind) == ["paymentCollected", "paymentCollected", "legalProcess", "hold", "traceResult", "note", "activePlan",
                                            "legalProcess", "paymentCollected", "note"])
            #expect(updates.map(\.outcome) == ["applied", "applied", "applied", "applied", "applied", "applied", "applied", "refused", "refused",
                                               "applied"])
            #expect(updates.map(\.refusal) == [nil, nil, nil, nil, nil, nil, nil, "C-2 is in a payment plan", "reference R3 seen before", nil])
            #expect(updates.map(\.contractNumber) == ["C-1", "C-1", "C-1", "C-2", "C-1", "C-1", "C-2", "C-2", "C-1", "C-2"])
            #expect(updates[0].details == "£150.00 collected")
            #expect(updates.allSatisfy { $0.inboxFileId == file.id && $0.agent == "acme" })
            #expect(try await store.thirdPartyUpdates(fileId: file.id, limit: 3) == Array(updates.prefix(3)))
            #expect(try await store.refusedUpdates(limit: 10) == [updates[8], updates[7]])
            #expect(try await store.refusedUpdates(limit: 1) == [updates[8]])
            let errors = [IngestRowError(line: 3, column: "amount", value: "12,5x", reason: "not an amount"),
                          IngestRowError(line: 12, column: "contract", value: "", reason: "missing")]
            #expect(try await store.ingestRowErrors(fileId: file.id) == errors)
            #expect(try await store.ingestRowErrors(fileId: file.id, limit: 1) == [errors[0]])
            // Only the applied payment dated after MILES's last payment (day 20,390) is still on its way.
            #expect(try await store.paymentsInTransit(contractNumber: "C-1") == [
                PaymentNotification(contractNumber: "C-1", agent: "acme", amount: Self.pounds(15_000), paidOn: collected, agentReference: "R1"),
            ])
            #expect(try await store.paymentsInTransit(contractNumber: "C-2").isEmpty)
            #expect(try await store.ingestTotals() == IngestTotals(received: 10, rejected: 2, refused: 2))

            // The refused row's status change and note are not queued; the notes go last, in line order.
            let queued = try await store.outboxEntries(state: .pending)
            #expect(queued.map(\.kind) == [.updateContractStatus, .updateContactDetails, .addContractNote, .addContractNote])
            #expect(queued.allSatisfy { $0.clientReference == $0.kind.clientReference(forSubject: $0.subjectId) })
            let subjects = try await store.subjects(of: queued)
            guard case let .statusChange(change)? = subjects[queued[0].id], case let .contactChange(contact)? = subjects[queued[1].id],
                  case let .note(firstNote)? = subjects[queued[2].id], case let .note(secondNote)? = subjects[queued[3].id] else {
                Issue.record("the queued entries carry \(subjects)")
                return
            }
            var expectedChange = legal
            expectedChange.id = change.id
            #expect(change == expectedChange)
            var expectedContact = trace
            expectedContact.id = contact.id
            #expect(contact == expectedContact)
            #expect([firstNote.text, secondNote.text] == ["called the customer", "second note"])
            #expect([firstNote.contractNumber, secondNote.contractNumber] == ["C-1", "C-2"])
            #expect(firstNote.state == .queued && firstNote.requestedBy == "ingest:acme" && firstNote.category == "AGNT")
            #expect(try await store.riskAlerts(includeAcknowledged: false, limit: 10).map(\.alert) == [alert])

            #expect(try await store.auditEntries().dropFirst(audited).map(Self.line) == [
                "ingest:acme status.requested contract:C-1: to legal, reason AGENT-LEGAL, effective \(today), on version 1",
                "ingest:acme outbox.queued outbox:\(queued[0].id): \(OutboxKind.updateContractStatus.operation) \(queued[0].clientReference)",
                "sync risk.alert contract:C-1: agentStatus: acme reports legalProcess",
                "ingest:acme hold.set contract:C-2: dispute from \(today): customer disputes the balance",
                "ingest:acme placement.paused contract:C-2: pause instruction for acme: dispute hold",
                "ingest:acme contact.requested partner:P-C-1: contact details change \(contact.id) from acme trace on partner version 1",
                "ingest:acme arrangement.reported contract:C-2: £50 a month from July (acme-0601.csv:8): to be proposed with the customer's "
                    + "income and expenditure",
                "ingest inbox.batch inbox:\(file.id): lines 1–12: 8 applied, 2 refused by a guard, 2 rejected",
            ])

            // After a crash the last batch comes again with the rows after it: the ones done are not applied twice.
            try await store.applyIngestBatch(fileId: file.id, throughLine: 14, rows: [
                Self.update(11, .note("second note"), contract: "C-2", details: "note", effects: IngestEffects(note: note("second note", contract: "C-2"))),
                .rejected(line: 12, column: "contract", value: "", reason: "missing"),
                Self.update(13, .paymentCollected(amount: Self.pounds(1_000), on: LocalDate(daysSinceEpoch: 20_401), agentReference: "R4"),
                            contract: "C-2", details: "£10.00 collected"),
                .rejected(line: 14, column: "date", value: "31/02", reason: "not a date"),
            ], by: "ingest", at: now)
            let resumed = try #require(try await store.inboxFile(id: file.id))
            #expect([resumed.linesDone, resumed.applied, resumed.refused, resumed.rejected] == [14, 9, 2, 3])
            #expect(try await store.thirdPartyUpdates(fileId: file.id).map(\.line) == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 13])
            #expect(try await store.ingestRowErrors(fileId: file.id).map(\.line) == [3, 12, 14])
            #expect(try await store.outboxEntries(state: .pending).count == 4)
            #expect(try await store.paymentsInTransit(contractNumber: "C-2").map(\.agentReference) == ["R4"])
            #expect(try await store.ingestTotals() == IngestTotals(received: 11, rejected: 3, refused: 2))
            #expect(try await store.auditEntries().last.map(Self.line)
                    == "ingest inbox.batch inbox:\(file.id): lines 13–14: 1 applied, 0 refused by a guard, 1 rejected")
        }
    }

    @Test("a batch is all or nothing: a hold decided on a placement that changed meanwhile refuses it, and nothing of it is kept",
          arguments: StoreKind.available)
    func wholeBatches(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            let file = try await store.receiveInboxFile(delivery("dd44")).file
            let audited = try await store.auditEntries().count
            let stale = ContractHold(kind: .vulnerable, reason: "bereaved", setBy: "ingest:acme", setOn: today)
            let refusal = await #expect(throws: StoreError.self) {
                try await store.applyIngestBatch(fileId: file.id, throughLine: 3, rows: [
                    Self.update(1, .paymentCollected(amount: Self.pounds(5_000), on: today, agentReference: "R1"), details: "£50.00 collected"),
                    Self.update(2, .note("vulnerable"), details: "note", effects: IngestEffects(note: note("vulnerable"))),
                    .rejected(line: 3, column: "amount", value: "x", reason: "not an amount"),
                    Self.update(4, .status(.hold, on: today), details: "on hold",
                                effects: IngestEffects(hold: stale, placedWith: "acme")),
                ], by: "ingest", at: now)
            }
            #expect(refusal?.code == .changedMeanwhile)
            #expect(try await store.inboxFile(id: file.id) == file)
            #expect(try await store.thirdPartyUpdates(fileId: file.id).isEmpty)
            #expect(try await store.ingestRowErrors(fileId: file.id).isEmpty)
            #expect(try await store.outboxEntries(state: nil).isEmpty)
            #expect(try await store.ingestTotals() == IngestTotals(received: 0, rejected: 0, refused: 0))
            #expect(try await store.auditEntries().count == audited)

            let unknown = await #expect(throws: StoreError.self) {
                try await store.applyIngestBatch(fileId: file.id + 100, throughLine: 1, rows: [], by: "ingest", at: now)
            }
            #expect(unknown?.code == .wrongState)
            #expect(unknown?.description == "inbox delivery \(file.id + 100) is not waiting to be processed")
        }
    }

    @Test("an agent reporting a hold already active, set by a person or twice in one batch, makes no second hold or pause: the one standing is kept, and audited so",
          arguments: StoreKind.available)
    func holdsOnePerKind(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            try await store.upsertContract(sampleContract("C-2"))
            let bobs = ContractHold(kind: .deceased, reason: "death certificate seen", setBy: "bob", setOn: today)
            try await store.recordHold(bobs, contractNumber: "C-1", placedWith: nil, instruction: nil, at: now)
            let file = try await store.receiveInboxFile(delivery("ab12")).file
            func reported(_ line: Int, _ contract: String) -> IngestRow {
                Self.update(line, .status(.deceased, on: today), contract: contract, details: "customer deceased",
                            effects: IngestEffects(hold: ContractHold(kind: .deceased, reason: "acme reports: customer deceased (line \(line))",
                                                                      setBy: "agent:acme", setOn: today)))
            }
            try await store.applyIngestBatch(fileId: file.id, throughLine: 3, rows: [reported(1, "C-1"), reported(2, "C-2"), reported(3, "C-2")],
                                             by: "ingest", at: now)
            #expect(try await store.holds(contractNumber: "C-1") == [bobs])
            #expect(try await store.holds(contractNumber: "C-2").map(\.reason) == ["acme reports: customer deceased (line 2)"])
            // Every row is the agent's update, applied: what it said is kept whether or not it made the hold.
            #expect(try await store.thirdPartyUpdates(fileId: file.id).map(\.outcome) == ["applied", "applied", "applied"])
            let kept = try await store.auditEntries().filter { $0.action == "hold.kept" }
            #expect(kept.map(\.subject) == ["contract:C-1", "contract:C-2"])
            #expect(kept.first?.details.contains("the hold set on \(today) by bob stands (death certificate seen)") == true,
                    "\(kept.first?.details ?? "")")
        }
    }

    @Test("a delivery is finished once, processed or failed with its reason; a finished one takes no batch", arguments: StoreKind.available)
    func finishing(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let processed = try await store.receiveInboxFile(delivery("ee55")).file
            let failed = try await store.receiveInboxFile(delivery("ff66", name: "broken.xml")).file
            let later = now.adding(seconds: 90)
            try await store.applyIngestBatch(fileId: processed.id, throughLine: 1, rows: [
                Self.update(1, .note("called"), details: "note"),
            ], by: "ingest", at: now)
            try await store.finishInboxFile(id: processed.id, failure: nil, at: later)
            try await store.finishInboxFile(id: failed.id, failure: "truncated XML at byte 2048", at: later)

            var expectedProcessed = processed
            expectedProcessed.state = .processed
            expectedProcessed.linesDone = 1
            expectedProcessed.applied = 1
            expectedProcessed.finishedAt = later
            #expect(try await store.inboxFile(id: processed.id) == expectedProcessed)
            var expectedFailed = failed
            expectedFailed.state = .failed
            expectedFailed.failureReason = "truncated XML at byte 2048"
            expectedFailed.finishedAt = later
            #expect(try await store.inboxFile(id: failed.id) == expectedFailed)
            #expect(try await store.inboxFiles(agent: nil, state: .failed, limit: 10) == [expectedFailed])
            #expect(try await store.inboxFiles(agent: "acme", state: .processed, limit: 10) == [expectedProcessed])
            #expect(try await store.inboxFiles(agent: nil, state: .received, limit: 10).isEmpty)

            let again = await #expect(throws: StoreError.self) { try await store.finishInboxFile(id: processed.id, failure: "late", at: later) }
            #expect(again?.code == .wrongState)
            #expect(again?.description == "inbox delivery \(processed.id) is not waiting to be processed")
            let afterFinish = await #expect(throws: StoreError.self) {
                try await store.applyIngestBatch(fileId: failed.id, throughLine: 2, rows: [], by: "ingest", at: later)
            }
            #expect(afterFinish?.code == .wrongState)
            #expect(try await store.inboxFile(id: processed.id) == expectedProcessed)
            #expect(try await store.auditEntries().suffix(2).map(Self.line) == [
                "ingest inbox.processed inbox:\(processed.id): processed",
                "ingest inbox.failed inbox:\(failed.id): truncated XML at byte 2048",
            ])
        }
    }

    @Test("a contact change an agent traced is queued, and once MILES applied it the customer shows the new details and version",
          arguments: StoreKind.available)
    func contactChanges(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            let file = try await store.receiveInboxFile(delivery("gg77")).file
            let moved = PostalAddress(line1: "2 New Street", line2: nil, town: "York", postcode: "YO1 7HH", country: "GB")
            // The second of the customer's phones: it becomes the first, and is not kept twice.
            let change = ContactChange(id: 0, contractNumber: "C-1", partnerId: "P-C-1", expectedVersion: 1, address: moved, phone: "07700 900123",
                                       email: "ada@example.com", source: "acme trace", requestedBy: "ingest:acme", requestedAt: now)
            try await store.applyIngestBatch(fileId: file.id, throughLine: 1, rows: [
                Self.update(1, .traceResult(address: moved, phone: "07700 900123", email: "ada@example.com", on: today), details: "traced",
                            effects: IngestEffects(contactChange: change)),
            ], by: "ingest", at: now)

            let claimed = try await store.claimOutboxEntries(for: worker, now: now, leaseUntil: now.adding(seconds: 60), limit: 10,
                                                             isGone: { _ in false })
            let entry = try #require(claimed.first)
            #expect(claimed.count == 1)
            #expect(entry.kind == .updateContactDetails)
            try await store.markSending(entry, at: now)
            try await store.recordContactChangeApplied(entry, milesVersion: 7, at: now)

            let customer = try #require(try await store.contract(number: "C-1")?.customer)
            #expect(customer.address == moved)
            #expect(customer.phones == ["07700 900123", "0113 496 0000"])
            #expect(customer.email == "ada@example.com")
            #expect(customer.version == 7)
            let sent = try #require(try await store.outboxEntry(id: entry.id))
            #expect(sent.state == .sent)
            #expect(sent.resultReference == "partner version 7")
            guard case let .contactChange(applied)? = try await store.subjects(of: [sent])[sent.id] else {
                Issue.record("outbox entry \(sent.id) carries no contact change")
                return
            }
            #expect(applied.state == .applied)
            #expect(applied.milesVersion == 7)
            #expect(try await store.auditEntries().suffix(4).map(Self.line) == [
                "ingest:acme contact.requested partner:P-C-1: contact details change \(applied.id) from acme trace on partner version 1",
                "ingest inbox.batch inbox:\(file.id): lines 1–1: 1 applied, 0 refused by a guard, 0 rejected",
                "outbox-relay outbox.sending outbox:\(entry.id): push to MILES by w",
                "outbox-relay contact.applied partner:P-C-1: contact details change \(applied.id) applied in MILES as partner version 7",
            ])
        }
    }

    @Test("two processes applying the same batch at once store each row and queue each effect once", arguments: StoreKind.available)
    func racingBatches(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let other = try await subject.reopen()
            try await store.upsertContract(sampleContract("C-1"))
            let file = try await store.receiveInboxFile(delivery("hh88")).file
            let rows = [
                Self.update(1, .note("called"), details: "note", effects: IngestEffects(note: note("called"))),
                .rejected(line: 2, column: "amount", value: "x", reason: "not an amount"),
                Self.update(3, .status(.legalProcess, on: today), details: "legal process",
                            effects: IngestEffects(alert: RiskAlert(rule: "agentStatus", contractNumber: "C-1", facts: "legal"))),
            ]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for server in [store, other] {
                    group.addTask { try await server.applyIngestBatch(fileId: file.id, throughLine: 3, rows: rows, by: "ingest", at: now) }
                }
                try await group.waitForAll()
            }
            let applied = try #require(try await store.inboxFile(id: file.id))
            #expect([applied.linesDone, applied.applied, applied.refused, applied.rejected] == [3, 2, 0, 1])
            #expect(try await store.thirdPartyUpdates(fileId: file.id).map(\.line) == [1, 3])
            #expect(try await store.outboxEntries(state: nil).map(\.kind) == [.addContractNote])
            #expect(try await store.riskAlerts(includeAcknowledged: true, limit: 10).count == 1)
            #expect(try await store.auditEntries().filter { $0.action == "inbox.batch" }.map(\.details).sorted() == [
                "lines 1–3: 2 applied, 0 refused by a guard, 1 rejected",
                "lines 4–3: 0 applied, 0 refused by a guard, 0 rejected",
            ])
        }
    }

    @Test("notes a person queues while a delivery's batches queue theirs are each queued once, under their own reference",
          arguments: StoreKind.available)
    func notesMeanwhile(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let desk = try await subject.reopen()
            let file = try await store.receiveInboxFile(delivery("ii99")).file
            let batches = 5, perBatch = 20, byHand = 30
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for batch in 0..<batches {
                        let lines = (batch * perBatch + 1)...((batch + 1) * perBatch)
                        try await store.applyIngestBatch(fileId: file.id, throughLine: lines.upperBound, rows: lines.map { line in
                            Self.update(line, .note("line \(line)"), details: "note", effects: IngestEffects(note: note("line \(line)")))
                        }, by: "ingest", at: now)
                    }
                }
                group.addTask {
                    for count in 1...byHand { _ = try await desk.queueNote(note("by hand \(count)")) }
                }
                try await group.waitForAll()
            }
            let queued = try await store.outboxEntries(state: .pending)
            #expect(queued.count == batches * perBatch + byHand)
            #expect(Set(queued.map(\.subjectId)).count == queued.count)
            #expect(queued.allSatisfy { $0.kind == .addContractNote && $0.clientReference == $0.kind.clientReference(forSubject: $0.subjectId) })
            let texts = try await store.subjects(of: queued).values.compactMap { subject -> String? in
                guard case let .note(note) = subject else { return nil }
                return note.text
            }
            #expect(Set(texts) == Set((1...(batches * perBatch)).map { "line \($0)" } + (1...byHand).map { "by hand \($0)" }))
        }
    }
}
