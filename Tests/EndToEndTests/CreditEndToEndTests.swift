import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesMock
import MilesSOAP
import MilesSync
import TestSupport
import Testing

/// The write-path faults a money decision must survive with exactly one posting in MILES.
enum WritePathFault: String, CaseIterable, CustomTestStringConvertible {
    /// MILES applies the call, then the connection drops unanswered.
    case lostAnswer
    /// MILES applies the call and answers after the client has given up.
    case timeoutAfterProcessing
    /// A 503 before anything is applied.
    case unavailable

    var testDescription: String { rawValue }

    func rule(for operation: String) -> FaultRule {
        switch self {
        case .lostAnswer: FaultRule(operation: operation, count: 1, afterProcessing: true)
        case .timeoutAfterProcessing: FaultRule(operation: operation, count: 1, afterProcessing: true, delayMilliseconds: 8_000)
        case .unavailable: FaultRule(operation: operation, count: 1, kind: .http, httpStatus: 503)
        }
    }

    /// A client timeout well under the injected delay, and well over a normal answer on a loaded machine (CI saw a
    /// normal answer take over a second, which a 1 s timeout turned into a second reconciliation).
    var requestTimeout: Duration { self == .timeoutAfterProcessing ? .seconds(4) : .seconds(30) }
}

extension SyncHarness {
    func creditDesk(_ store: any CollectionsStores) -> CreditDesk { CreditDesk(store: store, mappings: mappings) }

    /// The team member `name`, with the role `teamRoles` gives them in the harness's authority matrix.
    func person(_ name: String) throws -> CollectionsUser {
        guard let role = teamRoles[name].flatMap(mappings.authorityMatrix.role(named:)) else {
            throw WriteOffDeskError(.unknownUser, input: name, "no team member \(name) in teamRoles")
        }
        return CollectionsUser(name: name, role: role)
    }
}

@Suite("Credit notes and write-off reversals: the matrix, maker-checker, exactly once in MILES", .serialized, .timeLimit(.minutes(3)))
struct CreditEndToEndTests {
    @Test("each credit limit of the shipped matrix at its boundary: at the limit the role suffices, a penny above needs the next",
          arguments: [(Int64(5_000), "agent"), (5_001, "teamLeader"), (100_000, "teamLeader"), (100_001, "headOfCredit"),
                      (1_000_000, "headOfCredit"), (1_000_001, "financeDirector")])
    func creditLimits(minorUnits: Int64, role: String) throws {
        let limits = try MappingSet.load(directory: repositoryMappings).authorityMatrix.creditLimits
        #expect(limits.requiredRole(for: Money(minorUnits: minorUnits, currency: .gbp)).name == role)
    }

    @Test("a second approver above the shipped £2,500, not at it")
    func secondCreditApprover() throws {
        let limits = try MappingSet.load(directory: repositoryMappings).authorityMatrix.creditLimits
        #expect(limits.approvalsNeeded(for: Money(minorUnits: 250_000, currency: .gbp)) == 1)
        #expect(limits.approvalsNeeded(for: Money(minorUnits: 250_001, currency: .gbp)) == 2)
    }

