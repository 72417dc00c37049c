import CollectionsDomain
import CollectionsStore
import TestSupport
import Testing

@Suite("Payment arrangements from proposal to their end, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct ArrangementStoreTests {
    let start = Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)
    let firstDue = LocalDate(daysSinceEpoch: 20_800)

    func at(_ seconds: Int64) -> Timestamp { start.adding(seconds: seconds) }

    func gbp(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: .gbp) }

    func monthlyPlan(_ contractNumber: String) throws -> PaymentArrangement {
        try PaymentArrangement(contractNumber: contractNumber, frequency: .monthly, instalments: [
            PaymentArrangement.Instalment(dueDate: firstDue, amount: gbp(5_000)),
            PaymentArrangement.Instalment(dueDate: firstDue.adding(months: 1), amount: gbp(5_000)),
            PaymentArrangement.Instalment(dueDate: firstDue.adding(months: 2), amount: gbp(2_500)),
        ])
    }

    func proposal(_ plan: PaymentArrangement, approvalsNeeded: Int = 1, isTokenPlan: Bool = false) -> NewArrangement {
        NewArrangement(
            plan: plan,
            assessment: ArrangementPolicy.Assessment(requiredRole: CollectionsRole(name: "teamLeader", rank: 1), approvalsNeeded: approvalsNeeded,
                                                     reduction: gbp(plan.isSettlement ? 1_500 : 0), termMonths: 3, isTokenPlan: isTokenPlan,
                                                     matrixVersion: 5),
            income: IncomeAndExpenditure(monthlyIncome: gbp(210_000), monthlyExpenditure: gbp(190_000), recordedOn: firstDue.adding(days: -10),
                                         recordedBy: "ann"))
    }

    func approval(_ approver: String, at time: Timestamp, comment: String? = nil) -> Approval {
        Approval(approver: approver, role: "teamLeader", matrixVersion: 5, at: time, comment: comment)
    }

    func statusChange(_ contractNumber: String, to status: ContractStatus, at time: Timestamp) -> StatusChange {
        StatusChange(id: 0, contractNumber: contractNumber, to: status, reasonCode: "PPBR", effectiveDate: time.date, courtOrderReference: nil,
                     expectedVersion: 3, requestedBy: "tom", requestedAt: time, state: .queued, overrides: [])
    }

    /// An arrangement for `contractNumber`, approved, and created in MILES through its claimed entry.
    func activeArrangement(_ contractNumber: String, in store: any ArrangementStore & OutboxStore, at time: Timestamp) async throws -> Int64 {
        let id = try await store.createArrangement(proposal(try monthlyPlan(contractNumber)), proposedBy: "ann", at: time)
        try await store.recordArrangementApproval(id: id, approval: approval("tom", at: time), expectedApprovals: 0, isFinal: true)
        let entry = try await claimSending(.createPaymentArrangement, subject: id, in: store, at: time)
        try await store.recordArrangementCreated(entry, created: CreatedArrangement(arrangementId: "MAR-\(id)", paidBefore: gbp(600_000)), at: time)
        return id
    }

    /// The cancellation reason the outbox entry cancelling arrangement `id` carries, if one is pending.
    func pendingCancellation(of id: Int64, in store: any OutboxStore) async throws -> String? {
        let entries = try await store.outboxEntries(state: .pending).filter { $0.kind == .cancelPaymentArrangement && $0.subjectId == id }
        guard let entry = entries.first, case .arrangement(_, let cancellation)? = try await store.subjects(of: [entry])[entry.id] else { return nil }
        return cancellation
    }

    @Test("a proposal is read back as proposed, takes up the agents' reports, is its contract's only one; approved by two in turn, created in MILES",
          arguments: StoreKind.available)
    func proposeAndApprove(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.execute("""
                INSERT INTO reported_arrangements (contract_number, agent, reported_on, details, source) VALUES
                    ('C-1', 'acme', 20790, 'agreed £50 a month', 'acme.csv:3'), ('C-1', 'acme', 20791, 'agreed £50 a month again', 'acme.csv:9'),
                    ('C-2', 'tracewise', 20792, 'will pay weekly', 'tw.csv:1')
                """)
            #expect(try await store.reportedArrangements(open: true, limit: 10).map(\.id) == [3, 2, 1])

            let plan = try monthlyPlan("C-1")
            let id = try await store.createArrangement(proposal(plan, approvalsNeeded: 2), proposedBy: "ann", at: at(0))
            let proposed = ArrangementProposal(id: id, plan: plan, assessment: proposal(plan, approvalsNeeded: 2).assessment, proposedBy: "ann",
                                               state: .pendingApproval, approvals: [], income: proposal(plan).income)
            #expect(try await store.arrangement(id: id) == proposed)
            #expect(try await store.arrangement(id: 999) == nil)
            #expect(try await store.reportedArrangements(open: true, limit: 10) == [
                ReportedArrangement(id: 3, contractNumber: "C-2", agent: "tracewise", reportedOn: LocalDate(daysSinceEpoch: 20_792),
                                    details: "will pay weekly", source: "tw.csv:1", proposal: nil),
            ])
            #expect(try await store.reportedArrangements(open: false, limit: 10).map(\.proposal) == [nil, id, id])
            #expect(try await store.reportedArrangements(open: false, limit: 2).map(\.id) == [3, 2])
            #expect(await storeRefusal { try await store.createArrangement(proposal(plan), proposedBy: "bob", at: at(1)) } == .duplicate)

            let settlement = try PaymentArrangement.regular(contractNumber: "C-2", frequency: .weekly, firstDate: firstDue, count: 4,
                                                            amount: gbp(1_250), isSettlement: true)
            let other = try await store.createArrangement(proposal(settlement, isTokenPlan: true), proposedBy: "bob", at: at(1))
            #expect(try await store.arrangement(id: other) == ArrangementProposal(
                id: other, plan: settlement, assessment: proposal(settlement, isTokenPlan: true).assessment, proposedBy: "bob",
                state: .pendingApproval, approvals: [], income: proposal(settlement).income))
            #expect(try await store.arrangements(state: .pendingApproval).map(\.id) == [id, other])
            #expect(try await store.reportedArrangements(open: true, limit: 10).isEmpty)

            try await store.recordArrangementApproval(id: id, approval: approval("tom", at: at(2), comment: "affordable"), expectedApprovals: 0,
                                                      isFinal: false)
            #expect(await storeRefusal {
                try await store.recordArrangementApproval(id: id, approval: approval("una", at: at(3)), expectedApprovals: 0, isFinal: true)
            } == .changedMeanwhile)
            try await store.recordArrangementApproval(id: id, approval: approval("una", at: at(3)), expectedApprovals: 1, isFinal: true)
            let approved = try #require(try await store.arrangement(id: id))
            #expect(approved.state == .approved
                    && approved.approvals == [approval("tom", at: at(2), comment: "affordable"), approval("una", at: at(3))])
            #expect(try await store.arrangements(state: .approved).map(\.id) == [id])
            #expect(await storeRefusal { try await store.cancelArrangement(id: id, by: "tom", reason: "changed mind", at: at(4)) } == .wrongState)
            #expect(await storeRefusal { try await store.rejectArrangement(id: id, by: "tom", reason: "no", at: at(4)) } == .wrongState)

            let entries = try await store.outboxEntries(state: .pending)
            #expect(entries.map(\.kind) == [.createPaymentArrangement] && entries.map(\.clientReference) == ["AR-\(id)"])
            guard case .arrangement(let carried, let cancellation)? = try await store.subjects(of: entries)[entries[0].id] else {
                Issue.record("the entry does not carry the arrangement")
                return
            }
            #expect(carried == approved && cancellation == nil)

            let entry = try await claimSending(.createPaymentArrangement, subject: id, in: store, at: at(5))
            try await store.recordArrangementCreated(entry, created: CreatedArrangement(arrangementId: "MAR-9", paidBefore: gbp(600_000)), at: at(6))
            let active = try #require(try await store.arrangement(id: id))
            #expect(active.state == .active && active.milesArrangementId == "MAR-9" && active.paidBefore == gbp(600_000))
            #expect(await storeRefusal { try await store.createArrangement(proposal(plan), proposedBy: "bob", at: at(7)) } == .duplicate)

            let audited = try await store.auditEntries()
            #expect(audited.map(\.action) == ["arrangement.proposed", "arrangement.proposed", "arrangement.approved", "arrangement.approved",
                                              "outbox.queued", "outbox.sending", "arrangement.created"])
            #expect(audited[0].subject == "arrangement:\(id)" && audited[0].actor == "ann" && audited[0].details
                    == "contract C-1, 3 monthly instalments from \(plan.firstDate) to \(plan.lastDate), \(gbp(12_500)); income \(gbp(210_000)), "
                    + "expenditure \(gbp(190_000)) a month; needs teamLeader x2 (matrix v5)")
            #expect(audited[1].details.contains("4 weekly instalments") && audited[1].details.contains("in settlement"))
            #expect(audited[2].details == "as teamLeader under matrix v5, first of two: affordable")
            #expect(audited[4].details == "CreatePaymentArrangement AR-\(id)")
            #expect(audited[6].subject == "arrangement:\(id)" && audited[6].details == "MILES MAR-9; paid to date then \(gbp(600_000))")
            #expect(try await store.verifyAudit() == .intact(entries: 7))
        }
    }

    @Test("a waiting arrangement is rejected or cancelled at once; an active one queues its cancellation, once, and is cancelled when MILES confirms",
          arguments: StoreKind.available)
    func rejectAndCancel(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let rejected = try await store.createArrangement(proposal(try monthlyPlan("C-1")), proposedBy: "ann", at: at(0))
            try await store.rejectArrangement(id: rejected, by: "tom", reason: "not affordable", at: at(1))
            let afterRejection = try #require(try await store.arrangement(id: rejected))
            #expect(afterRejection.state == .rejected && afterRejection.outcome == "not affordable")
            #expect(await storeRefusal { try await store.rejectArrangement(id: rejected, by: "tom", reason: "again", at: at(2)) } == .wrongState)
            #expect(await storeRefusal { try await store.rejectArrangement(id: 999, by: "tom", reason: "nothing", at: at(2)) } == .wrongState)
            #expect(await storeRefusal {
                try await store.recordArrangementApproval(id: rejected, approval: approval("una", at: at(2)), expectedApprovals: 0, isFinal: true)
            } == .changedMeanwhile)

            // Rejected, it is over: the contract may have another.
            let withdrawn = try await store.createArrangement(proposal(try monthlyPlan("C-1")), proposedBy: "ann", at: at(3))
            try await store.cancelArrangement(id: withdrawn, by: "ann", reason: "the customer paid in full", at: at(4))
            let afterCancelling = try #require(try await store.arrangement(id: withdrawn))
            #expect(afterCancelling.state == .cancelled && afterCancelling.outcome == "the customer paid in full")
            #expect(try await store.outboxEntries(state: nil).isEmpty)
            #expect(await storeRefusal { try await store.cancelArrangement(id: withdrawn, by: "ann", reason: "again", at: at(5)) } == .wrongState)
            #expect(await storeRefusal { try await store.cancelArrangement(id: 999, by: "ann", reason: "nothing", at: at(5)) } == .wrongState)
            #expect(try await store.arrangements(state: .cancelled).map(\.id) == [withdrawn])
            #expect(try await store.arrangements(state: .rejected).map(\.id) == [rejected])

            let active = try await activeArrangement("C-1", in: store, at: at(6))
            let auditedBefore = try await store.auditEntries().count
            try await store.cancelArrangement(id: active, by: "tom", reason: "the customer asked to stop", at: at(7))
            let cancelling = try #require(try await store.arrangement(id: active))
            #expect(cancelling.state == .active && cancelling.cancelRequestedBy == "tom")
            #expect(try await pendingCancellation(of: active, in: store) == "the customer asked to stop")
            #expect(await storeRefusal { try await store.cancelArrangement(id: active, by: "una", reason: "again", at: at(8)) } == .wrongState)
            #expect(try await store.outboxEntries(state: .pending).map(\.clientReference) == ["AC-\(active)"])

            let entry = try await claimSending(.cancelPaymentArrangement, subject: active, in: store, at: at(9))
            try await store.recordArrangementCancelled(entry, at: at(10))
            let cancelled = try #require(try await store.arrangement(id: active))
            #expect(cancelled.state == .cancelled && cancelled.outcome == "the customer asked to stop")
            #expect(try await store.outboxEntry(id: entry.id)?.state == .sent)

            let audited = try await store.auditEntries()
            #expect(audited.prefix(3).map(\.action) == ["arrangement.proposed", "arrangement.rejected", "arrangement.proposed"])
            #expect(audited[1].subject == "arrangement:\(rejected)" && audited[1].actor == "tom" && audited[1].details == "not affordable")
            #expect(audited[3].action == "arrangement.cancelled" && audited[3].subject == "arrangement:\(withdrawn)"
                    && audited[3].details == "the customer paid in full")
            let ending = Array(audited.dropFirst(auditedBefore))
            #expect(ending.map(\.action) == ["arrangement.cancel-requested", "outbox.sending", "arrangement.cancelled"])
            #expect(ending[0].actor == "tom" && ending[0].details == "the customer asked to stop; AC-\(active)")
            #expect(ending[2].actor == "outbox-relay" && ending[2].details == "cancelled in MILES")
        }
    }

    @Test("a broken arrangement is recorded with its day and its risk alert; closed with its status change queued and the plan ended in MILES, once",
          arguments: StoreKind.available)
    func outcomeAndClose(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let broken = try await activeArrangement("C-1", in: store, at: at(0))
            let waiting = try await store.createArrangement(proposal(try monthlyPlan("C-2")), proposedBy: "ann", at: at(0))
            #expect(await storeRefusal {
                try await store.recordArrangementOutcome(id: waiting, state: .broken, outcome: "missed", on: firstDue, alert: nil, at: at(1))
            } == .changedMeanwhile)
            #expect(await storeRefusal {
                try await store.closeArrangement(id: broken, by: "tom", change: statusChange("C-1", to: .defaulted, at: at(1)), at: at(1))
            } == .wrongState)

            let auditedBefore = try await store.auditEntries().count
            let missedOn = firstDue.adding(months: 1).adding(days: 7)
            let alert = RiskAlert(rule: "arrangement-broken", contractNumber: "C-1", facts: "instalment 2 of £50.00 missed")
            try await store.recordArrangementOutcome(id: broken, state: .broken, outcome: "instalment 2 missed", on: missedOn, alert: alert,
                                                     at: at(2))
            let afterBreak = try #require(try await store.arrangement(id: broken))
            #expect(afterBreak.state == .broken && afterBreak.outcome == "instalment 2 missed")
            #expect(try await store.arrangementBreaks(contractNumber: "C-1") == [missedOn])
            #expect(try await store.arrangementBreaks(contractNumber: "C-2").isEmpty)
            #expect(try await store.riskAlerts(includeAcknowledged: false, limit: 10).map(\.alert) == [alert])
            #expect(try await store.arrangements(state: .broken).map(\.id) == [broken])
            #expect(await storeRefusal {
                try await store.recordArrangementOutcome(id: broken, state: .completed, outcome: "paid", on: missedOn, alert: nil, at: at(3))
            } == .changedMeanwhile)
            #expect(await storeRefusal { try await store.createArrangement(proposal(try monthlyPlan("C-1")), proposedBy: "ann", at: at(3)) }
                    == .duplicate)

            let changeId = try await store.closeArrangement(id: broken, by: "tom", change: statusChange("C-1", to: .defaulted, at: at(4)), at: at(4))
            #expect(try await store.arrangement(id: broken)?.state == .closed)
            #expect(try await store.outboxEntries(state: .pending).map(\.clientReference) == ["SC-\(changeId)", "AC-\(broken)"])
            #expect(try await pendingCancellation(of: broken, in: store) == "broken: closed by tom")
            #expect(await storeRefusal {
                try await store.closeArrangement(id: broken, by: "tom", change: statusChange("C-1", to: .defaulted, at: at(5)), at: at(5))
            } == .wrongState)
            let entry = try await claimSending(.cancelPaymentArrangement, subject: broken, in: store, at: at(6))
            try await store.recordArrangementCancelled(entry, at: at(6))
            let closed = try #require(try await store.arrangement(id: broken))
            #expect(closed.state == .closed && closed.outcome == "instalment 2 missed")

            let audited = Array(try await store.auditEntries().dropFirst(auditedBefore))
            #expect(audited.map(\.action) == ["arrangement.broken", "risk.alert", "status.requested", "outbox.queued", "arrangement.closed",
                                              "outbox.sending", "arrangement.cancelled"])
            #expect(audited[0].actor == "sync" && audited[0].subject == "arrangement:\(broken)" && audited[0].details == "instalment 2 missed")
            #expect(audited[4].actor == "tom" && audited[4].details
                    == "status change \(changeId) to defaulted (PPBR) queued; the plan is ended in MILES (AC-\(broken))")

            // Completed, and its cancellation already asked for: closing it queues the status change and no second cancellation.
            let completed = try await activeArrangement("C-1", in: store, at: at(7))
            try await store.recordArrangementOutcome(id: completed, state: .completed, outcome: "paid in full", on: missedOn, alert: nil, at: at(8))
            #expect(try await store.arrangement(id: completed)?.state == .completed)
            #expect(try await store.arrangementBreaks(contractNumber: "C-1") == [missedOn])
            try await store.cancelArrangement(id: completed, by: "una", reason: "paid in full", at: at(9))
            let secondChange = try await store.closeArrangement(id: completed, by: "tom", change: statusChange("C-1", to: .active, at: at(10)),
                                                                at: at(10))
            #expect(try await store.outboxEntries(state: .pending).filter { $0.subjectId == completed }.map(\.clientReference) == ["AC-\(completed)"])
            #expect(try await pendingCancellation(of: completed, in: store) == "paid in full")
            #expect(try await store.auditEntries().last.map { [$0.action, $0.details] }
                    == ["arrangement.closed", "status change \(secondChange) to active (PPBR) queued"])
        }
    }

    @Test("from two stores at once: one arrangement per contract, one approval recorded, one cancellation queued", arguments: StoreKind.available)
    func races(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let other = try await subject.reopen()
            let rounds = 4
            for round in 1...rounds {
                let (mine, theirs) = (proposal(try monthlyPlan("C-\(round)")), proposal(try monthlyPlan("C-\(round)"), approvalsNeeded: 2))
                let outcomes = await racing({ try await store.createArrangement(mine, proposedBy: "ann", at: self.at(0)) },
                                            { try await other.createArrangement(theirs, proposedBy: "bob", at: self.at(0)) })
                #expect(tally(outcomes, refusedWith: .duplicate) == (1, 1))
            }
            let proposals = try await store.arrangements(state: nil)
            #expect(proposals.count == rounds)

            for proposal in proposals {
                let (tom, una) = (approval("tom", at: at(1)), approval("una", at: at(1)))
                let outcomes = await racing(
                    { try await store.recordArrangementApproval(id: proposal.id, approval: tom, expectedApprovals: 0, isFinal: false) },
                    { try await other.recordArrangementApproval(id: proposal.id, approval: una, expectedApprovals: 0, isFinal: false) })
                #expect(tally(outcomes, refusedWith: .changedMeanwhile) == (1, 1))
                #expect(try await store.arrangement(id: proposal.id)?.approvals.count == 1)
            }

            for round in 1...rounds {
                let id = try await activeArrangement("D-\(round)", in: store, at: at(2))
                try await store.recordArrangementOutcome(id: id, state: .broken, outcome: "missed", on: firstDue, alert: nil, at: at(3))
                let change = statusChange("D-\(round)", to: .defaulted, at: at(4))
                let closing = await racing({ try await store.closeArrangement(id: id, by: "tom", change: change, at: self.at(4)) },
                                           { try await other.closeArrangement(id: id, by: "una", change: change, at: self.at(4)) })
                #expect(tally(closing, refusedWith: .wrongState) == (1, 1))
                let pending = try await store.outboxEntries(state: .pending)
                #expect(pending.filter { $0.kind == .cancelPaymentArrangement && $0.subjectId == id }.count == 1)
                #expect(pending.filter { $0.kind == .updateContractStatus }.count == round)
            }
            #expect(try await store.verifyAudit() == .intact(entries: try await store.auditEntries().count))
        }
    }
}
