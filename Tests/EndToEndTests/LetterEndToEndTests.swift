import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesMock
import MilesSync
import TestSupport
import Testing

extension SyncHarness {
    func contractDesk(_ store: any ContractDesk.Stores) -> ContractDesk { ContractDesk(store: store, mappings: mappings) }
}

@Suite("Letters MILES issues: asked once, served on MILES's date, read by the guards", .serialized, .timeLimit(.minutes(3)))
struct LetterEndToEndTests {
    @Test("a default notice asked twice, its answer lost, is issued once; the s.87 guard reads the date MILES serves it",
          arguments: StoreKind.available)
    func defaultNoticeOnce(kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let contract = try #require(candidates.first { $0.arrears.amount.minorUnits > 0 })
            let desk = harness.contractDesk(store)
            let first = try await desk.requestLetter(contractNumber: contract.contractNumber, type: .defaultNotice, by: "bob")
            guard case let .created(id) = first else { Issue.record("not queued: \(first)"); return }
            #expect(try await desk.requestLetter(contractNumber: contract.contractNumber, type: .defaultNotice, by: "bob") == .alreadyRequested(id: id))

            await harness.server.miles.injectFault(FaultRule(operation: "RequestCustomerLetter", count: 1, afterProcessing: true))
            let summary = try await harness.relay(store).run()
            #expect(summary.lettersIssued == 1 && summary.retriesScheduled == 1)
            let ledger = await harness.server.miles.letterLedger()
            #expect(ledger.count == 1)
            let served = try #require(ledger.first)
            #expect(served.clientReference == "LT-\(id)" && served.letterType == "DEFN")
            let letter = try #require(try await store.letterRequest(id: id))
            #expect(letter.state == .issued && letter.milesLetterId == served.letterId)
            let notices = try await store.notices(contractNumber: contract.contractNumber)
            #expect(notices.defaultNotice == ContractNotices.DefaultNotice(served: served.serveDate, remedyDate: try #require(served.remedyDate)))
            #expect(notices.defaultNotice?.served == (await harness.server.miles.businessClock).date.adding(days: 2))

            // The guard reads MILES's dates: placement is refused until the remedy date has passed, and not after.
            let remedy = try #require(served.remedyDate)
            func noticeRefusal(on date: LocalDate) async throws -> GuardRefusal? {
                CollectionsGuards.check(.agencyPlacement, contract: contract, holds: [], notices: try await store.notices(contractNumber: contract.contractNumber),
                                        on: date).first { $0.rule == CollectionsGuards.defaultNoticeRule }
            }
            #expect(try await noticeRefusal(on: remedy)?.reason.contains("remedy date \(remedy) has not passed") == true)
            #expect(try await noticeRefusal(on: remedy.adding(days: 1)) == nil)
            // Once issued, another default notice is a new letter (the first one is no longer queued).
            guard case .created = try await desk.requestLetter(contractNumber: contract.contractNumber, type: .defaultNotice, by: "bob") else {
                Issue.record("a new default notice after the first was issued was not queued")
                return
            }
        }
    }

    @Test("letters MILES should not send are refused: no arrears to notify, or a default notice during breathing space",
          arguments: StoreKind.available)
    func refusals(kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore()
            var clean: Contract?
            var behind: Contract?
            try await store.forEachContract { contract in
                if clean == nil, contract.arrears.amount.minorUnits == 0 { clean = contract }
                if behind == nil, contract.arrears.amount.minorUnits > 0 { behind = contract }
            }
            let desk = harness.contractDesk(store)
            do {
                _ = try await desk.requestLetter(contractNumber: try #require(clean).contractNumber, type: .arrearsNotice, by: "bob")
                Issue.record("an arrears notice was queued for a contract with no arrears")
            } catch let error as ContractDeskError {
                #expect(error.code == .refusedByRules && error.description.contains("has no arrears"))
            }
            let number = try #require(behind).contractNumber
            try await store.recordHold(ContractHold(kind: .breathingSpace, reason: "DRS registration", setBy: "bob", setOn: CollectionsClock.system().date),
                                       contractNumber: number, placedWith: nil, instruction: nil, at: CollectionsClock.system())
            do {
                _ = try await desk.requestLetter(contractNumber: number, type: .defaultNotice, by: "bob")
                Issue.record("a default notice was queued during breathing space")
            } catch let error as ContractDeskError {
                #expect(error.description.contains("breathing space"))
            }
            #expect(try await store.outboxEntries(state: nil).isEmpty)

            // A default notice asked for before breathing space began is not sent once it has.
            let other = try #require(try await harness.syncedAnyStore().1.first { $0.arrears.amount.minorUnits > 0 && $0.contractNumber != number })
            _ = try await desk.requestLetter(contractNumber: other.contractNumber, type: .defaultNotice, by: "bob")
            try await store.recordHold(ContractHold(kind: .breathingSpace, reason: "DRS registration", setBy: "bob", setOn: CollectionsClock.system().date),
                                       contractNumber: other.contractNumber, placedWith: nil, instruction: nil, at: CollectionsClock.system())
            let pushed = try await harness.relay(store).run()
            #expect(pushed.deadLettered == 1 && pushed.lettersIssued == 0)
            #expect(try await store.letterRequests(contractNumber: other.contractNumber).first?.failureReason?.contains("breathing space") == true)
            #expect(await harness.server.miles.letterLedger().isEmpty)
        }
    }

    @Test("a letter about a decision nobody made is refused: a confirmation with no arrangement agreed, a partial write-off notice before a partial write-off is posted; once posted, the notice is asked for",
          arguments: StoreKind.available)
    func lettersNeedTheirDecision(kind: StoreKind) async throws {
        try await withHarness(contracts: 100, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let contract = try #require(candidates.first)
            let desk = harness.contractDesk(store)
            func refusal(_ type: LetterType) async -> ContractDeskError? {
                do {
                    _ = try await desk.requestLetter(contractNumber: contract.contractNumber, type: type, by: "bob")
                    return nil
                } catch { return error as? ContractDeskError }
            }
            let confirmation = await refusal(.arrangementConfirmation)
            #expect(confirmation?.code == .refusedByRules && confirmation?.description.contains("no payment arrangement running in MILES") == true,
                    "\(confirmation.map(String.init(describing:)) ?? "queued")")
            #expect(await refusal(.partialWriteOffNotice)?.description.contains("no partial write-off posted in MILES") == true)

            // £1.00 of it written off and approved: not made until MILES posts it.
            _ = try await harness.approvedWriteOffs([contract], store: store)
            #expect(await refusal(.partialWriteOffNotice)?.description.contains("no partial write-off posted in MILES") == true)
            #expect(try await store.outboxEntries(state: nil).allSatisfy { $0.kind == .postWriteOff })
            #expect(try await harness.relay(store).run().posted == 1)
            #expect(await refusal(.partialWriteOffNotice) == nil)
            #expect(try await store.letterRequests(contractNumber: contract.contractNumber).map(\.type) == [.partialWriteOffNotice])
        }
    }

    @Test("the s.86B report asks MILES for every notice due, once each, however often it runs; push issues them and they are no longer due",
          arguments: StoreKind.available)
    func arrearsNoticesFromTheReport(kind: StoreKind) async throws {
        try await withHarness(contracts: 300, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore()
            let scratch = try await ScratchSetup(harness: harness)
            defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
            let today = CollectionsClock.system().date
            let due = try await ReportDesk(store: store).arrearsNoticesDue(on: today)
            try #require(due.count >= 2, "the seeded portfolio has contracts owed an s.86B notice")
            let first = try await scratch.run(["report", "notices-due", "--request"], as: "bob")
            #expect(first.status == 0, "\(first.errors)")
            #expect(first.output.contains("\(due.count) arrears notices queued for MILES, 0 already queued"), "\(first.output)")
            let again = try await scratch.run(["report", "notices-due", "--request"], as: "bob")
            #expect(again.output.contains("0 arrears notices queued for MILES, \(due.count) already queued"), "\(again.output)")
            #expect(try await scratch.run(["push"], as: "bob").status == 0)
            let ledger = await harness.server.miles.letterLedger()
            #expect(ledger.count == due.count)
            #expect(Set(ledger.map(\.contractNumber)) == Set(due.map(\.contractNumber)))
            #expect(ledger.allSatisfy { $0.letterType == "ARRN" })
            #expect(try await ReportDesk(store: store).arrearsNoticesDue(on: today).isEmpty)
        }
    }
}

