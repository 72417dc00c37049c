import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesMapping
import MilesMock
import MilesSync
import TestSupport
import Testing

extension SyncHarness {
    /// A store holding the mock's contracts, with the journal cleared so a test sees only what its statements cause.
    func syncedBankStore() async throws -> any CollectionsStores {
        let store = try await openStore()
        _ = try await sync(store: store).run(mode: .resume)
        await server.miles.clearJournal()
        return store
    }

    func bankDesk(_ store: any BankStore, statements: String, batchSize: Int = 1_000) -> BankDesk {
        BankDesk(store: store, rules: mappings.bank, statementsDirectory: statements, batchSize: batchSize)
    }
}

/// Every stored bank entry, one line each in id order: what became of it and why.
func bankEntriesText(_ store: any BankStore) async throws -> String {
    var entries: [StoredBankEntry] = []
    for state in BankEntryState.allCases { entries += try await store.bankEntries(state: state, limit: .max) }
    return entries.sorted { $0.id < $1.id }.map { stored in
        var line = "\(stored.entry.bankReference ?? "-") \(stored.entry.mark.rawValue) \(stored.entry.amount) \(stored.state.rawValue)"
        if let allocation = stored.allocation {
            line += " -> \(allocation.contractNumber) [" + allocation.lines.map { "\($0.invoiceNumber) \($0.amount.decimalString)" }
                .joined(separator: ", ") + "] suspense \(allocation.suspense.decimalString) by \(allocation.allocatedBy) (\(allocation.state.rawValue))"
        }
        if let reversed = stored.reversesEntryId { line += " reverses entry \(reversed)" }
        if let reason = stored.reason { line += " | \(reason)" }
        for candidate in stored.candidates { line += " | candidate \(candidate.contractNumber) \(candidate.confidence)" }
        return line
    }.joined(separator: "\n") + "\n"
}

let bankGolden = goldenDirectory + "/bank"

