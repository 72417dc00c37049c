import CollectionsDomain
import CollectionsStore
import TestSupport
import Testing

/// Claims the pending entry carrying `kind` for record `subject` and marks it sending, as a push
/// worker would; the other entries it claimed are let go.
func claimSending(_ kind: OutboxKind, subject: Int64, in store: any OutboxStore, at now: Timestamp) async throws -> OutboxEntry {
    let claimed = try await store.claimOutboxEntries(for: OutboxWorker(name: "w", host: "h", processId: 1), now: now,
                                                     leaseUntil: now.adding(seconds: 60), limit: 100, isGone: { _ in false })
    let entry = try #require(claimed.first { $0.kind == kind && $0.subjectId == subject })
    try await store.releaseOutboxLeases(claimed.filter { $0.id != entry.id })
    try await store.markSending(entry, at: now)
    return entry
}

/// The `StoreError` kind `body` threw; nil if it threw none, or something else.
func storeRefusal(_ body: () async throws -> some Any) async -> StoreErrorCode? {
    do {
        _ = try await body()
        return nil
    } catch {
        return (error as? StoreError)?.code
    }
}

/// Runs `first` and `second` at once, as two processes would: what each returned or threw, in the order they ended.
func racing<T: Sendable>(_ first: @escaping @Sendable () async throws -> T, _ second: @escaping @Sendable () async throws -> T) async
    -> [Result<T, any Error>] {
    await withTaskGroup(of: Result<T, any Error>.self) { group in
        for body in [first, second] {
            group.addTask {
                do { return .success(try await body()) } catch { return .failure(error) }
            }
        }
        return await group.reduce(into: []) { $0.append($1) }
    }
}

/// How many of `outcomes` succeeded, and how many failed with a `StoreError` of kind `code`.
func tally<T>(_ outcomes: [Result<T, any Error>], refusedWith code: StoreErrorCode) -> (succeeded: Int, refused: Int) {
    (outcomes.filter { if case .success = $0 { true } else { false } }.count,
     outcomes.filter { if case .failure(let error) = $0 { (error as? StoreError)?.code == code } else { false } }.count)
}

