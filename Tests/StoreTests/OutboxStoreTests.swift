import CollectionsDomain
import CollectionsStore
import TestSupport
import Testing

/// Write-off requests approved and queued, for the outbox tests: one per contract `C-1`, `C-2`, ...
func approvedWriteOffs(_ count: Int, in store: any WriteOffStore, at now: Timestamp) async throws -> [Int64] {
    var ids: [Int64] = []
    for index in 1...count {
        let request = NewWriteOffRequest(
            contractNumber: "C-\(index)", invoiceNumbers: ["INV-\(index)"], amount: Money(minorUnits: 10_000, currency: .gbp),
            reason: .uneconomicalToPursue, comment: "small balance", requiredRole: "teamLeader", approvalsNeeded: 1, matrixVersion: 1,
            customerMustBeTold: false, source: "tests")
        guard case .created(let id) = try await store.createWriteOffRequest(request, requestedBy: "ann", at: now) else {
            throw StoreError(.duplicate, input: request.contractNumber, "write-off for \(request.contractNumber) already requested")
        }
        try await store.recordApproval(requestId: id, approval: Approval(approver: "tom", role: "teamLeader", matrixVersion: 1, at: now, comment: nil),
                                       expectedApprovals: 0, isFinal: true)
        ids.append(id)
    }
    return ids
}