@Suite("Bank statements: imported, matched, allocated in MILES exactly once", .serialized, .timeLimit(.minutes(3)))
struct BankEndToEndTests {
    /// In batches of one entry, each is read and decided while the one before it is stored (or again
    /// after, where that cannot be foreseen, as for a return): the same allocations as in one batch.
    @Test("a camt.053 with two statements: allocations and the to-check queue as expected (golden), MILES calls as expected (golden)",
          arguments: StoreKind.available, [1_000, 1])
    func camtGolden(kind: StoreKind, batchSize: Int) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.syncedBankStore()
            let statements = temporaryDirectory("statements")
            defer { try? FileManager.default.removeItem(atPath: statements) }
            let outcome = try await harness.bankDesk(store, statements: statements, batchSize: batchSize)
                .importStatement(path: bankGolden + "/northern-example-camt053.xml", format: nil)
            #expect(!outcome.duplicate)
            #expect(outcome.statements.map(\.state) == [.imported, .imported])
            #expect(outcome.statements.map(\.statement.continuity) == [.first, .follows])
            try expectGolden(try await bankEntriesText(store), "northern-example-camt053.allocations.txt", folder: "bank")
            let pushed = try await harness.relay(store).run()
            #expect(pushed.deadLettered == 0)
            try expectGolden(await harness.milesWrites(), "northern-example-camt053.miles-calls.txt", folder: "bank")
            try expectGolden(try await bankEntriesText(store), "northern-example-camt053.after-push.txt", folder: "bank")
        }
    }

    @Test("an MT940 (German and Dutch :86: layouts, a multi-line :86:, accents, CR LF): allocations (golden) and MILES calls (golden)",
          arguments: StoreKind.available, [1_000, 1])
    func mt940Golden(kind: StoreKind, batchSize: Int) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.syncedBankStore()
            let statements = temporaryDirectory("statements")
            defer { try? FileManager.default.removeItem(atPath: statements) }
            let outcome = try await harness.bankDesk(store, statements: statements, batchSize: batchSize)
                .importStatement(path: bankGolden + "/northern-example-101.mt940", format: .mt940)
            #expect(outcome.statements.map(\.statement.entryCount) == [7])
            try expectGolden(try await bankEntriesText(store), "northern-example-101.mt940.allocations.txt", folder: "bank")
            let pushed = try await harness.relay(store).run()
            #expect(pushed.deadLettered == 0)
            try expectGolden(await harness.milesWrites(), "northern-example-101.mt940.miles-calls.txt", folder: "bank")
        }
    }

    @Test("the same statement imported twice, and the same entries in an MT940 and a camt.053: each entry stored and allocated once",
          arguments: StoreKind.available)
    func importedOnce(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.syncedBankStore()
            let statements = temporaryDirectory("statements")
            defer { try? FileManager.default.removeItem(atPath: statements) }
            let desk = harness.bankDesk(store, statements: statements)
            let first = try await desk.importStatement(path: bankGolden + "/northern-example-camt053.xml", format: nil)
            #expect(first.counts.allocated == 5 && first.counts.alreadyStored == 0)
            let queued = try await store.outboxEntries(state: nil).count
            let entries = try await bankEntriesText(store)

            let again = try await desk.importStatement(path: bankGolden + "/northern-example-camt053.xml", format: nil)
            #expect(again.duplicate)
            // The first statement of the camt file again, as the bank's MT940: nothing new, nothing queued again.
            let twin = try await desk.importStatement(path: bankGolden + "/northern-example-101.mt940", format: nil)
            #expect(!twin.duplicate)
            #expect(twin.counts.alreadyStored == 7)
            #expect(twin.counts.allocated + twin.counts.toCheck + twin.counts.reversals + twin.counts.noAction == 0)
            #expect(twin.statements.map(\.statement.header.format) == [.mt940])
            #expect(try await store.outboxEntries(state: nil).count == queued)
            #expect(try await bankEntriesText(store) == entries)

            let pushed = try await harness.relay(store).run()
            #expect(pushed.deadLettered == 0)
            let counts = await harness.server.miles.allocationCounts()
            #expect(counts.count == 4 && counts.values.allSatisfy { $0 == 1 })
        }
    }

    @Test("another import stores a payment between this one's reading and its storing: the next payment is decided again, from what that one did",
          arguments: StoreKind.available)
    func anotherImportMeanwhile(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.syncedBankStore()
            var found: (contract: String, invoice: Invoice)?
            for number in (1...60).map({ "C" + String(format: "%08d", $0) }) {
                let stored = try await store.contract(number: number)
                let open = (stored?.openInvoices ?? []).filter { $0.openAmount.minorUnits > 0 }
                if open.count == 1, open[0].openAmount.currency == .gbp { found = (number, open[0]); break }
            }
            let (contract, invoice) = try #require(found, "a contract of the mock's with exactly one invoice open")
            let amount = invoice.openAmount.minorUnits
            let folder = temporaryDirectory("bank-meanwhile")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let file = folder + "/day.xml"
            try camtStatement(statementId: "DAY-1", sequence: 1, opening: 0, date: "2026-12-01", entries: [
                (amount, "\(contract) \(invoice.number)", "X1"), (amount, "\(contract) \(invoice.number)", "X2"),
            ]).write(toFile: file, atomically: true, encoding: .utf8)
            // The other import puts X1 in the queue for a person just before this one stores it as allocated:
            // this one's allocation of X1 does not happen, and the invoice stays open for X2.
            let meanwhile = InterferingBankStore(store) { inner, outcomes in
                guard let x1 = outcomes.first(where: { $0.entry.bankReference == "X1" }) else { return false }
                let other = try await inner.receiveBankStatement(NewBankStatement(
                    header: BankStatementHeader(format: .mt940, account: "GB33BUKB20201555555555", currency: .gbp, statementId: "OTHER",
                                                sequenceNumber: "1", opening: BankBalance(amount: .zero(.gbp), mark: .credit, date: x1.entry.bookingDate)),
                    closing: BankBalance(amount: x1.entry.amount, mark: .credit, date: x1.entry.bookingDate), entryCount: 1, firstPosition: 1,
                    fileSha256: "other", indexInFile: 0, fileName: "other.sta", storedPath: folder + "/other.sta", continuity: .first),
                    at: Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)).statement
                _ = try await inner.applyBankBatch(statementId: other.id, throughPosition: 1, outcomes: [BankEntryOutcome(
                    entry: x1.entry, identity: x1.identity, decision: .toCheck(reason: "the other import was unsure", candidates: []))],
                    by: "other-import", at: Timestamp(millisecondsSinceEpoch: 1_796_100_000_000))
                return true
            }
            let outcome = try await harness.bankDesk(meanwhile, statements: folder + "/kept", batchSize: 1).importStatement(path: file, format: nil)
            // X1 is counted as the other import stored it, not as this one decided it.
            #expect(outcome.counts.alreadyStored == 1)
            #expect(outcome.counts.allocated == 1 && outcome.counts.toCheck == 0)
            var byReference: [String: StoredBankEntry] = [:]
            for state in BankEntryState.allCases {
                for stored in try await store.bankEntries(state: state, limit: 100) { byReference[stored.entry.bankReference ?? ""] = stored }
            }
            #expect(byReference["X1"]?.state == .toCheck)
            #expect(byReference["X1"]?.reason == "the other import was unsure")
            #expect(byReference["X2"]?.state == .allocated, "\(byReference["X2"].map(String.init(describing:)) ?? "X2 not stored")")
            #expect(byReference["X2"]?.allocation?.lines == [AllocationLine(invoiceNumber: invoice.number, amount: invoice.openAmount)])
        }
    }

    @Test("a payment MILES has allocated, returned by the bank next day: ReverseAllocation reaches MILES with the bank's reason code, once",
          arguments: StoreKind.available)
    func returnAfterPush(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.syncedBankStore()
            let folder = temporaryDirectory("bank-return")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            // The golden file's two statements delivered a day apart: the second returns a payment of the first.
            let golden = try String(contentsOfFile: bankGolden + "/northern-example-camt053.xml", encoding: .utf8)
            let first = try #require(golden.range(of: "<Stmt>")), second = try #require(golden.range(of: "<Stmt>", range: first.upperBound..<golden.endIndex))
            let end = try #require(golden.range(of: "</BkToCstmrStmt>"))
            try (String(golden[..<second.lowerBound]) + String(golden[end.lowerBound...])).write(toFile: folder + "/day1.xml", atomically: true, encoding: .utf8)
            try (String(golden[..<first.lowerBound]) + String(golden[second.lowerBound...])).write(toFile: folder + "/day2.xml", atomically: true, encoding: .utf8)
            let desk = harness.bankDesk(store, statements: folder + "/kept")

            _ = try await desk.importStatement(path: folder + "/day1.xml", format: nil)
            #expect(try await harness.relay(store).run().allocationsPosted > 0)
            let day2 = try await desk.importStatement(path: folder + "/day2.xml", format: nil)
            #expect(day2.counts.reversals == 1)
            let pushed = try await harness.relay(store).run()
            #expect(pushed.allocationsReversed == 1 && pushed.deadLettered == 0)

            let reversals = await harness.server.miles.journalEntries().filter { $0.operation == "ReverseAllocation" }
            #expect(reversals.count == 1)
            #expect(reversals.first?.parameters["ReasonCode"] == "AC04", "\(reversals)")
            let reversed = await harness.server.miles.allocationLedger().filter(\.isReversed)
            #expect(reversed.map(\.reversalReasonCode) == ["AC04"])
        }
    }

    @Test("a German direct debit returned with the bank's charges (GVC 109, OAMT+ and COAM+): its allocation is reversed in MILES, once, with the reason in the mapping's vocabulary",
          arguments: StoreKind.available)
    func germanReturnWithCharges(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.syncedBankStore()
            let folder = temporaryDirectory("bank-german-return")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let payer = "?31GB29NWBK60161331926819?32Dafydd Muller"
            try """
                :20:NEB-STMT-201
                :25:BUKBGB22/GB33BUKB20201555555555
                :60F:C261130GBP10000,00
                :61:2612011201C94,93NDDTNONREF//DD01
                :86:171?00SEPA-LASTSCHRIFT?20EREF+E2E-DD-7?21SVWZ+C00000002 October\(payer)
                :62F:C261201GBP10094,93

                """.write(toFile: folder + "/day1.mt940", atomically: true, encoding: .utf8)
            // The bank books the return with its 3.00 charge on top: 97.93 out for a 94.93 payment.
            try """
                :20:NEB-STMT-202
                :25:BUKBGB22/GB33BUKB20201555555555
                :60F:C261201GBP10094,93
                :61:2612031203D97,93NDDTNONREF//DD02
                :86:109?00SEPA-DD SOLL RUECKBEL.?20EREF+E2E-DD-7?21OAMT+94,93?22COAM+3,00?23SVWZ+C00000002 October\(payer)?34901
                :62F:C261203GBP9997,00

                """.write(toFile: folder + "/day2.mt940", atomically: true, encoding: .utf8)
            // The bank's DK code 901 reaches MILES as the ISO code the mapping gives for it.
            var account = try #require(harness.mappings.bank.account("GB33BUKB20201555555555"))
            account.returnReasons = ["901": "AC04"]
            let desk = BankDesk(store: store, rules: BankRules(accounts: [account.iban: account]), statementsDirectory: folder + "/kept")

            _ = try await desk.importStatement(path: folder + "/day1.mt940", format: .mt940)
            #expect(try await harness.relay(store).run().allocationsPosted == 1)
            let day2 = try await desk.importStatement(path: folder + "/day2.mt940", format: .mt940)
            #expect(day2.counts.reversals == 1)
            let pushed = try await harness.relay(store).run()
            #expect(pushed.allocationsReversed == 1 && pushed.deadLettered == 0)

            let reversals = await harness.server.miles.journalEntries().filter { $0.operation == "ReverseAllocation" }
            #expect(reversals.map { $0.parameters["ReasonCode"] } == ["AC04"], "\(reversals)")
            #expect(await harness.server.miles.allocationLedger().filter(\.isReversed).count == 1)
            let entries = try await bankEntriesText(store)
            #expect(entries.contains("DD02 debit 97.93 GBP reversal reverses entry"), "\(entries)")
            #expect(entries.contains("the bank returned it (reason AC04, the bank's 901); 3.00 GBP of it the bank's charges"), "\(entries)")
        }
    }

    @Test("a payment an agent reported collecting is matched to the bank entry when it arrives: allocated on the strength of it, then no longer in transit",
          arguments: StoreKind.available)
    func agentPaymentArrives(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008"])
            let folder = temporaryDirectory("bank-transit")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let today = CollectionsClock.system().date
            try "AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes\nC00000008,PAY,\(acmeDate(today.adding(days: -2))),150.00,ACME-77812,card\n"
                .write(toFile: folder + "/return.csv", atomically: true, encoding: .utf8)
            _ = try await harness.ingestDesk(store, inbox: folder + "/inbox").ingest(path: folder + "/return.csv", agent: "acme-dca", channel: "file")
            #expect(try await store.paymentsInTransit(contractNumber: "C00000008").map(\.amount) == [Money(minorUnits: 15_000, currency: .gbp)])

            // The contract number alone (70) is below the rules' 80; the agent's report of the same amount adds 30.
            try camtStatement(statementId: "TRANSIT-1", sequence: 1, opening: 0, date: today.description,
                              entries: [(15_000, "C00000008 card payment", "T1"), (15_000, "C00000013 card payment", "T2")])
                .write(toFile: folder + "/statement.xml", atomically: true, encoding: .utf8)
            _ = try await harness.bankDesk(store, statements: folder + "/kept").importStatement(path: folder + "/statement.xml", format: nil)
            let allocated = try await store.bankEntries(state: .allocated, limit: 10)
            #expect(allocated.map(\.entry.bankReference) == ["T1"])
            let reason = try #require(allocated.first?.allocation?.reason)
            #expect(reason.contains("acme-dca's payment in transit"), "\(reason)")
            #expect(try await store.bankEntries(state: .toCheck, limit: 10).map(\.entry.bankReference) == ["T2"], "no report, so it waits")
            #expect(try await store.paymentsInTransit(contractNumber: "C00000008").isEmpty, "the bank has it now")
        }
    }

    @Test("push under write-path faults: one allocation per entry in MILES's ledger", arguments: WritePathFault.allCases, StoreKind.available)
    func pushUnderFaults(fault: WritePathFault, kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.syncedBankStore()
            let statements = temporaryDirectory("statements")
            defer { try? FileManager.default.removeItem(atPath: statements) }
            _ = try await harness.bankDesk(store, statements: statements)
                .importStatement(path: bankGolden + "/northern-example-camt053.xml", format: nil)
            await harness.server.miles.injectFault(fault.rule(for: "AllocatePayment"))
            _ = try await harness.relay(store, requestTimeout: fault.requestTimeout).run()
            _ = try await harness.relay(store).run()
            let counts = await harness.server.miles.allocationCounts()
            #expect(counts == ["PA-2": 1, "PA-3": 1, "PA-5": 1, "PA-9": 1])
            #expect(try await store.outboxEntries(state: .sent).filter { $0.kind == .allocatePayment }.count == 4)
        }
    }

    @Test("refused whole, nothing stored and no copy kept: hostile camt.053, a malformed MT940 (line named), an account not configured (named)",
          arguments: StoreKind.available)
    func refusedWhole(kind: StoreKind) async throws {
        try await withHarness(contracts: 10, store: kind) { harness in
            let store = try await harness.syncedBankStore()
            let folder = temporaryDirectory("bank-refused")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let desk = harness.bankDesk(store, statements: folder + "/kept")
            let good = camtStatement(statementId: "S1", sequence: 1, opening: 0, date: "2026-12-01", entries: [(100, "C00000001", "R1")])
            let laughs = "<!DOCTYPE d [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
            let cases: [(String, String, BankImportErrorCode, String)] = [
                ("dtd.xml", good.replacingOccurrences(of: "<Document", with: laughs + "<Document"), .malformedStatement, "DOCTYPE"),
                ("deep.xml", good.replacingOccurrences(of: "<Ustrd>C00000001</Ustrd>",
                                                       with: String(repeating: "<x>", count: 200) + String(repeating: "</x>", count: 200)),
                 .malformedStatement, "Ntry"),
                ("huge.xml", good.replacingOccurrences(of: "C00000001", with: String(repeating: "A", count: 2 << 20)), .malformedStatement, "Ustrd"),
                ("bad.mt940", ":20:X\n:25:GB33BUKB20201555555555\n:28C:1/1\n:60F:C261130GBP0,00\n:61:26130C1,00NTRFNONREF//R1\n:62F:C261201GBP1,00\n",
                 .malformedStatement, "line 5"),
                ("other.xml", camtStatement(statementId: "S2", sequence: 1, opening: 0, date: "2026-12-01", entries: [(100, "x", "R2")],
                                            account: "GB82WEST12345698765432"), .unknownAccount, "GB82WEST12345698765432"),
            ]
            for (name, text, code, named) in cases {
                try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
                do {
                    _ = try await desk.importStatement(path: folder + "/" + name, format: nil)
                    Issue.record("\(name) was not refused")
                } catch let error as BankImportError {
                    #expect(error.code == code, "\(name): \(error)")
                    #expect(error.description.contains(named), "\(name): \(error)")
                }
            }
            #expect(try await store.bankStatements(account: nil, limit: 10).isEmpty)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: folder + "/kept")) ?? []).filter { !$0.hasPrefix(".") }.isEmpty)
        }
    }

    @Test("a person allocates a waiting entry (audited with them, queued for MILES); the day's report adds up to the statement",
          arguments: StoreKind.available)
    func handAllocationAndReport(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.syncedBankStore()
            let statements = temporaryDirectory("statements")
            defer { try? FileManager.default.removeItem(atPath: statements) }
            let desk = harness.bankDesk(store, statements: statements)
            _ = try await desk.importStatement(path: bankGolden + "/northern-example-camt053.xml", format: nil)
            let waiting = try await desk.queue(limit: 10)
            #expect(waiting.map(\.entry.bankReference) == ["B004", "B006"])
            let entry = try #require(waiting.first)
            // Typed in small letters, as the search takes them: the contract is C00000002, the invoice INV-00000002-026.
            let allocation = try await desk.allocate(entryId: entry.id, contractNumber: "c00000002", invoiceNumbers: ["inv-00000002-026"],
                                                     note: "phoned: J Smith pays for Dafydd",
                                                     by: "carol")
            #expect(allocation.contractNumber == "C00000002")
            #expect(allocation.allocatedBy == "carol" && allocation.lines.map(\.invoiceNumber) == ["INV-00000002-026"])
            #expect(try await desk.queue(limit: 10).map(\.entry.bankReference) == ["B006"])
            try await expectAllocationRefused(.notWaiting, desk, entryId: entry.id, contract: "C00000002")
            let other = try #require(waiting.last)
            try await expectAllocationRefused(.unknownContract, desk, entryId: other.id, contract: "C99999999")
            let unnamed = await #expect(throws: BankImportError.self) {
                try await desk.allocate(entryId: other.id, contractNumber: "", invoiceNumbers: [], note: nil, by: "carol")
            }
            #expect(unnamed?.description.contains("name the contract to allocate bank entry \(other.id) to") == true)
            try await expectAllocationRefused(.unknownInvoice, desk, entryId: other.id, contract: "C00000003", invoices: ["INV-NOT-OPEN"])
            try await expectAllocationRefused(.unknownEntry, desk, entryId: 999_999, contract: "C00000003")
            // A contract with nothing open: MILES takes no allocation without a line, so the entry keeps waiting.
            var settled: String?
            try await store.forEachContract { if settled == nil, $0.currency == .gbp, $0.openBalance.minorUnits == 0 { settled = $0.contractNumber } }
            try await expectAllocationRefused(.nothingOpen, desk, entryId: other.id, contract: try #require(settled))
            #expect(try await store.bankEntry(id: other.id)?.state == .toCheck)
            // A payment in euros waits for a person (no contract is in euros) and cannot be allocated to a contract in pounds.
            let euros = statements + "/euros.xml"
            try camtStatement(statementId: "EUR-1", sequence: 1, opening: 0, date: "2026-12-01", entries: [(9_900, "C00000003", "EU1")],
                              account: "DE89370400440532013000", currency: "EUR").write(toFile: euros, atomically: true, encoding: .utf8)
            _ = try await desk.importStatement(path: euros, format: nil)
            let euroEntry = try #require(try await desk.queue(limit: 10).first { $0.entry.amount.currency.code == "EUR" })
            try await expectAllocationRefused(.contractCurrencyMismatch, desk, entryId: euroEntry.id, contract: "C00000003")
            #expect(try await store.bankEntry(id: euroEntry.id)?.state == .toCheck)
            let audit = try await store.recentAuditEntries(limit: 50)
            #expect(audit.contains { $0.actor == "carol" && $0.details.contains("C00000002") })
            #expect(try await store.outboxEntries(state: .pending).contains { $0.clientReference == allocation.clientReference })

            let reports = try await desk.report(date: LocalDate(year: 2026, month: 12, day: 1)!)
            #expect(reports.map(\.currency.code) == ["EUR", "GBP"])
            #expect(reports.first?.waiting == BankDayReport.Line(count: 1, minorUnits: 9_900))
            let report = try #require(reports.first { $0.currency == .gbp })
            #expect(report.received.count == 6 && report.received.minorUnits == 121_260)
            #expect(report.allocatedAutomatically.count + report.allocatedByHand.count + report.waiting.count + report.inSuspense.count == 6)
            #expect(report.allocatedAutomatically.minorUnits + report.allocatedByHand.minorUnits + report.waiting.minorUnits
                    + report.inSuspense.minorUnits == report.received.minorUnits)
            #expect(report.allocatedByHand == BankDayReport.Line(count: 1, minorUnits: 5_000))
            #expect(report.overpaid == BankDayReport.Line(count: 1, minorUnits: 22_324))
            #expect(report.outgoing == BankDayReport.Line(count: 1, minorUnits: 2_500))
        }
    }
}