@Suite("Credit notes and write-off reversals, their approvals and rejections, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct CreditStoreTests {
    let start = Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)

    func at(_ seconds: Int64) -> Timestamp { start.adding(seconds: seconds) }

    func gbp(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: .gbp) }

    func creditNote(_ contractNumber: String, invoices: [String] = ["INV-2", "INV-1"], amount: Int64 = 12_500, reason: String = "BILLING",
                    approvalsNeeded: Int = 2) -> NewCreditNote {
        NewCreditNote(contractNumber: contractNumber, invoiceNumbers: invoices, amount: gbp(amount), reasonCode: reason,
                      comment: "charged twice", requiredRole: "teamLeader", approvalsNeeded: approvalsNeeded, matrixVersion: 4)
    }

    func reversal(of writeOff: Int64, amount: Int64, reason: String = "PAID") -> NewWriteOffReversal {
        NewWriteOffReversal(writeOffRequestId: writeOff, amount: gbp(amount), reasonCode: reason, comment: "the customer paid after all",
                            requiredRole: "manager", approvalsNeeded: 1, matrixVersion: 4)
    }

    func approval(_ approver: String, at time: Timestamp, comment: String? = nil) -> Approval {
        Approval(approver: approver, role: "teamLeader", matrixVersion: 4, at: time, comment: comment)
    }

    /// The id a creation stored or found.
    func storedId(_ creation: RequestCreation) -> Int64 {
        switch creation { case .created(let id), .alreadyRequested(let id): id }
    }

    func isCreated(_ creation: RequestCreation) -> Bool {
        if case .created = creation { true } else { false }
    }

    /// A write-off of `amount` on `contractNumber`, approved, queued and posted in MILES.
    func postedWriteOff(_ contractNumber: String, amount: Int64, in store: any WriteOffStore & OutboxStore) async throws -> Int64 {
        let request = NewWriteOffRequest(contractNumber: contractNumber, invoiceNumbers: ["INV-9"], amount: gbp(amount),
                                         reason: .uneconomicalToPursue, comment: "small balance", requiredRole: "manager", approvalsNeeded: 1,
                                         matrixVersion: 4, customerMustBeTold: false, source: "tests")
        let id = storedId(try await store.createWriteOffRequest(request, requestedBy: "ann", at: at(0)))
        try await store.recordApproval(requestId: id, approval: approval("tom", at: at(1)), expectedApprovals: 0, isFinal: true)
        let entry = try await claimSending(.postWriteOff, subject: id, in: store, at: at(2))
        try await store.recordWriteOffPosted(entry, posted: PostedWriteOff(
            writeOffId: "MWO-\(id)", clientReference: entry.clientReference, contractNumber: contractNumber, amount: gbp(amount),
            reasonCode: "UNEC", postedAt: at(2), contractVersion: 2), at: at(2))
        return id
    }

    @Test("a credit note is stored once while open, approved by two in turn (a stale approval refused), queued and posted; audited",
          arguments: StoreKind.available)
    func creditNotes(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let created = try await store.createCreditNote(creditNote("C-1"), requestedBy: "ann", at: at(0))
            #expect(isCreated(created))
            let id = storedId(created)
            // The same invoices in another order are the same credit note.
            #expect(try await store.createCreditNote(creditNote("C-1", invoices: ["INV-1", "INV-2"]), requestedBy: "bob", at: at(1))
                    == .alreadyRequested(id: id))
            let otherReason = storedId(try await store.createCreditNote(creditNote("C-1", reason: "GOODWILL", approvalsNeeded: 1),
                                                                        requestedBy: "ann", at: at(1)))
            #expect(otherReason != id)

            let stored = try #require(try await store.creditNote(id: id))
            #expect(stored == CreditNoteRequest(
                id: id, contractNumber: "C-1", invoiceNumbers: ["INV-1", "INV-2"], amount: gbp(12_500), reasonCode: "BILLING",
                comment: "charged twice",
                trail: ApprovalTrail(requestedBy: "ann", requestedAt: at(0), state: .pendingApproval, requiredRole: "teamLeader", approvalsNeeded: 2,
                                     matrixVersion: 4)))
            #expect(try await store.creditNote(id: 999) == nil)
            #expect(try await store.creditNotes(state: .pendingApproval).map(\.id) == [id, otherReason])

            try await store.recordApproval(of: .raiseCreditNote, id: id, approval: approval("tom", at: at(2), comment: "checked"),
                                           expectedApprovals: 0, isFinal: false)
            #expect(try await store.creditNote(id: id)?.trail.state == .pendingApproval)
            #expect(await storeRefusal {
                try await store.recordApproval(of: .raiseCreditNote, id: id, approval: approval("una", at: at(3)), expectedApprovals: 0,
                                               isFinal: true)
            } == .changedMeanwhile)
            try await store.recordApproval(of: .raiseCreditNote, id: id, approval: approval("una", at: at(3)), expectedApprovals: 1, isFinal: true)
            let approved = try #require(try await store.creditNote(id: id))
            #expect(approved.trail.state == .approved && approved.trail.decidedAt == at(3))
            #expect(approved.trail.approvals == [approval("tom", at: at(2), comment: "checked"), approval("una", at: at(3))])
            #expect(try await store.createCreditNote(creditNote("C-1"), requestedBy: "ann", at: at(4)) == .alreadyRequested(id: id))
            #expect(try await store.creditNotes(state: .approved).map(\.id) == [id])
            #expect(await storeRefusal { try await store.reject(.raiseCreditNote, id: id, by: "una", reason: "no", at: at(4)) } == .wrongState)

            let entries = try await store.outboxEntries(state: .pending)
            #expect(entries.map(\.kind) == [.raiseCreditNote] && entries.map(\.clientReference) == ["CN-\(id)"] && entries.map(\.subjectId) == [id])
            guard case .creditNote(let carried)? = try await store.subjects(of: entries)[entries[0].id] else {
                Issue.record("the entry does not carry the credit note")
                return
            }
            #expect(carried == approved)

            let entry = try await claimSending(.raiseCreditNote, subject: id, in: store, at: at(5))
            try await store.recordCreditPosted(entry, posted: PostedCredit(
                milesId: "MCN-7", clientReference: entry.clientReference, contractNumber: "C-1", amount: gbp(12_500), reasonCode: "BILLING",
                postedAt: at(5), contractVersion: 3), at: at(6))
            let posted = try #require(try await store.creditNote(id: id))
            #expect(posted.trail.state == .posted && posted.trail.milesReference == "MCN-7")
            #expect(try await store.outboxEntry(id: entry.id)?.state == .sent)
            // Posted, it is no longer open: the same credit can be asked for again.
            #expect(isCreated(try await store.createCreditNote(creditNote("C-1"), requestedBy: "ann", at: at(7))))

            let audited = try await store.auditEntries()
            #expect(audited.map(\.action) == ["credit.requested", "credit.requested", "credit.approved", "credit.approved", "outbox.queued",
                                              "outbox.sending", "credit.posted", "credit.requested"])
            #expect(audited[0].subject == "credit:\(id)" && audited[0].details
                    == "contract C-1, \(gbp(12_500)), reason BILLING, invoices INV-1,INV-2, needs teamLeader x2 (matrix v4): charged twice")
            #expect(audited[2].details == "as teamLeader under matrix v4, first of two: checked")
            #expect(audited[3].actor == "una" && audited[3].details == "as teamLeader under matrix v4, final approval")
            #expect(audited[4].subject == "outbox:\(entry.id)" && audited[4].details == "RaiseCreditNote CN-\(id)")
            #expect(audited[6].subject == "credit:\(id)" && audited[6].actor == "outbox-relay")
            #expect(try await store.verifyAudit() == .intact(entries: 8))
        }
    }

    @Test("a credit note or a reversal is rejected only while waiting, and then approves no more; kinds other than credits are refused",
          arguments: StoreKind.available)
    func rejections(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let credit = storedId(try await store.createCreditNote(creditNote("C-1"), requestedBy: "ann", at: at(0)))
            try await store.reject(.raiseCreditNote, id: credit, by: "tom", reason: "not a billing error", at: at(1))
            let rejected = try #require(try await store.creditNote(id: credit))
            #expect(rejected.trail.state == .rejected && rejected.trail.rejection == "not a billing error" && rejected.trail.decidedAt == at(1))
            #expect(try await store.creditNotes(state: .rejected).map(\.id) == [credit])
            #expect(try await store.creditNotes(state: .pendingApproval).isEmpty)
            #expect(await storeRefusal { try await store.reject(.raiseCreditNote, id: credit, by: "tom", reason: "again", at: at(2)) } == .wrongState)
            #expect(await storeRefusal { try await store.reject(.raiseCreditNote, id: 999, by: "tom", reason: "nothing", at: at(2)) } == .wrongState)
            #expect(await storeRefusal {
                try await store.recordApproval(of: .raiseCreditNote, id: credit, approval: approval("una", at: at(2)), expectedApprovals: 0,
                                               isFinal: true)
            } == .changedMeanwhile)
            // Rejected, it is no longer open: the same credit can be asked for again.
            #expect(isCreated(try await store.createCreditNote(creditNote("C-1"), requestedBy: "ann", at: at(3))))

            let writeOff = try await postedWriteOff("C-2", amount: 10_000, in: store)
            let reversalId = storedId(try await store.createWriteOffReversal(reversal(of: writeOff, amount: 4_000), requestedBy: "ann", at: at(4)))
            try await store.reject(.reverseWriteOff, id: reversalId, by: "tom", reason: "the payment bounced", at: at(5))
            #expect(try await store.writeOffReversal(id: reversalId)?.trail.state == .rejected)
            #expect(try await store.writeOffReversals(state: .rejected).map(\.id) == [reversalId])
            // A contract's page lists its records in any state, newest first.
            #expect(try await store.writeOffReversals(contractNumber: "C-2").map(\.id) == [reversalId])
            #expect(try await store.writeOffReversals(contractNumber: "C-1").isEmpty)
            let onC1 = try await store.creditNotes(state: nil).filter { $0.contractNumber == "C-1" }.map(\.id)
            #expect(onC1.count == 2 && onC1.contains(credit))
            #expect(try await store.creditNotes(contractNumber: "C-1").map(\.id) == onC1.sorted(by: >))
            #expect(try await store.writeOffRequests(contractNumber: "C-2").map(\.id) == [writeOff])
            #expect(await storeRefusal { try await store.reject(.reverseWriteOff, id: reversalId, by: "tom", reason: "again", at: at(6)) }
                    == .wrongState)
            #expect(await storeRefusal { try await store.reject(.postWriteOff, id: writeOff, by: "tom", reason: "not a credit", at: at(6)) }
                    == .wrongState)
            #expect(await storeRefusal {
                try await store.recordApproval(of: .createPaymentArrangement, id: 1, approval: approval("una", at: at(6)), expectedApprovals: 0,
                                               isFinal: true)
            } == .wrongState)
            #expect(try await store.outboxEntries(state: .pending).isEmpty)
            let audited = try await store.auditEntries()
            #expect(audited.filter { $0.action.hasSuffix(".rejected") }.map { [$0.action, $0.subject, $0.actor, $0.details] }
                    == [["credit.rejected", "credit:\(credit)", "tom", "not a billing error"],
                        ["reversal.rejected", "reversal:\(reversalId)", "tom", "the payment bounced"]])
        }
    }

    @Test("a reversal needs a posted write-off, is stored once while open, never reverses more than was written off, and is approved and posted",
          arguments: StoreKind.available)
    func reversals(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            #expect(await storeRefusal { try await store.createWriteOffReversal(reversal(of: 999, amount: 100), requestedBy: "ann", at: at(0)) }
                    == .notFound)
            let waiting = storedId(try await store.createWriteOffRequest(NewWriteOffRequest(
                contractNumber: "C-3", invoiceNumbers: [], amount: gbp(5_000), reason: .insolvency, comment: "", requiredRole: "manager",
                approvalsNeeded: 1, matrixVersion: 4, customerMustBeTold: false, source: "tests"), requestedBy: "ann", at: at(0)))
            #expect(await storeRefusal { try await store.createWriteOffReversal(reversal(of: waiting, amount: 100), requestedBy: "ann", at: at(0)) }
                    == .wrongState)

            let writeOff = try await postedWriteOff("C-1", amount: 10_000, in: store)
            let auditedBefore = try await store.auditEntries().count
            let created = try await store.createWriteOffReversal(reversal(of: writeOff, amount: 6_000), requestedBy: "ann", at: at(3))
            #expect(isCreated(created))
            let first = storedId(created)
            #expect(try await store.createWriteOffReversal(reversal(of: writeOff, amount: 6_000), requestedBy: "bob", at: at(4))
                    == .alreadyRequested(id: first))
            #expect(await storeRefusal {
                try await store.createWriteOffReversal(reversal(of: writeOff, amount: 4_001, reason: "ERROR"), requestedBy: "ann", at: at(4))
            } == .wrongState)
            let second = storedId(try await store.createWriteOffReversal(reversal(of: writeOff, amount: 4_000, reason: "ERROR"), requestedBy: "ann",
                                                                         at: at(4)))
            #expect(second != first)
            #expect(try await store.writeOffReversal(id: first) == WriteOffReversal(
                id: first, writeOffRequestId: writeOff, milesWriteOffId: "MWO-\(writeOff)", contractNumber: "C-1", amount: gbp(6_000),
                reasonCode: "PAID", comment: "the customer paid after all",
                trail: ApprovalTrail(requestedBy: "ann", requestedAt: at(3), state: .pendingApproval, requiredRole: "manager", approvalsNeeded: 1,
                                     matrixVersion: 4)))
            #expect(try await store.writeOffReversal(id: 999) == nil)
            #expect(try await store.writeOffReversals(state: .pendingApproval).map(\.id) == [first, second])
            #expect(try await store.writeOffReversals(state: nil).map(\.id) == [first, second])

            try await store.recordApproval(of: .reverseWriteOff, id: first, approval: approval("tom", at: at(5)), expectedApprovals: 0, isFinal: true)
            #expect(try await store.writeOffReversal(id: first)?.trail.state == .approved)
            let entries = try await store.outboxEntries(state: .pending)
            #expect(entries.map(\.kind) == [.reverseWriteOff] && entries.map(\.clientReference) == ["WR-\(first)"])
            let entry = try await claimSending(.reverseWriteOff, subject: first, in: store, at: at(6))
            try await store.recordCreditPosted(entry, posted: PostedCredit(
                milesId: "MWR-1", clientReference: entry.clientReference, contractNumber: "C-1", amount: gbp(6_000), reasonCode: "PAID",
                postedAt: at(6), contractVersion: 4), at: at(7))
            let posted = try #require(try await store.writeOffReversal(id: first))
            #expect(posted.trail.state == .posted && posted.trail.milesReference == "MWR-1")
            #expect(try await store.writeOffReversals(state: .posted).map(\.id) == [first])
            // Posted reversals still count: nothing is left to reverse.
            #expect(await storeRefusal {
                try await store.createWriteOffReversal(reversal(of: writeOff, amount: 1, reason: "OTHER"), requestedBy: "ann", at: at(8))
            } == .wrongState)

            let audited = Array(try await store.auditEntries().dropFirst(auditedBefore))
            #expect(audited.map(\.action) == ["reversal.requested", "reversal.requested", "reversal.approved", "outbox.queued", "outbox.sending",
                                              "reversal.posted"])
            #expect(audited[0].subject == "reversal:\(first)" && audited[0].details
                    == "write-off request \(writeOff) (MILES MWO-\(writeOff)) on C-1, \(gbp(6_000)), reason PAID, needs manager x1 (matrix v4): "
                    + "the customer paid after all")
            #expect(audited[3].details == "ReverseWriteOff WR-\(first)")
        }
    }

    @Test("from two stores at once: a credit note is stored once, two reversals never reverse too much, two approvers record one approval",
          arguments: StoreKind.available)
    func races(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let other = try await subject.reopen()
            let rounds = 4
            for round in 1...rounds {
                let credit = creditNote("C-\(round)")
                let creations = try await racing({ try await store.createCreditNote(credit, requestedBy: "ann", at: self.at(0)) },
                                                 { try await other.createCreditNote(credit, requestedBy: "bob", at: self.at(0)) })
                    .map { try $0.get() }
                #expect(Set(creations.map(storedId)).count == 1 && creations.filter(isCreated).count == 1)
            }

            let writeOff = try await postedWriteOff("C-9", amount: 10_000, in: store)
            for round in 1...rounds {
                let mine = reversal(of: writeOff, amount: 6_000, reason: "A\(round)")
                let theirs = reversal(of: writeOff, amount: 6_000, reason: "B\(round)")
                let outcomes = await racing({ try await store.createWriteOffReversal(mine, requestedBy: "ann", at: self.at(3)) },
                                            { try await other.createWriteOffReversal(theirs, requestedBy: "bob", at: self.at(3)) })
                #expect(tally(outcomes, refusedWith: .wrongState) == (1, 1))
                let waiting = try await store.writeOffReversals(state: .pendingApproval)
                #expect(waiting.count == 1)
                for reversal in waiting {
                    try await store.reject(.reverseWriteOff, id: reversal.id, by: "tom", reason: "round \(round)", at: at(4))
                }
            }

            let credits = try await store.creditNotes(state: .pendingApproval)
            #expect(credits.count == rounds)
            for credit in credits {
                let (tom, una) = (approval("tom", at: at(5)), approval("una", at: at(5)))
                let outcomes = await racing(
                    { try await store.recordApproval(of: .raiseCreditNote, id: credit.id, approval: tom, expectedApprovals: 0, isFinal: false) },
                    { try await other.recordApproval(of: .raiseCreditNote, id: credit.id, approval: una, expectedApprovals: 0, isFinal: false) })
                #expect(tally(outcomes, refusedWith: .changedMeanwhile) == (1, 1))
                #expect(try await store.creditNote(id: credit.id)?.trail.approvals.count == 1)
            }
            #expect(try await store.verifyAudit() == .intact(entries: try await store.auditEntries().count))
        }
    }
}