    @Test("a credit note is refused with the input named: no contract, an unknown reason, an invoice not open, more than is open",
          arguments: StoreKind.available)
    func raiseRefusals(kind: StoreKind) async throws {
        try await withHarness(contracts: 100, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let desk = harness.creditDesk(store)
            let alice = try harness.person("alice")
            let contract = candidates[0]
            func refusal(_ body: () async throws -> RequestCreation) async -> CreditDeskError? {
                do { _ = try await body(); return nil } catch { return error as? CreditDeskError }
            }
            let missing = await refusal {
                try await desk.raiseCreditNote(contractNumber: "C99999999", amount: "1.00", invoiceNumbers: [], reasonCode: "BILL",
                                               comment: "x", by: alice)
            }
            #expect(missing?.code == .notFound && missing?.input == "C99999999")
            let reason = await refusal {
                try await desk.raiseCreditNote(contractNumber: contract.contractNumber, amount: "1.00", invoiceNumbers: [], reasonCode: "NOPE",
                                               comment: "x", by: alice)
            }
            #expect(reason?.code == .refused && reason?.description.contains("NOPE") == true)
            let invoice = await refusal {
                try await desk.raiseCreditNote(contractNumber: contract.contractNumber, amount: "1.00", invoiceNumbers: ["INV-NOPE"],
                                               reasonCode: "BILL", comment: "x", by: alice)
            }
            #expect(invoice?.description.contains("INV-NOPE") == true)
            let tooMuch = await refusal {
                try await desk.raiseCreditNote(contractNumber: contract.contractNumber,
                                               amount: Money(minorUnits: contract.openBalance.minorUnits + 1, currency: contract.currency).decimalString,
                                               invoiceNumbers: [], reasonCode: "BILL", comment: "x", by: alice)
            }
            #expect(tooMuch?.code == .refused && tooMuch?.description.contains("more than") == true)
            // Each bad amount says what is wrong with it: too many decimals is not 'not positive'.
            for (amount, says) in [("10.005", "has more decimal places than \(contract.currency.code) allows (2)"), ("-5.00", "is not above zero"),
                                   ("ten", "is not a number"), ("99999999999999999999999", "has more digits than any amount can")] {
                let bad = await refusal {
                    try await desk.raiseCreditNote(contractNumber: contract.contractNumber, amount: amount, invoiceNumbers: [], reasonCode: "BILL",
                                                   comment: "x", by: alice)
                }
                #expect(bad?.input == amount && bad?.description.contains(says) == true, "\(amount): \(bad.map(String.init(describing:)) ?? "accepted")")
            }
            #expect(try await store.creditNotes(state: nil).isEmpty)
            // At the open amount exactly it is accepted; the same again is the same request; any more is more than is open.
            let full = try await desk.raiseCreditNote(contractNumber: contract.contractNumber, amount: contract.openBalance.decimalString,
                                                      invoiceNumbers: [], reasonCode: "BILL", comment: "billed twice", by: alice)
            guard case let .created(id) = full else { Issue.record("not created: \(full)"); return }
            #expect(try await desk.raiseCreditNote(contractNumber: contract.contractNumber, amount: "full", invoiceNumbers: [],
                                                   reasonCode: "BILL", comment: "again", by: alice) == .alreadyRequested(id: id))
            let onTop = await refusal {
                try await desk.raiseCreditNote(contractNumber: contract.contractNumber, amount: "0.01", invoiceNumbers: [], reasonCode: "GDWL",
                                               comment: "and a penny", by: alice)
            }
            #expect(onTop?.description.contains(ReliefInFlight.takenOff) == true)
        }
    }

    @Test("a contract and its invoices typed in small letters are the ones numbered in capitals, stored as MILES numbers them",
          arguments: StoreKind.available)
    func typedInSmallLetters(kind: StoreKind) async throws {
        try await withHarness(contracts: 20, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let contract = try #require(candidates.first { !$0.openInvoices.isEmpty })
            let invoice = contract.openInvoices[0]
            let raised = try await harness.creditDesk(store).raiseCreditNote(
                contractNumber: contract.contractNumber.lowercased(), amount: "0.01", invoiceNumbers: [invoice.number.lowercased()],
                reasonCode: "BILL", comment: "typed in small letters", by: try harness.person("alice"))
            guard case let .created(id) = raised else { Issue.record("not created: \(raised)"); return }
            let stored = try #require(try await store.creditNote(id: id))
            #expect(stored.contractNumber == contract.contractNumber && stored.invoiceNumbers == [invoice.number])
        }
    }

    @Test("maker-checker and the credit limits: not the maker, not a role below the limit, two different approvers above £2,500",
          arguments: StoreKind.available)
    func approvals(kind: StoreKind) async throws {
        try await withHarness(contracts: 300, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore(minimumOpen: 300_000)
            let desk = harness.creditDesk(store)
            let (alice, bob, carol, dave) = (try harness.person("alice"), try harness.person("bob"), try harness.person("carol"),
                                             try harness.person("dave"))
            guard case let .created(small) = try await desk.raiseCreditNote(
                contractNumber: candidates[0].contractNumber, amount: "60.00", invoiceNumbers: [], reasonCode: "GDWL", comment: "late delivery",
                by: bob) else { Issue.record("not created"); return }
            let own = await desk.approve(.raiseCreditNote, ids: [small], by: bob, comment: nil)
            #expect(own[0].result.failure?.code == .approvalRefused)
            #expect(own[0].result.failure?.description.contains("maker-checker") == true)
            let agent = await desk.approve(.raiseCreditNote, ids: [small], by: alice, comment: nil)
            #expect(agent[0].result.failure?.description.contains("needs a teamLeader") == true)
            #expect(try await store.outboxEntries(state: nil).isEmpty)
            #expect(await desk.approve(.raiseCreditNote, ids: [small], by: carol, comment: "fair")[0].result.success == true)

            guard case let .created(large) = try await desk.raiseCreditNote(
                contractNumber: candidates[1].contractNumber, amount: "2500.01", invoiceNumbers: [], reasonCode: "DISP", comment: "upheld",
                by: alice) else { Issue.record("not created"); return }
            #expect(await desk.approve(.raiseCreditNote, ids: [large], by: carol, comment: nil)[0].result.success == false)
            #expect(await desk.approve(.raiseCreditNote, ids: [large], by: carol, comment: nil)[0].result.failure?.description
                .contains("already approved") == true)
            #expect(await desk.approve(.raiseCreditNote, ids: [large], by: dave, comment: nil)[0].result.success == true)
            let queued = try await store.outboxEntries(state: .pending)
            #expect(queued.map(\.clientReference) == ["CN-\(small)", "CN-\(large)"])
            #expect(try await store.creditNote(id: large)?.trail.approvals.map(\.approver) == ["carol", "dave"])
            let rejected = await desk.reject(.raiseCreditNote, ids: [small], by: dave, reason: "too late")
            #expect(rejected[0].result.failure?.code == .refused)
            #expect(try await store.auditEntries().filter { $0.subject.hasPrefix("credit:") }.map(\.action)
                == ["credit.requested", "credit.approved", "credit.requested", "credit.approved", "credit.approved"])
        }
    }

    @Test("credit notes are raised once each in MILES under a write-path fault", arguments: WritePathFault.allCases, StoreKind.available)
    func creditNotesExactlyOnce(fault: WritePathFault, kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let desk = harness.creditDesk(store)
            var ids: [Int64] = []
            for contract in candidates.prefix(3) {
                guard case let .created(id) = try await desk.raiseCreditNote(
                    contractNumber: contract.contractNumber, amount: "1.50", invoiceNumbers: [], reasonCode: "BILL", comment: "billed twice",
                    by: try harness.person("alice")) else { Issue.record("not created"); return }
                ids.append(id)
            }
            for (_, result) in await desk.approve(.raiseCreditNote, ids: ids, by: try harness.person("bob"), comment: nil) {
                #expect(result.success == true)
            }
            await harness.server.miles.injectFault(fault.rule(for: "RaiseCreditNote"))
            let summary = try await harness.relay(store, requestTimeout: fault.requestTimeout).run()
            #expect(summary.creditNotesRaised + summary.reconciled == 3)
            #expect(summary.reconciled == (fault == .unavailable ? 0 : 1))
            let ledger = await harness.server.miles.creditNoteLedger()
            #expect(ledger.count == 3)
            // MILES would answer a repeat with the first credit note: what shows the adapter never repeated one is the journal.
            #expect(await harness.server.miles.journalEntries().filter { $0.operation == "RaiseCreditNote" && $0.outcome.hasPrefix("ok") }.count == 3)
            #expect(Set(ledger.map(\.clientReference)) == Set(ids.map { "CN-\($0)" }))
            for id in ids {
                let credit = try #require(try await store.creditNote(id: id))
                #expect(credit.trail.state == .posted)
                #expect(credit.trail.milesReference == ledger.first { $0.clientReference == "CN-\(id)" }?.id)
            }
            // The next sync shows each balance £1.50 lower.
            _ = try await harness.sync(store: store).run(mode: .resume)
            for contract in candidates.prefix(3) {
                #expect(try await store.contract(number: contract.contractNumber)?.openBalance.minorUnits == contract.openBalance.minorUnits - 150)
            }
            #expect(try await store.verifyAudit() == .intact(entries: try await store.auditEntries().count))
        }
    }

    @Test("out of attempts with the outcome unknown, MILES is asked once more: a credit note it made is recorded posted, not failed",
          arguments: StoreKind.available)
    func lastLookBeforeGivingUp(kind: StoreKind) async throws {
        try await withHarness(contracts: 100, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let desk = harness.creditDesk(store)
            guard case let .created(id) = try await desk.raiseCreditNote(
                contractNumber: candidates[0].contractNumber, amount: "1.00", invoiceNumbers: [], reasonCode: "BILL", comment: "billed twice",
                by: try harness.person("alice")) else { Issue.record("not created"); return }
            _ = await desk.approve(.raiseCreditNote, ids: [id], by: try harness.person("bob"), comment: nil)
            await harness.server.miles.injectFault(FaultRule(operation: "RaiseCreditNote", count: 1, afterProcessing: true))
            let summary = try await harness.relay(store, attempts: 1).run()
            #expect(summary.deadLettered == 0 && summary.reconciled == 1)
            #expect(try await store.creditNote(id: id)?.trail.state == .posted)
            #expect(await harness.server.miles.creditNoteLedger().count == 1)
        }
    }

    @Test("MILES's own rule: a credit above what is open by the time it arrives is refused and dead-lettered with MILES's reason; queued again only once nothing else takes what it would",
          arguments: StoreKind.available)
    func milesRefusesMoreThanOpen(kind: StoreKind) async throws {
        try await withHarness(contracts: 100, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let contract = candidates[0]
            let desk = harness.creditDesk(store)
            guard case let .created(id) = try await desk.raiseCreditNote(
                contractNumber: contract.contractNumber, amount: "full", invoiceNumbers: [], reasonCode: "SETL", comment: "settled",
                by: try harness.person("alice")) else { Issue.record("not created"); return }
            _ = await desk.approve(.raiseCreditNote, ids: [id], by: try harness.person("dave"), comment: nil)
            // The customer paid a penny in MILES meanwhile.
            await harness.server.miles.modifyContract(number: contract.contractNumber) { $0.openInvoices[0].openAmount.minorUnits -= 1 }
            let summary = try await harness.relay(store).run()
            #expect(summary.deadLettered == 1)
            let failed = try #require(try await store.creditNote(id: id))
            #expect(failed.trail.state == .failed)
            #expect(failed.trail.failureReason?.contains("AMOUNT_EXCEEDS_BALANCE") == true)
            #expect(await harness.server.miles.creditNoteLedger().isEmpty)

            // The failed one no longer counts, so another is raised for what is open; queued again, the first would
            // credit the same money twice: the retry is refused and it stays failed.
            guard case let .created(second) = try await desk.raiseCreditNote(
                contractNumber: contract.contractNumber, amount: "full", invoiceNumbers: [], reasonCode: "BILL", comment: "billed twice",
                by: try harness.person("alice")) else { Issue.record("the second was not created"); return }
            let entry = try #require(try await store.outboxEntries(state: .deadLetter).first { $0.kind == .raiseCreditNote })
            let refused = await #expect(throws: StoreError.self) { try await store.retryOutboxEntry(id: entry.id, by: "bob", at: CollectionsClock.system()) }
            #expect(refused?.description.contains("credit note \(id)") == true && refused?.description.contains("would be more than") == true,
                    "\(refused.map(String.init(describing:)) ?? "")")
            #expect(try await store.creditNote(id: id)?.trail.state == .failed)
            // The second withdrawn, a penny waiting to be written off still leaves too little open for it.
            _ = await desk.reject(.raiseCreditNote, ids: [second], by: try harness.person("alice"), reason: "raised twice")
            let writeOff = try #require(try await harness.desk(store).prepare(file: WriteOffFile(path: harness.writeOffFile([
                "\(contract.contractNumber),0.01,,UNEC,a penny",
            ])), by: try harness.person("alice")).created.first)
            let stillRefused = await #expect(throws: StoreError.self) {
                try await store.retryOutboxEntry(id: entry.id, by: "bob", at: CollectionsClock.system())
            }
            #expect(stillRefused?.description.contains("write-offs MILES does not show yet") == true,
                    "\(stillRefused.map(String.init(describing:)) ?? "")")
            // Once the write-off is withdrawn too, the first may go again.
            try await store.rejectWriteOffRequest(id: writeOff.id, by: "bob", reason: "not needed", at: CollectionsClock.system())
            try await store.retryOutboxEntry(id: entry.id, by: "bob", at: CollectionsClock.system())
            #expect(try await store.creditNote(id: id)?.trail.state == .approved)
        }
    }

    @Test("write-off reversals are made once each in MILES under a write-path fault, found again through FindWriteOffs",
          arguments: WritePathFault.allCases, StoreKind.available)
    func reversalsExactlyOnce(fault: WritePathFault, kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let writeOffs = try await harness.approvedWriteOffs(Array(candidates.prefix(3)), store: store)
            #expect(try await harness.relay(store).run().posted == 3)
            let desk = harness.creditDesk(store)
            var ids: [Int64] = []
            for writeOff in writeOffs {
                guard case let .created(id) = try await desk.requestReversal(
                    writeOffRequestId: writeOff, amount: "full", reasonCode: "PAID", comment: "paid the day after",
                    by: try harness.person("alice")) else { Issue.record("not created"); return }
                ids.append(id)
            }
            for (_, result) in await desk.approve(.reverseWriteOff, ids: ids, by: try harness.person("bob"), comment: nil) {
                #expect(result.success == true)
            }
            await harness.server.miles.injectFault(fault.rule(for: "ReverseWriteOff"))
            let summary = try await harness.relay(store, requestTimeout: fault.requestTimeout).run()
            #expect(summary.writeOffsReversed + summary.reconciled == 3)
            #expect(summary.reconciled == (fault == .unavailable ? 0 : 1))
            let reversals = await harness.server.miles.reversalLedger()
            #expect(reversals.count == 3)
            #expect(await harness.server.miles.journalEntries().filter { $0.operation == "ReverseWriteOff" && $0.outcome.hasPrefix("ok") }.count == 3)
            #expect(Set(reversals.map(\.clientReference)) == Set(ids.map { "WR-\($0)" }))
            for id in ids {
                let reversal = try #require(try await store.writeOffReversal(id: id))
                #expect(reversal.trail.state == .posted)
                #expect(reversal.trail.milesReference == reversals.first { $0.clientReference == "WR-\(id)" }?.id)
            }
            // The debt is back: the next sync shows each balance as it was before the write-off.
            _ = try await harness.sync(store: store).run(mode: .resume)
            for contract in candidates.prefix(3) {
                #expect(try await store.contract(number: contract.contractNumber)?.openBalance == contract.openBalance)
            }
        }
    }

    @Test("a reversal is refused unless the write-off is posted, and never reverses more than was written off",
          arguments: StoreKind.available)
    func reversalLimits(kind: StoreKind) async throws {
        try await withHarness(contracts: 100, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let writeOffs = try await harness.approvedWriteOffs(Array(candidates.prefix(1)), store: store)
            let desk = harness.creditDesk(store)
            let alice = try harness.person("alice")
            do {
                _ = try await desk.requestReversal(writeOffRequestId: writeOffs[0], amount: "0.50", reasonCode: "PAID", comment: "x", by: alice)
                Issue.record("a write-off not yet posted was reversed")
            } catch let error as CreditDeskError {
                #expect(error.code == .refused && error.description.contains("not posted"))
            }
            _ = try await harness.relay(store).run()
            #expect(try await desk.requestReversal(writeOffRequestId: writeOffs[0], amount: "0.60", reasonCode: "PAID", comment: "part paid",
                                                   by: alice) == .created(id: 1))
            do {
                _ = try await desk.requestReversal(writeOffRequestId: writeOffs[0], amount: "0.41", reasonCode: "ERRW", comment: "x", by: alice)
                Issue.record("£1.01 of a £1.00 write-off was reversed")
            } catch let error as CreditDeskError {
                #expect(error.code == .refused && error.description.contains("more than the 1.00 GBP written off (0.60 GBP already reversed or waiting)"))
            }
            #expect(try await desk.requestReversal(writeOffRequestId: writeOffs[0], amount: "0.40", reasonCode: "ERRW", comment: "the rest",
                                                   by: alice) == .created(id: 2))

            // MILES refuses the first: it fails, and no longer counts, so a third of 0.60 may be raised. Queued again,
            // the first would then make 1.60 of a 1.00 write-off: the retry is refused and the first stays failed.
            #expect(await desk.approve(.reverseWriteOff, ids: [1], by: try harness.person("bob"), comment: nil).first?.result.success == true)
            await harness.server.miles.injectFault(FaultRule(operation: "ReverseWriteOff", count: 1, faultCode: "INVALID_REQUEST"))
            #expect(try await harness.relay(store).run().deadLettered == 1)
            #expect(try await store.writeOffReversal(id: 1)?.trail.state == .failed)
            #expect(try await desk.requestReversal(writeOffRequestId: writeOffs[0], amount: "0.60", reasonCode: "PAID", comment: "paid again",
                                                   by: alice) == .created(id: 3))
            let failed = try #require(try await store.outboxEntries(state: .deadLetter).first { $0.kind == .reverseWriteOff })
            let refused = await #expect(throws: StoreError.self) { try await store.retryOutboxEntry(id: failed.id, by: "bob", at: CollectionsClock.system()) }
            #expect(refused?.code == .wrongState && refused?.description.contains("would reverse more than the 1.00 GBP written off") == true,
                    "\(refused.map(String.init(describing:)) ?? "")")
            #expect(try await store.writeOffReversal(id: 1)?.trail.state == .failed)
            #expect(try await store.outboxEntries(state: .deadLetter).contains { $0.id == failed.id })
            // Once the third is rejected, the first may go again.
            _ = await desk.reject(.reverseWriteOff, ids: [3], by: alice, reason: "raised twice")
            try await store.retryOutboxEntry(id: failed.id, by: "bob", at: CollectionsClock.system())
            #expect(try await store.writeOffReversal(id: 1)?.trail.state == .approved)
        }
    }
}