@Suite("Write-off requests and the outbox several workers share, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct OutboxStoreTests {
    let start = Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)
    let workerA = OutboxWorker(name: "worker-a", host: "machine-a", processId: 101)
    let workerB = OutboxWorker(name: "worker-b", host: "machine-b", processId: 202)
    let nobodyIsGone: @Sendable (OutboxWorker) -> Bool = { _ in false }

    func at(_ seconds: Int64) -> Timestamp { start.adding(milliseconds: seconds * 1000) }

    @Test("a write-off request is stored once, approved by two people in turn (a stale approval refused), queued once; a rejection only while waiting",
          arguments: StoreKind.available)
    func writeOffRequests(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let request = NewWriteOffRequest(
                contractNumber: "C-1", invoiceNumbers: ["INV-1", "INV-2"], amount: Money(minorUnits: 250_000, currency: .gbp),
                reason: .uneconomicalToPursue, comment: "deceased, no estate", requiredRole: "manager", approvalsNeeded: 2, matrixVersion: 3,
                customerMustBeTold: true, source: "workspace")
            // Two processes storing the same request at once: one request.
            let other = try await subject.reopen()
            async let mine = store.createWriteOffRequest(request, requestedBy: "ann", at: at(0))
            async let theirs = other.createWriteOffRequest(request, requestedBy: "ann", at: at(0))
            let creations = try await [mine, theirs]
            let ids = creations.map { creation -> Int64 in
                switch creation { case .created(let id), .alreadyRequested(let id): id }
            }
            #expect(Set(ids).count == 1)
            #expect(creations.filter { if case .created = $0 { true } else { false } }.count == 1)
            let id = try #require(ids.first)

            let first = Approval(approver: "tom", role: "manager", matrixVersion: 3, at: at(1), comment: "agreed")
            try await store.recordApproval(requestId: id, approval: first, expectedApprovals: 0, isFinal: false)
            let stale = Approval(approver: "una", role: "manager", matrixVersion: 3, at: at(2), comment: nil)
            await #expect(throws: StoreError.self) { try await store.recordApproval(requestId: id, approval: stale, expectedApprovals: 0, isFinal: true) }
            try await store.recordApproval(requestId: id, approval: stale, expectedApprovals: 1, isFinal: true)

            let approved = try #require(try await store.writeOffRequest(id: id))
            #expect(approved.state == .approved && approved.approvals.map(\.approver) == ["tom", "una"])
            #expect(approved.invoiceNumbers == ["INV-1", "INV-2"] && approved.amount == request.amount && approved.customerMustBeTold)
            #expect(approved.decidedAt == at(2) && approved.requestedAt == at(0) && approved.approvals.first?.comment == "agreed")
            #expect(try await store.writeOffRequests(contractNumber: "C-1").first { $0.state == .approved }?.id == id)
            #expect(try await store.writeOffRequests(state: .approved).map(\.id) == [id])
            #expect(try await store.writeOffRequests(state: nil).map(\.id) == [id])
            #expect(try await store.writeOffRequests(state: .posted).isEmpty)
            let entries = try await store.outboxEntries(state: .pending)
            #expect(entries.map(\.kind) == [.postWriteOff] && entries.map(\.clientReference) == [approved.clientReference])
            guard case .writeOff(let carried) = try await store.subjects(of: entries)[entries[0].id] else {
                Issue.record("the entry does not carry the write-off")
                return
            }
            #expect(carried == approved)

            await #expect(throws: StoreError.self) { try await store.rejectWriteOffRequest(id: id, by: "una", reason: "no", at: at(3)) }
            guard case .created(let second) = try await store.createWriteOffRequest(
                NewWriteOffRequest(contractNumber: "C-2", invoiceNumbers: [], amount: Money(minorUnits: 500, currency: .gbp), reason: .uneconomicalToPursue,
                                   comment: "", requiredRole: "agent", approvalsNeeded: 1, matrixVersion: 3, customerMustBeTold: false, source: "cli"),
                requestedBy: "ann", at: at(4)) else { Issue.record("a new request was not created"); return }
            try await store.rejectWriteOffRequest(id: second, by: "tom", reason: "pursue it", at: at(5))
            #expect(try await store.writeOffRequest(id: second)?.state == .rejected)
            #expect(try await store.writeOffRequest(id: second)?.invoiceNumbers == [])
            #expect(try await store.latestWriteOffRequests(limit: 1).map(\.id) == [second])
            #expect(try await store.auditEntries().map(\.action) == [
                "writeoff.requested", "writeoff.approved", "writeoff.approved", "outbox.queued", "writeoff.requested", "writeoff.rejected",
            ])
        }
    }

    @Test("an entry claimed by one worker is not claimed by another until the lease expires; then the first one's results are refused",
          arguments: StoreKind.available)
    func leaseExpiryAndFence(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            _ = try await approvedWriteOffs(3, in: store, at: at(0))

            let heldByA = try await store.claimOutboxEntries(for: workerA, now: at(0), leaseUntil: at(60), limit: 2, isGone: nobodyIsGone)
            #expect(heldByA.count == 2)
            #expect(heldByA.allSatisfy { $0.lease?.worker == workerA && $0.fence == 1 })
            #expect(try await store.outboxEntry(id: heldByA[0].id)?.lease == OutboxLease(worker: workerA, expiresAt: at(60)))
            let heldByB = try await store.claimOutboxEntries(for: workerB, now: at(1), leaseUntil: at(61), limit: 10, isGone: nobodyIsGone)
            #expect(heldByB.count == 1)
            #expect(Set(heldByB.map(\.id)).isDisjoint(with: heldByA.map(\.id)))
            #expect(try await store.claimOutboxEntries(for: workerB, now: at(59), leaseUntil: at(119), limit: 10, isGone: nobodyIsGone).isEmpty)
            #expect(try await store.outboxBacklog() == OutboxBacklog(waiting: 3, nextClaimAt: at(60)))
            #expect(try await store.renewOutboxLeases(heldByB, until: at(90)) == Set(heldByB.map(\.id)))

            try await store.markSending(heldByA[0], at: at(2))
            // A stops renewing (hung, or cut off from the store): at its lease's expiry B takes both over.
            let takenOver = try await store.claimOutboxEntries(for: workerB, now: at(60), leaseUntil: at(120), limit: 10, isGone: nobodyIsGone)
            #expect(takenOver.map(\.id) == heldByA.map(\.id))
            #expect(takenOver.allSatisfy { $0.fence == 2 && $0.lease?.worker == workerB })
            #expect(takenOver[0].state == .sending && takenOver[0].attempts == 1)
            let audits = try await store.auditEntries().filter { $0.action == "outbox.lease-taken-over" }
            #expect(audits.map(\.subject) == heldByA.map { "outbox:\($0.id)" })
            #expect(audits.allSatisfy { $0.actor == "worker-b" && $0.details.contains("from worker-a") && $0.details.contains("lease expired") })

            // A comes back with MILES's answer: nothing it saw is recorded, and B's claim stands.
            let posted = PostedWriteOff(writeOffId: "MW-1", clientReference: heldByA[0].clientReference, contractNumber: "C-1",
                                        amount: Money(minorUnits: 10_000, currency: .gbp), reasonCode: "UNEC", postedAt: at(61), contractVersion: 2)
            await #expect(throws: StoreError.self) { try await store.recordWriteOffPosted(heldByA[0], posted: posted, at: at(61)) }
            do {
                try await store.recordRetry(heldByA[1], error: "late", nextAttemptAt: at(61), at: at(61))
                Issue.record("a worker whose lease was taken over recorded a retry")
            } catch let error as StoreError {
                #expect(error.code == .leaseLost)
                #expect(error.input == "outbox entry \(heldByA[1].id)")
            }
            #expect(try await store.renewOutboxLeases(heldByA, until: at(180)).isEmpty)
            #expect(try await store.outboxEntry(id: heldByA[0].id)?.state == .sending)
            #expect(try await store.outboxEntry(id: heldByA[0].id)?.resultReference == nil)
            #expect(try await store.writeOffRequests(state: .posted).isEmpty)

            try await store.recordWriteOffPosted(takenOver[0], posted: posted, at: at(62))
            let sent = try #require(try await store.outboxEntry(id: heldByA[0].id))
            #expect(sent.state == .sent && sent.lease == nil && sent.resultReference == "MW-1")
            #expect(try await store.writeOffRequests(state: .posted).map(\.milesWriteOffId) == ["MW-1"])
            try await store.recordDeadLetter(takenOver[1], reason: "MILES refused: contract closed", cause: .refusedByMiles, at: at(63))
            #expect(try await store.writeOffRequest(id: takenOver[1].subjectId)?.failureReason == "MILES refused: contract closed")
            try await store.retryOutboxEntry(id: takenOver[1].id, by: "carol", at: at(64))
            #expect(try await store.writeOffRequest(id: takenOver[1].subjectId)?.state == .approved)
            #expect(try await store.outboxCounts() == [.sent: 1, .pending: 2])
            #expect(try await store.verifyAudit() == .intact(entries: try await store.auditEntries().count))
        }
    }

    @Test("a holder known to have ended is taken over at once; a live one's entries wait, and a released entry is free at once",
          arguments: StoreKind.available)
    func endedHolderAndRelease(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            _ = try await approvedWriteOffs(2, in: store, at: at(0))
            let heldByA = try await store.claimOutboxEntries(for: workerA, now: at(0), leaseUntil: at(60), limit: 1, isGone: nobodyIsGone)
            let heldByB = try await store.claimOutboxEntries(for: workerB, now: at(0), leaseUntil: at(60), limit: 1, isGone: nobodyIsGone)
            #expect(heldByA.count == 1 && heldByB.count == 1)

            let third = OutboxWorker(name: "worker-c", host: "machine-a", processId: 303)
            let taken = try await store.claimOutboxEntries(for: third, now: at(0), leaseUntil: at(60), limit: 10, isGone: { $0 == workerA })
            #expect(taken.map(\.id) == heldByA.map(\.id))
            #expect(try await store.auditEntries().last { $0.action == "outbox.lease-taken-over" }?.details.contains("process had ended") == true)

            try await store.releaseOutboxLeases(heldByB)
            #expect(try await store.claimOutboxEntries(for: third, now: at(0), leaseUntil: at(60), limit: 10, isGone: nobodyIsGone).map(\.id)
                    == heldByB.map(\.id))
        }
    }

    @Test("a person skipping an entry a worker holds fences the worker out, and its write-off is no longer on its way (failed, with why); a retry only of what was set aside, which queues it again",
          arguments: StoreKind.available)
    func skipFencesOutTheWorker(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            let request = try #require(try await approvedWriteOffs(1, in: store, at: at(0)).first)
            #expect(try await store.reliefInFlight(contractNumbers: ["C-1"])["C-1"]?.map(\.kind) == [.writeOff])
            let held = try #require(try await store.claimOutboxEntries(for: workerA, now: at(0), leaseUntil: at(60), limit: 1,
                                                                       isGone: nobodyIsGone).first)
            await #expect(throws: StoreError.self) { try await store.retryOutboxEntry(id: held.id, by: "carol", at: at(1)) }
            try await store.skipOutboxEntry(id: held.id, by: "carol", reason: "customer paid in full", at: at(1))
            await #expect(throws: StoreError.self) { try await store.markSending(held, at: at(2)) }
            await #expect(throws: StoreError.self) { try await store.skipOutboxEntry(id: held.id, by: "carol", reason: "again", at: at(2)) }
            let skipped = try #require(try await store.outboxEntry(id: held.id))
            #expect(skipped.state == .skipped && skipped.attempts == 0 && skipped.lastError == "customer paid in full")
            #expect(try await store.auditEntries().last?.action == "outbox.skipped")
            // Set aside, it no longer waits for MILES: not the contract's write-off on its way, nor relief in flight.
            let failed = try #require(try await store.writeOffRequest(id: request))
            #expect(failed.state == .failed && failed.failureReason == "set aside by carol: customer paid in full")
            #expect(try await store.writeOffRequests(contractNumber: "C-1").map(\.state) == [.failed])
            #expect(try await store.reliefInFlight(contractNumbers: ["C-1"]).isEmpty)
            try await store.retryOutboxEntry(id: held.id, by: "carol", at: at(3))
            #expect(try await store.writeOffRequest(id: request)?.state == .approved)
            #expect(try await store.outboxEntry(id: held.id)?.state == .pending)
        }
    }

    @Test("a failed write-off is not queued again while another on its contract waits; once that one is rejected it is", arguments: StoreKind.available)
    func retryOfAFailedWriteOff(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let first = try #require(try await approvedWriteOffs(1, in: store, at: at(0)).first)
            let entry = try #require(try await store.claimOutboxEntries(for: workerA, now: at(0), leaseUntil: at(60), limit: 1,
                                                                        isGone: nobodyIsGone).first)
            try await store.recordDeadLetter(entry, reason: "INVALID_REQUEST: refused", cause: .refusedByMiles, at: at(1))
            #expect(try await store.writeOffRequest(id: first)?.state == .failed)
            // A failed request is not open: another may be raised for the contract.
            let again = NewWriteOffRequest(
                contractNumber: "C-1", invoiceNumbers: ["INV-1"], amount: Money(minorUnits: 5_000, currency: .gbp), reason: .uneconomicalToPursue,
                comment: "half of it", requiredRole: "teamLeader", approvalsNeeded: 1, matrixVersion: 1, customerMustBeTold: true, source: "tests")
            guard case .created(let second) = try await store.createWriteOffRequest(again, requestedBy: "ann", at: at(2)) else {
                Issue.record("the second request was not created")
                return
            }
            let refused = await #expect(throws: StoreError.self) { try await store.retryOutboxEntry(id: entry.id, by: "carol", at: at(3)) }
            #expect(refused?.description.contains("write-off request \(second) is pendingApproval") == true,
                    "\(refused.map(String.init(describing:)) ?? "")")
            #expect(try await store.writeOffRequest(id: first)?.state == .failed)
            try await store.rejectWriteOffRequest(id: second, by: "tom", reason: "raised twice", at: at(4))
            try await store.retryOutboxEntry(id: entry.id, by: "carol", at: at(5))
            #expect(try await store.writeOffRequest(id: first)?.state == .approved)
        }
    }

    @Test("workers in two processes claiming at once take every entry once between them", arguments: StoreKind.available)
    func concurrentClaims(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let ids = try await approvedWriteOffs(40, in: store, at: at(0))
            let other = try await subject.reopen()
            let workers = [(store as any OutboxStore, workerA), (other, workerB), (store, OutboxWorker(name: "worker-c", host: "machine-a", processId: 303)),
                           (other, OutboxWorker(name: "worker-d", host: "machine-b", processId: 404))]
            let claims = try await withThrowingTaskGroup(of: [OutboxEntry].self) { group in
                for (claimer, worker) in workers {
                    group.addTask {
                        var mine: [OutboxEntry] = []
                        while true {
                            let batch = try await claimer.claimOutboxEntries(for: worker, now: at(1), leaseUntil: at(60), limit: 3, isGone: nobodyIsGone)
                            if batch.isEmpty { return mine }
                            mine += batch
                        }
                    }
                }
                return try await group.reduce(into: [[OutboxEntry]]()) { $0.append($1) }
            }
            let claimed = claims.flatMap { $0 }
            #expect(claimed.count == ids.count)
            #expect(Set(claimed.map(\.subjectId)) == Set(ids))
            #expect(claimed.allSatisfy { $0.fence == 1 })
        }
    }

    @Test("after a version conflict, the version to re-send against is recorded only by the worker that still holds the entry",
          arguments: StoreKind.available)
    func versionConflictIsFenced(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1", version: 4))
            let changeId = try await store.queueStatusChange(StatusChange(
                id: 0, contractNumber: "C-1", to: .inArrears, reasonCode: "ARRS", effectiveDate: LocalDate(daysSinceEpoch: 20_400),
                courtOrderReference: nil, expectedVersion: 4, requestedBy: "bob", requestedAt: at(0), state: .queued, overrides: []))
            let heldByA = try #require(try await store.claimOutboxEntries(for: workerA, now: at(0), leaseUntil: at(60), limit: 1, isGone: nobodyIsGone).first)
            let heldByB = try #require(try await store.claimOutboxEntries(for: workerB, now: at(60), leaseUntil: at(120), limit: 1, isGone: nobodyIsGone).first)
            #expect(heldByA.subjectId == changeId)
            await #expect(throws: StoreError.self) {
                try await store.recordVersionConflictRetry(heldByA, version: 99, error: "conflict", nextAttemptAt: at(61), at: at(61))
            }
            #expect(try await store.statusChange(id: changeId)?.expectedVersion == 4)
            try await store.recordVersionConflictRetry(heldByB, version: 5, error: "conflict", nextAttemptAt: at(62), at: at(62))
            #expect(try await store.statusChange(id: changeId)?.expectedVersion == 5)
            let waiting = try #require(try await store.outboxEntry(id: heldByB.id))
            #expect(waiting.state == .pending && waiting.nextAttemptAt == at(62) && waiting.lastError == "conflict" && waiting.lease == nil)
        }
    }
}