@Suite("bank import with the shipped defaults")
struct BankDefaultsTests {
    @Test("with no statements folder configured, the file is kept in ./statements of the working directory")
    func defaultStatementsFolder() async throws {
        let folder = temporaryDirectory("bank-defaults")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "MILES_ADAPTER_DATABASE": folder + "/store.sqlite",
                           "MILES_ADAPTER_MAPPINGS": repositoryMappings]
        let run = try await runAdapterSeparately(["bank", "import", bankGolden + "/northern-example-camt053.xml"], environment: environment,
                                                 in: folder, inheritingEnvironment: false)
        #expect(run.status == 0, "\(run.errors)")
        let kept = try FileManager.default.contentsOfDirectory(atPath: folder + "/statements").filter { $0.hasSuffix(".xml") }
        #expect(kept.count == 1 && kept.allSatisfy { $0.count == 64 + ".xml".count }, "\(kept)")
        // Stored absolute, so a resume from another working directory finds it.
        let stored = try await SQLiteStore(path: folder + "/store.sqlite").bankStatements(account: nil, limit: 10)
        #expect(stored.count == 2 && stored.allSatisfy { $0.statement.storedPath.hasPrefix(folder) }, "\(stored.map(\.statement.storedPath))")
    }
}

/// Allocating entry `entryId` by hand is refused with `code`, naming what was wrong.
func expectAllocationRefused(_ code: BankImportErrorCode, _ desk: BankDesk, entryId: Int64, contract: String, invoices: [String] = [],
                             sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let error = await #expect(throws: BankImportError.self, sourceLocation: sourceLocation) {
        try await desk.allocate(entryId: entryId, contractNumber: contract, invoiceNumbers: invoices, note: nil, by: "carol")
    }
    #expect(error?.code == code, "\(error.map(String.init(describing:)) ?? "no error")", sourceLocation: sourceLocation)
}

