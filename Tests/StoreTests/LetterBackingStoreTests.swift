import CollectionsDomain
import CollectionsStore
import TestSupport
import Testing

@Suite("What a letter about a decision needs stored, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct LetterBackingStoreTests {
    let arrangements = ArrangementStoreTests()

    func writeOff(_ contractNumber: String, customerMustBeTold: Bool) -> NewWriteOffRequest {
        NewWriteOffRequest(contractNumber: contractNumber, invoiceNumbers: [], amount: Money(minorUnits: 1_000, currency: .gbp),
                           reason: .uneconomicalToPursue, comment: "small balance", requiredRole: "teamLeader", approvalsNeeded: 1, matrixVersion: 4,
                           customerMustBeTold: customerMustBeTold, source: "tests")
    }

    /// Posts a write-off through its outbox entry, as MILES's answer would.
    func post(_ request: NewWriteOffRequest, in store: any WriteOffStore & OutboxStore, at seconds: Int64) async throws -> Int64 {
        let at = arrangements.at(seconds)
        guard case let .created(id) = try await store.createWriteOffRequest(request, requestedBy: "ann", at: at) else {
            throw StoreError(.duplicate, input: request.contractNumber, "not created")
        }
        try await store.recordApproval(requestId: id, approval: arrangements.approval("tom", at: at), expectedApprovals: 0, isFinal: true)
        let entry = try await claimSending(.postWriteOff, subject: id, in: store, at: at)
        try await store.recordWriteOffPosted(entry, posted: PostedWriteOff(
            writeOffId: "MWO-\(id)", clientReference: entry.clientReference, contractNumber: request.contractNumber, amount: request.amount,
            reasonCode: "UNEC", postedAt: at, contractVersion: 2), at: at)
        return id
    }

    @Test("an arrangement backs a confirmation once MILES made it, not while proposed or approved; a posted write-off backs the partial write-off notice only when the customer must be told, once posted, until wholly reversed",
          arguments: StoreKind.available)
    func letterBacking(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let nothing = LetterBacking(arrangementAgreed: false, partialWriteOffPosted: false)
            #expect(try await store.letterBacking(contractNumber: "C-1") == nothing)

            let proposed = try await store.createArrangement(arrangements.proposal(try arrangements.monthlyPlan("C-1")), proposedBy: "ann",
                                                             at: arrangements.at(0))
            #expect(try await store.letterBacking(contractNumber: "C-1") == nothing)
            try await store.recordArrangementApproval(id: proposed, approval: arrangements.approval("tom", at: arrangements.at(1)),
                                                      expectedApprovals: 0, isFinal: true)
            #expect(try await store.letterBacking(contractNumber: "C-1") == nothing)
            let entry = try await claimSending(.createPaymentArrangement, subject: proposed, in: store, at: arrangements.at(1))
            try await store.recordArrangementCreated(entry, created: CreatedArrangement(arrangementId: "MAR-1", paidBefore: Money(minorUnits: 0, currency: .gbp)),
                                                     at: arrangements.at(1))
            #expect(try await store.letterBacking(contractNumber: "C-1").arrangementAgreed)
            #expect(try await store.letterBacking(contractNumber: "C-2") == nothing)

            // A write-off of the whole debt tells the customer nothing is left: no partial write-off notice.
            _ = try await post(writeOff("C-2", customerMustBeTold: false), in: store, at: 2)
            #expect(try await store.letterBacking(contractNumber: "C-2") == nothing)
            // A partial one waiting for approval is not made yet.
            _ = try await store.createWriteOffRequest(writeOff("C-3", customerMustBeTold: true), requestedBy: "ann", at: arrangements.at(3))
            #expect(try await store.letterBacking(contractNumber: "C-3") == nothing)
            let partial = try await post(writeOff("C-4", customerMustBeTold: true), in: store, at: 4)
            let backed = LetterBacking(arrangementAgreed: false, partialWriteOffPosted: true)
            #expect(try await store.letterBacking(contractNumber: "C-4") == backed)
            // Reversed in part, some is still written off; wholly reversed, nothing is.
            try await reverse(partial, amount: 400, in: store, at: 5)
            #expect(try await store.letterBacking(contractNumber: "C-4") == backed)
            try await reverse(partial, amount: 600, in: store, at: 6)
            #expect(try await store.letterBacking(contractNumber: "C-4") == nothing)
        }
    }

    /// Reverses `amount` pence of write-off request `writeOff` in MILES, as its answer would.
    func reverse(_ writeOff: Int64, amount: Int64, in store: any CreditStore & OutboxStore, at seconds: Int64) async throws {
        let at = arrangements.at(seconds)
        guard case let .created(id) = try await store.createWriteOffReversal(NewWriteOffReversal(
            writeOffRequestId: writeOff, amount: Money(minorUnits: amount, currency: .gbp), reasonCode: "PAID", comment: "paid after all",
            requiredRole: "teamLeader", approvalsNeeded: 1, matrixVersion: 4), requestedBy: "ann", at: at) else {
            throw StoreError(.duplicate, input: "write-off request \(writeOff)", "not created")
        }
        try await store.recordApproval(of: .reverseWriteOff, id: id, approval: arrangements.approval("tom", at: at), expectedApprovals: 0, isFinal: true)
        let entry = try await claimSending(.reverseWriteOff, subject: id, in: store, at: at)
        try await store.recordCreditPosted(entry, posted: PostedCredit(
            milesId: "MWR-\(id)", clientReference: entry.clientReference, contractNumber: "C-4", amount: Money(minorUnits: amount, currency: .gbp),
            reasonCode: "PAID", postedAt: at, contractVersion: 3), at: at)
    }
}