extension Result {
    var success: Success? { try? get() }
    var failure: Failure? {
        if case let .failure(error) = self { return error }
        return nil
    }
}

@Suite("Credit notes and reversals from the command line", .serialized, .timeLimit(.minutes(2)))
struct CreditCommandLineTests {
    @Test("credit raise / approve and writeoff reverse / approve-reversal act as the authenticated person; push sends each once",
          arguments: StoreKind.available)
    func commandLine(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let scratch = try await ScratchSetup(harness: harness)
            defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
            let contract = candidates[0]
            let raised = try await scratch.run(["credit", "raise", contract.contractNumber, "--amount", "2.00", "--reason", "BILL",
                                                "--comment", "charged twice"], as: "alice")
            #expect(raised.status == 0, "\(raised.errors)")
            #expect(raised.output.contains("credit note 1 raised"))
            let unknown = try await scratch.run(["credit", "raise", contract.contractNumber, "--amount", "2.00", "--reason", "OOPS",
                                                 "--comment", "x"], as: "alice")
            #expect(unknown.status == 1)
            #expect(unknown.errors.contains("'OOPS' is not in status-codes.yaml creditReasons"), "\(unknown.errors)")
            let own = try await scratch.run(["credit", "approve", "1"], as: "alice")
            #expect(own.status == 1 && own.errors.contains("maker-checker"), "\(own.errors)")
            #expect(try await scratch.run(["credit", "approve", "1", "--comment", "checked"], as: "bob").status == 0)
            let listed = try await scratch.run(["credit", "list", "--state", "approved"], as: "bob")
            #expect(listed.output.contains("\(contract.contractNumber)\t2.00 GBP\tBILL\tby alice"), "\(listed.output)")

            let file = try scratch.file("w.csv", "contract_number,amount,invoice_numbers,reason_code,comment\n\(candidates[1].contractNumber),3.00,,UNEC,x\n")
            #expect(try await scratch.run(["writeoff", "prepare", file], as: "alice").status == 0)
            #expect(try await scratch.run(["writeoff", "approve", "1"], as: "bob").status == 0)
            #expect(try await scratch.run(["push"], as: "bob").status == 0)
            #expect(await harness.server.miles.creditNoteLedger().map(\.clientReference) == ["CN-1"])
            #expect(try await store.creditNote(id: 1)?.trail.state == .posted)

            let reversal = try await scratch.run(["writeoff", "reverse", "1", "--amount", "full", "--reason", "PAID", "--comment", "paid"], as: "alice")
            #expect(reversal.status == 0, "\(reversal.errors)")
            #expect(try await scratch.run(["writeoff", "approve-reversal", "1"], as: "bob").status == 0)
            #expect(try await scratch.run(["push"], as: "bob").status == 0)
            #expect(await harness.server.miles.reversalLedger().map(\.clientReference) == ["WR-1"])
            let shown = try await scratch.run(["writeoff", "reversals"], as: "bob")
            #expect(shown.output.contains("posted\twrite-off 1"), "\(shown.output)")
            #expect(try await store.auditEntries().contains { $0.actor == "bob" && $0.subject == "reversal:1" && $0.action == "reversal.approved" })
        }
    }
}