@Suite("Letters survive a killed push", .serialized, .timeLimit(.minutes(2)))
struct LetterCrashTests {
    @Test("push killed with SIGKILL between MILES issuing a letter and recording it, then run again: one letter, one notice",
          arguments: StoreKind.available)
    func killedBetweenCallAndRecord(kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let contract = try #require(candidates.first { $0.arrears.amount.minorUnits > 0 })
            _ = try await harness.contractDesk(store).requestLetter(contractNumber: contract.contractNumber, type: .arrearsNotice, by: "bob")
            await harness.server.miles.injectFault(FaultRule(operation: "RequestCustomerLetter", count: 1, afterProcessing: true,
                                                             delayMilliseconds: 3_000))
            let first = try AdapterProcess(["push"], harness: harness)
            #expect(try await waitUntil(seconds: 60) { await harness.server.miles.letterLedger().count == 1 })
            kill(first.process.processIdentifier, SIGKILL)
            #expect(await first.exitStatus() == SIGKILL)
            #expect(try await store.outboxEntries(state: .sending).count == 1)

            await harness.server.miles.clearFaults()
            let second = try AdapterProcess(["push"], harness: harness)
            #expect(await second.exitStatus() == 0)
            let ledger = await harness.server.miles.letterLedger()
            #expect(ledger.count == 1)
            #expect(try await store.notices(contractNumber: contract.contractNumber).arrearsNoticesSent == [ledger[0].serveDate])
            #expect(try await store.letterRequests(contractNumber: contract.contractNumber).map(\.state) == [.issued])
        }
    }
}
