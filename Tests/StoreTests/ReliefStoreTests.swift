import CollectionsDomain
import CollectionsStore
import TestSupport
import Testing

@Suite("What the desks see of each other's relief in flight, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct ReliefStoreTests {
    let start = Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)

    func at(_ seconds: Int64) -> Timestamp { start.adding(seconds: seconds) }

    func gbp(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: .gbp) }

    func approval(_ approver: String, at time: Timestamp) -> Approval {
        Approval(approver: approver, role: "teamLeader", matrixVersion: 4, at: time, comment: nil)
    }

    func writeOff(_ amount: Int64, invoices: [String] = [], reason: WriteOffReason = .uneconomicalToPursue) -> NewWriteOffRequest {
        NewWriteOffRequest(contractNumber: "C-1", invoiceNumbers: invoices, amount: gbp(amount), reason: reason, comment: "small balance",
                           requiredRole: "teamLeader", approvalsNeeded: 1, matrixVersion: 4, customerMustBeTold: true, source: "tests")
    }

    func creditNote(_ amount: Int64, invoices: [String]) -> NewCreditNote {
        NewCreditNote(contractNumber: "C-1", invoiceNumbers: invoices, amount: gbp(amount), reasonCode: "BILLING", comment: "charged twice",
                      requiredRole: "teamLeader", approvalsNeeded: 1, matrixVersion: 4)
    }

    func id(_ creation: RequestCreation) -> Int64 {
        switch creation { case .created(let id), .alreadyRequested(let id): id }
    }

    /// C-1's open amounts as the bank matching reads them.
    func matchedOpen(_ store: any BankStore) async throws -> [Money] {
        try await store.bankMatchData(contractNumbers: ["C-1"], invoiceNumbers: [], payerAccounts: [])
            .contracts["C-1"]?.openInvoices.map(\.openAmount) ?? []
    }

    @Test("an allocation, a credit note and a write-off approved are each taken off the open amounts the bank matching reads, until MILES's posting shows in the stored contract; waiting for approval they are in flight for the desks only; rejected ones are not",
          arguments: StoreKind.available)
    func reliefInFlight(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            // INV-C-1-0 12,000 due first, INV-C-1-1 8,000; MILES last changed the contract before anything below.
            try await store.upsertContract(sampleContract("C-1", modified: at(-60).millisecondsSinceEpoch))
            try await store.upsertContract(sampleContract("C-2"))
            #expect(try await store.reliefInFlight(contractNumbers: ["C-1", "C-2"]).isEmpty)

            // A write-off waiting for approval is in flight for the desks; the bank matching leaves it out until it is
            // approved (a customer's payment comes before a decision not yet made).
            let writeOffId = id(try await store.createWriteOffRequest(writeOff(3_000), requestedBy: "ann", at: at(0)))
            #expect(try await store.reliefInFlight(contractNumbers: ["C-1", "C-2"])
                    == ["C-1": [.writeOff(id: writeOffId, invoiceNumbers: [], amount: 3_000)]])
            #expect(try await matchedOpen(store) == [gbp(12_000), gbp(8_000)])
            // Approved, it takes the oldest due first, as MILES applies it.
            try await store.recordApproval(requestId: writeOffId, approval: approval("tom", at: at(0)), expectedApprovals: 0, isFinal: true)
            #expect(try await matchedOpen(store) == [gbp(9_000), gbp(8_000)])

            // A credit note on the second invoice, approved; an allocation of a payment to the first.
            let creditId = id(try await store.createCreditNote(creditNote(1_000, invoices: ["INV-C-1-1"]), requestedBy: "ann", at: at(1)))
            try await store.recordApproval(of: .raiseCreditNote, id: creditId, approval: approval("tom", at: at(1)), expectedApprovals: 0, isFinal: true)
            let bank = BankStoreTests()
            let statement = try await store.receiveBankStatement(bank.statement("ee55", entries: 1), at: at(2)).statement
            let allocation = bank.outcome(bank.entry(1, 5_000, reference: "R1"), bank.allocate(5_000, to: "C-1"))
            _ = try await store.applyBankBatch(statementId: statement.id, throughPosition: 1, outcomes: [allocation], by: "auto", at: at(2))
            let relief = try #require(try await store.reliefInFlight(contractNumbers: ["C-1"])["C-1"])
            #expect(relief.count == 3)
            #expect(relief.compactMap(\.allocationIdentity) == [allocation.identity])
            #expect(relief.contains(.creditNote(id: creditId, invoiceNumbers: ["INV-C-1-1"], amount: 1_000)))
            // 12,000 less the allocation's 5,000 and the write-off's 3,000; 8,000 less the credit note's 1,000.
            #expect(try await matchedOpen(store) == [gbp(4_000), gbp(7_000)])

            // The credit note posted by MILES at contract version 3: taken off until the store holds that version.
            let creditSending = try await claimSending(.raiseCreditNote, subject: creditId, in: store, at: at(3))
            try await store.recordCreditPosted(creditSending, posted: PostedCredit(
                milesId: "MCN-1", clientReference: creditSending.clientReference, contractNumber: "C-1", amount: gbp(1_000), reasonCode: "BILLING",
                postedAt: at(3), contractVersion: 3), at: at(3))
            #expect(try await matchedOpen(store) == [gbp(4_000), gbp(7_000)])
            try await store.upsertContract(sampleContract("C-1", version: 3, invoices: [12_000, 7_000], modified: at(-40).millisecondsSinceEpoch))
            #expect(try await matchedOpen(store) == [gbp(4_000), gbp(7_000)])
            #expect(try await store.reliefInFlight(contractNumbers: ["C-1"])["C-1"]?.contains { $0.kind == .creditNote } == false)

            // The write-off posted by MILES at contract version 5: still taken off while the store holds version 3.
            let sending = try await claimSending(.postWriteOff, subject: writeOffId, in: store, at: at(5))
            try await store.recordWriteOffPosted(sending, posted: PostedWriteOff(
                writeOffId: "MWO-1", clientReference: sending.clientReference, contractNumber: "C-1", amount: gbp(3_000), reasonCode: "UNEC",
                postedAt: at(5), contractVersion: 5), at: at(5))
            #expect(try await store.writeOffRequest(id: writeOffId)?.state == .posted)
            #expect(try await matchedOpen(store) == [gbp(4_000), gbp(7_000)])
            // A sync reads version 4 (another change, before the write-off): MILES's amounts cannot show it yet.
            try await store.upsertContract(sampleContract("C-1", version: 4, invoices: [12_000, 7_000], modified: at(-30).millisecondsSinceEpoch))
            #expect(try await matchedOpen(store) == [gbp(4_000), gbp(7_000)])
            // The sync reads version 5, with the write-off in MILES's amounts (here 9,000 open on the first): not taken off twice.
            try await store.upsertContract(sampleContract("C-1", version: 5, invoices: [9_000, 7_000], modified: at(-20).millisecondsSinceEpoch))
            #expect(try await store.reliefInFlight(contractNumbers: ["C-1"])["C-1"]?.map(\.kind) == [.allocation])
            #expect(try await matchedOpen(store) == [gbp(4_000), gbp(7_000)])

            // A write-off waiting for approval is in flight for the desks; rejected, it takes nothing.
            let rejected = id(try await store.createWriteOffRequest(writeOff(2_000, reason: .deceasedNoEstate), requestedBy: "ann", at: at(6)))
            #expect(try await store.reliefInFlight(contractNumbers: ["C-1"])["C-1"]?.map(\.kind) == [.allocation, .writeOff])
            try await store.rejectWriteOffRequest(id: rejected, by: "tom", reason: "not dead", at: at(7))
            #expect(try await store.reliefInFlight(contractNumbers: ["C-1"])["C-1"]?.map(\.kind) == [.allocation])

            // A credit note rejected takes nothing either.
            let rejectedCredit = id(try await store.createCreditNote(creditNote(500, invoices: []), requestedBy: "ann", at: at(8)))
            #expect(try await store.reliefInFlight(contractNumbers: ["C-1"])["C-1"]?.map(\.kind) == [.allocation, .creditNote])
            try await store.reject(.raiseCreditNote, id: rejectedCredit, by: "tom", reason: "not charged", at: at(9))
            #expect(try await store.reliefInFlight(contractNumbers: ["C-1"])["C-1"]?.map(\.kind) == [.allocation])
        }
    }

    @Test("a credit note for everything open, set aside after an attempt with no answer, is retried: it does not count against itself",
          arguments: StoreKind.available)
    func skippedAfterAnAttempt(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.upsertContract(sampleContract("C-1"))
            let creditId = id(try await store.createCreditNote(creditNote(20_000, invoices: []), requestedBy: "ann", at: at(0)))
            try await store.recordApproval(of: .raiseCreditNote, id: creditId, approval: approval("tom", at: at(0)), expectedApprovals: 0, isFinal: true)
            let sent = try await claimSending(.raiseCreditNote, subject: creditId, in: store, at: at(1))
            try await store.recordRetry(sent, error: "timed out after the request was sent", nextAttemptAt: at(60), at: at(2))
            try await store.skipOutboxEntry(id: sent.id, by: "carol", reason: "checking MILES by hand", at: at(3))
            // MILES may have made it: it stays approved, on its way.
            #expect(try await store.creditNote(id: creditId)?.trail.state == .approved)
            try await store.retryOutboxEntry(id: sent.id, by: "carol", at: at(4))
            #expect(try await store.outboxEntry(id: sent.id)?.state == .pending)
        }
    }
}