/// camt.053 text for tests: statements of `entries` on the default account, each entry (amount in pence, remittance,
/// bank reference) a payment in; the balances add up.
func camtStatement(statementId: String, sequence: Int, opening: Int64, date: String, entries: [(Int64, String, String)],
                   account: String = "GB33BUKB20201555555555", currency: String = "GBP") -> String {
    MockBankStatement(statementId: statementId, sequence: sequence, date: date, account: account, currency: currency, opening: opening,
                      payments: entries.map { MockBankStatement.Payment(minorUnits: $0.0, remittance: $0.1, reference: $0.2) })
        .text(.camt053)
}

@Suite("Bank statement import survives a kill", .serialized, .timeLimit(.minutes(8)))
struct BankCrashTests {
    @Test("'bank import' killed with SIGKILL in the middle of a 100,000-entry statement (20,000 on PostgreSQL), then run again: every entry stored and decided once",
          arguments: StoreKind.available)
    func killedMidStatement(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.syncedBankStore()
            // The issue's 100,000 on SQLite. On PostgreSQL 20,000: the debug build the tests run stores
            // about 850 entries a second there (about 4,700 in release), and the kill and the resume are
            // the same at any size past the first batches.
            let count = kind == .sqlite ? 100_000 : 20_000
            // Each payment quotes its contract and an open invoice of it, where it has one: sure enough to allocate.
            var quoted: [String] = []
            for number in (1...60).map({ "C" + String(format: "%08d", $0) }) {
                let invoice = try await store.contract(number: number)?.openInvoices.first?.number
                quoted.append(number + (invoice.map { " " + $0 } ?? ""))
            }
            let entries = (1...count).map { index in (Int64(100 + index % 50), "\(quoted[index % 60]) payment \(index)", "K\(index)") }
            let folder = temporaryDirectory("bank-crash")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let file = folder + "/big.xml"
            try camtStatement(statementId: "BIG-1", sequence: 1, opening: 0, date: "2026-12-01", entries: entries)
                .write(toFile: file, atomically: true, encoding: .utf8)
            let environment = ["MILES_ADAPTER_STATEMENTS": folder + "/kept"]
            let arguments = ["bank", "import", file, "--batch-size", "1000"]
            // The import keeps both cores busy (it reads the next batch while storing one): niced, the suite's
            // other tests keep their time limits.
            let first = try AdapterProcess(arguments, harness: harness, environment: environment, niceness: 10)
            let midway = try await waitUntil(seconds: 120) {
                try await store.bankStatements(account: nil, limit: 1).first.map { $0.positionsDone > 5_000 } ?? false
            }
            #expect(midway)
            kill(first.process.processIdentifier, SIGKILL)
            #expect(await first.exitStatus() == SIGKILL)
            let killedAt = try #require(try await store.bankStatements(account: nil, limit: 1).first)
            #expect(killedAt.state == .importing && killedAt.positionsDone < count)

            let second = try AdapterProcess(arguments, harness: harness, environment: environment, niceness: 10)
            #expect(await second.exitStatus() == 0)
            let statement = try #require(try await store.bankStatements(account: nil, limit: 10).first)
            #expect(statement.state == .imported && statement.positionsDone == count)
            var stored: [StoredBankEntry] = []
            for state in BankEntryState.allCases { stored += try await store.bankEntries(state: state, limit: .max) }
            #expect(stored.count == count)
            #expect(Set(stored.map(\.identity)).count == count)
            let everyReference = Set(stored.compactMap(\.entry.bankReference)) == Set(entries.map(\.2))
            #expect(everyReference)
            // One AllocatePayment queued per allocated entry, none twice.
            let allocated = stored.filter { $0.state == .allocated }
            let queued = try await store.outboxEntries(state: .pending).filter { $0.kind == .allocatePayment }
            #expect(queued.count == allocated.count)
            let queuedAreAllocated = Set(queued.map(\.subjectId)) == Set(allocated.map(\.id))
            #expect(queuedAreAllocated)
            #expect(!allocated.isEmpty)
        }
    }
}

