import CollectionsDomain
import CollectionsStore
import MilesSync
import TestSupport
import Testing

@Suite("The desks see each other's relief in flight", .serialized, .timeLimit(.minutes(3)))
struct ReliefEndToEndTests {
    @Test("a write-off waiting leaves a credit note only the rest of what is open, a credit note waiting leaves a write-off only the rest, and a refusal says what was taken off",
          arguments: StoreKind.available)
    func desksSeeEachOther(kind: StoreKind) async throws {
        try await withHarness(contracts: 100, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore(minimumOpen: 10_000)
            try #require(candidates.count >= 3)
            let (first, second) = (candidates[0], candidates[1])
            let alice = try harness.person("alice")
            let writeOffs = harness.desk(store), credits = harness.creditDesk(store)
            func creditRefusal(_ amount: String, on contract: Contract) async -> CreditDeskError? {
                do {
                    _ = try await credits.raiseCreditNote(contractNumber: contract.contractNumber, amount: amount, invoiceNumbers: [],
                                                          reasonCode: "BILL", comment: "billed twice", by: alice)
                    return nil
                } catch { return error }
            }

            // £40.00 of the first contract waits to be written off: a credit note may have only the rest.
            let writeOff = try await writeOffs.prepare(file: WriteOffFile(path: harness.writeOffFile([
                "\(first.contractNumber),40.00,,UNEC,small balance",
            ])), by: alice)
            #expect(writeOff.created.count == 1 && writeOff.refused.isEmpty)
            let everything = await creditRefusal(first.openBalance.decimalString, on: first)
            #expect(everything?.code == .refused)
            #expect(everything?.description.contains(ReliefInFlight.takenOff) == true,
                    "\(everything.map(String.init(describing:)) ?? "accepted")")
            let rest = try await credits.raiseCreditNote(contractNumber: first.contractNumber, amount: "full", invoiceNumbers: [],
                                                         reasonCode: "BILL", comment: "billed twice", by: alice)
            guard case let .created(creditId) = rest else { Issue.record("not created: \(rest)"); return }
            #expect(try await store.creditNote(id: creditId)?.amount.minorUnits == first.openBalance.minorUnits - 4_000)
            // The same again, the same file again: the requests already made, though what is open has changed since.
            #expect(try await credits.raiseCreditNote(contractNumber: first.contractNumber, amount: "full", invoiceNumbers: [],
                                                      reasonCode: "BILL", comment: "billed twice", by: alice) == .alreadyRequested(id: creditId))
            let again = try await writeOffs.prepare(file: WriteOffFile(path: harness.writeOffFile([
                "\(first.contractNumber),40.00,,UNEC,small balance",
            ])), by: alice)
            #expect(again.alreadyRequested.map(\.id) == writeOff.created.map(\.id) && again.created.isEmpty && again.refused.isEmpty, "\(again)")

            // A third contract: £10.00 waits as a credit note; 'full' for the same reason is another credit note, for the rest.
            let third = candidates[2]
            guard case let .created(part) = try await credits.raiseCreditNote(contractNumber: third.contractNumber, amount: "10.00",
                                                                             invoiceNumbers: [], reasonCode: "BILL", comment: "part", by: alice),
                  case let .created(whole) = try await credits.raiseCreditNote(contractNumber: third.contractNumber, amount: "full",
                                                                              invoiceNumbers: [], reasonCode: "BILL", comment: "the rest", by: alice)
            else { Issue.record("the two credit notes were not both raised"); return }
            #expect(part != whole)
            #expect(try await store.creditNote(id: whole)?.amount.minorUnits == third.openBalance.minorUnits - 1_000)
            #expect(try await credits.raiseCreditNote(contractNumber: third.contractNumber, amount: "full", invoiceNumbers: [], reasonCode: "BILL",
                                                      comment: "the rest", by: alice) == .alreadyRequested(id: whole))

            // £25.00 of the second contract waits as a credit note: a write-off may have only the rest.
            _ = try await credits.raiseCreditNote(contractNumber: second.contractNumber, amount: "25.00", invoiceNumbers: [],
                                                  reasonCode: "BILL", comment: "billed twice", by: alice)
            let report = try await writeOffs.prepare(file: WriteOffFile(path: harness.writeOffFile([
                "\(second.contractNumber),\(second.openBalance.decimalString),,UNEC,everything",
                "\(second.contractNumber),full,,UNEC,what is left",
            ])), by: alice)
            #expect(report.refused.map(\.line) == [2])
            #expect(report.refused.first?.reason.contains(ReliefInFlight.takenOff) == true,
                    "\(report.refused)")
            let created = try #require(report.created.first)
            #expect(created.line == 3)
            let remainder = try #require(try await store.writeOffRequest(id: created.id))
            #expect(remainder.amount.minorUnits == second.openBalance.minorUnits - 2_500)
            // With the credit note it would leave nothing, but the credit note may yet be rejected: the customer is
            // told the rest may still exist (CONC 7.4), the lesser harm.
            #expect(remainder.customerMustBeTold)
            let resubmitted = try await writeOffs.prepare(file: WriteOffFile(path: harness.writeOffFile([
                "\(second.contractNumber),full,,UNEC,what is left",
            ])), by: alice)
            #expect(resubmitted.alreadyRequested.map(\.id) == [created.id] && resubmitted.created.isEmpty, "\(resubmitted)")
        }
    }
}