/// A bank store that lets `interfere` act on the store (as another import would) just before a batch
/// is stored, once: the first time it returns true.
private actor InterferingBankStore: BankStore {
    let inner: any BankStore
    let interfere: @Sendable (any BankStore, [BankEntryOutcome]) async throws -> Bool
    private var done = false

    init(_ inner: any BankStore, interfere: @escaping @Sendable (any BankStore, [BankEntryOutcome]) async throws -> Bool) {
        self.inner = inner
        self.interfere = interfere
    }

    func applyBankBatch(statementId: Int64, throughPosition: Int, outcomes: [BankEntryOutcome], by actor: String,
                        at: Timestamp) async throws -> BankBatchResult {
        if !done { done = try await interfere(inner, outcomes) }
        return try await inner.applyBankBatch(statementId: statementId, throughPosition: throughPosition, outcomes: outcomes, by: actor, at: at)
    }

    func lastClosingBalance(account: String) async throws -> BankBalance? { try await inner.lastClosingBalance(account: account) }
    func receiveBankStatement(_ statement: NewBankStatement, at: Timestamp) async throws -> (statement: StoredBankStatement, isNew: Bool) {
        try await inner.receiveBankStatement(statement, at: at)
    }
    func bankStatement(id: Int64) async throws -> StoredBankStatement? { try await inner.bankStatement(id: id) }
    func bankStatements(account: String?, limit: Int) async throws -> [StoredBankStatement] {
        try await inner.bankStatements(account: account, limit: limit)
    }
    func storedBankEntryIdentities(_ identities: [String]) async throws -> Set<String> { try await inner.storedBankEntryIdentities(identities) }
    func bankMatchData(contractNumbers: Set<String>, invoiceNumbers: Set<String>, payerAccounts: Set<String>) async throws -> BankMatchData {
        try await inner.bankMatchData(contractNumbers: contractNumbers, invoiceNumbers: invoiceNumbers, payerAccounts: payerAccounts)
    }
    func bankEntryReversed(by reversal: BankEntry, account: String) async throws -> StoredBankEntry? {
        try await inner.bankEntryReversed(by: reversal, account: account)
    }
    func finishBankStatement(id: Int64, at: Timestamp) async throws { try await inner.finishBankStatement(id: id, at: at) }
    func bankEntry(id: Int64) async throws -> StoredBankEntry? { try await inner.bankEntry(id: id) }
    func bankEntries(state: BankEntryState, limit: Int) async throws -> [StoredBankEntry] { try await inner.bankEntries(state: state, limit: limit) }
    func bankSuspense(limit: Int) async throws -> [StoredBankEntry] { try await inner.bankSuspense(limit: limit) }
    func allocateBankEntry(id: Int64, contractNumber: String, lines: [AllocationLine], suspense: Money, reason: String,
                           by actor: String, at: Timestamp) async throws -> PaymentAllocation {
        try await inner.allocateBankEntry(id: id, contractNumber: contractNumber, lines: lines, suspense: suspense, reason: reason, by: actor, at: at)
    }
    func bankDayReport(date: LocalDate) async throws -> [BankDayReport] { try await inner.bankDayReport(date: date) }
}
