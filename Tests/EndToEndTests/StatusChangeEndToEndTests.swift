import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesMock
import MilesSync
import TestSupport
import Testing

@Suite("Status changes: guards, version-safe pushes", .serialized, .timeLimit(.minutes(2)))
struct StatusChangeEndToEndTests {
    /// Defaulted contracts (MILES status DEF) in a synced store, each with a default notice whose remedy date has passed.
    func defaultedContracts(_ harness: SyncHarness) async throws -> (any CollectionsStores, [Contract]) {
        let (store, _) = try await harness.syncedAnyStore()
        var defaulted: [Contract] = []
        try await store.forEachContract { if $0.statusCode == "DEF", !$0.customer.vulnerable { defaulted.append($0) } }
        for contract in defaulted {
            try await store.recordNotice(contractNumber: contract.contractNumber, arrearsNoticeSentOn: nil,
                                   defaultNotice: .init(served: LocalDate.parse("2026-01-05")!, remedyDate: LocalDate.parse("2026-01-25")!),
                                   by: "bob", at: CollectionsClock.system())
        }
        return (store, defaulted)
    }

    func user(_ name: String, _ harness: SyncHarness, _ store: any CollectionsStores) throws -> CollectionsUser {
        try WriteOffDesk(store: store, mappings: harness.mappings).user(named: name, roles: teamRoles)
    }

    @Test("MILES changes the contract between sync and push: the relay re-reads, re-checks and succeeds on the new version",
          arguments: StoreKind.available)
    func versionConflictResolved(kind: StoreKind) async throws {
        try await withHarness(contracts: 400, store: kind) { harness in
            let (store, defaulted) = try await defaultedContracts(harness)
            let contract = try #require(defaulted.first)
            let desk = ContractDesk(store: store, mappings: harness.mappings)
            let id = try await desk.requestStatusChange(contractNumber: contract.contractNumber, to: .placedWithAgent, reasonCode: "DCAP",
                                                  effectiveDate: LocalDate.parse("2026-11-29")!, 
                                                  by: try user("bob", harness, store), overrides: [:])
            let newVersion = try #require(await harness.server.miles.changeBehindTheAdaptersBack(contractNumber: contract.contractNumber))
            let summary = try await harness.relay(store).run()
            #expect(summary.conflictsResolved == 1 && summary.statusChangesApplied == 1)
            let change = try #require(try await store.statusChange(id: id))
            #expect(change.state == .applied)
            #expect(change.expectedVersion == newVersion)
            let inMiles = try #require(await harness.server.miles.contract(number: contract.contractNumber))
            #expect(inMiles.statusCode == "DCA")
            #expect(change.milesVersion == inMiles.version)
            let calls = await harness.server.miles.journalEntries().filter { $0.operation == "UpdateContractStatus" }
            #expect(calls.map(\.outcome) == ["fault:VERSION_CONFLICT", "ok"])
        }
    }

    @Test("INVALID_TRANSITION from MILES is a business rejection: dead-lettered with MILES's code, nothing retried",
          arguments: StoreKind.available)
    func invalidTransitionFromMiles(kind: StoreKind) async throws {
        try await withHarness(contracts: 400, store: kind) { harness in
            let (store, defaulted) = try await defaultedContracts(harness)
            let contract = try #require(defaulted.first)
            let id = try await ContractDesk(store: store, mappings: harness.mappings).requestStatusChange(
                contractNumber: contract.contractNumber, to: .legal, reasonCode: "LEGL", effectiveDate: LocalDate.parse("2026-11-29")!,
                by: try user("bob", harness, store), overrides: [:])
            await harness.server.miles.injectFault(FaultRule(operation: "UpdateContractStatus", count: 1, faultCode: "INVALID_TRANSITION"))
            let summary = try await harness.relay(store).run()
            #expect(summary.deadLettered == 1 && summary.retriesScheduled == 0)
            #expect(try await store.statusChange(id: id)?.failureReason?.contains("INVALID_TRANSITION") == true)
            #expect(await harness.server.miles.journalEntries().filter { $0.operation == "UpdateContractStatus" }.count == 1)
        }
    }

    @Test("after a version conflict the fresh data fails a guard (the customer became vulnerable): dead-lettered with the rule",
          arguments: StoreKind.available)
    func versionConflictNowRefused(kind: StoreKind) async throws {
        try await withHarness(contracts: 400, store: kind) { harness in
            let (store, defaulted) = try await defaultedContracts(harness)
            let contract = try #require(defaulted.first)
            let desk = ContractDesk(store: store, mappings: harness.mappings)
            let id = try await desk.requestStatusChange(contractNumber: contract.contractNumber, to: .placedWithAgent, reasonCode: "DCAP",
                                                  effectiveDate: LocalDate.parse("2026-11-29")!, 
                                                  by: try user("bob", harness, store), overrides: [:])
            _ = await harness.server.miles.changeBehindTheAdaptersBack(contractNumber: contract.contractNumber, customerVulnerable: true)
            let summary = try await harness.relay(store).run()
            #expect(summary.deadLettered == 1 && summary.statusChangesApplied == 0)
            let change = try #require(try await store.statusChange(id: id))
            #expect(change.state == .failed)
            #expect(change.failureReason?.contains(CollectionsGuards.holdRule) == true)
            #expect(await harness.server.miles.contract(number: contract.contractNumber)?.statusCode == "DEF")
            #expect(try await store.contract(number: contract.contractNumber)?.customer.vulnerable == true)
        }
    }

    @Test("a change the guards refuse is not queued; an override by the role the matrix names goes through and is audited",
          arguments: StoreKind.available)
    func guardsAndOverrides(kind: StoreKind) async throws {
        try await withHarness(contracts: 400, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore()
            var defaulted: Contract?
            try await store.forEachContract { if defaulted == nil, $0.statusCode == "DEF", !$0.customer.vulnerable { defaulted = $0 } }
            let contract = try #require(defaulted)
            let desk = ContractDesk(store: store, mappings: harness.mappings)
            let today = LocalDate.parse("2026-11-29")!
            do {
                _ = try await desk.requestStatusChange(contractNumber: contract.contractNumber, to: .placedWithAgent, reasonCode: "DCAP",
                                                 effectiveDate: today, by: try user("bob", harness, store), overrides: [:])
                Issue.record("a placement without a default notice was queued")
            } catch let error as ContractDeskError {
                #expect(error.description.contains(CollectionsGuards.defaultNoticeRule))
            }
            #expect(try await store.outboxEntries(state: nil).isEmpty)
            // A team leader may not override it; a head of credit may, with a reason.
            await #expect(throws: ContractDeskError.self) {
                try await desk.requestStatusChange(contractNumber: contract.contractNumber, to: .placedWithAgent, reasonCode: "DCAP",
                                             effectiveDate: today, by: try user("bob", harness, store),
                                             overrides: [CollectionsGuards.defaultNoticeRule: "customer asked for it"])
            }
            let id = try await desk.requestStatusChange(contractNumber: contract.contractNumber, to: .placedWithAgent, reasonCode: "DCAP",
                                                  effectiveDate: today, by: try user("carol", harness, store),
                                                  overrides: [CollectionsGuards.defaultNoticeRule: "voluntary placement agreed with the customer"])
            #expect(try await store.statusChange(id: id)?.overrides.first?.by == "carol")
            #expect(try await store.auditEntries().contains { $0.action == "guard.overridden" && $0.details.contains("voluntary placement") })
            // A hold blocks repossession for anyone below the matrix's override role for holds (finance director).
            try await ContractDesk(store: store, mappings: harness.mappings)
                .setHold(contractNumber: contract.contractNumber, kind: .dispute, reason: "customer disputes the arrears", by: "bob")
            do {
                _ = try await desk.requestStatusChange(contractNumber: contract.contractNumber, to: .repossession, reasonCode: "REPO",
                                                 effectiveDate: today, evidence: .init(courtOrderReference: "CO-1"), by: try user("carol", harness, store),
                                                 overrides: [CollectionsGuards.defaultNoticeRule: "x", CollectionsGuards.holdRule: "y"])
                Issue.record("a repossession on a held account was queued")
            } catch let error as ContractDeskError {
                #expect(error.description.contains(CollectionsGuards.holdRule))
                #expect(error.description.contains("override refused"))
            }
        }
    }

    @Test("a batch of status changes: refused rows are reported with their line and never block the good ones",
          arguments: StoreKind.available)
    func batchFile(kind: StoreKind) async throws {
        try await withHarness(contracts: 400, store: kind) { harness in
            let (store, defaulted) = try await defaultedContracts(harness)
            let path = try harness.writeOffFile([])
            try ([
                "contract_number,to,reason_code,effective_date,court_order_reference",
                "\(defaulted[0].contractNumber),placedWithAgent,DCAP,2026-11-29,",   // line 2: fine
                "\(defaulted[1].contractNumber),flying,DCAP,,",                        // line 3: not a status
                "C99999999,legal,LEGL,,",                                              // line 4: unknown contract
                "\(defaulted[2].contractNumber),active,ACTV,,",                        // line 5: not a transition from defaulted
                "\(defaulted[3].contractNumber),legal,LEGL,29/11/2026,",               // line 6: bad date
                "\(defaulted[4].contractNumber),legal,NOPE,,",                         // line 7: unknown reason code
            ].joined(separator: "\n")).write(toFile: path, atomically: true, encoding: .utf8)
            let report = await ContractDesk(store: store, mappings: harness.mappings)
                .requestStatusChanges(try StatusChangeFile(path: path), by: try user("bob", harness, store), today: LocalDate.parse("2026-11-29")!)
            #expect(report.queued.map(\.line) == [2])
            #expect(report.refused.map(\.line) == [3, 4, 5, 6, 7])
            #expect(report.refused[4].reason.contains("statusChangeReasons"))
            #expect(report.refused[2].reason.contains("status-transition"))
        }
    }

    @Test("a note goes to MILES once through the outbox, even when the first answer is lost",
          arguments: StoreKind.available)
    func note(kind: StoreKind) async throws {
        try await withHarness(contracts: 100, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore(minimumOpen: 0)
            let contract = try #require(candidates.first)
            let id = try await store.queueNote(ContractNote(id: 0, contractNumber: contract.contractNumber, category: "COLL",
                                                      text: "Called the customer; promise to pay £50 on Friday & then monthly",
                                                      source: "miles-adapter:bob", requestedBy: "bob", requestedAt: CollectionsClock.system(),
                                                      state: .queued))
            await harness.server.miles.injectFault(FaultRule(operation: "AddContractNote", count: 1, afterProcessing: true))
            let summary = try await harness.relay(store).run()
            #expect(summary.notesAdded == 1)
            let filed = await harness.server.miles.contractNotes()
            #expect(filed.count == 1)
            #expect(filed.first?.text == "Called the customer; promise to pay £50 on Friday & then monthly")
            #expect(try await store.note(id: id)?.milesNoteId == filed.first?.noteId)
        }
    }

    @Test("an unknown MILES status code in a sync is stored as sent and the sync succeeds",
          arguments: StoreKind.available)
    func unknownStatusCode(kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore()
            await harness.server.miles.setStatusCode(contractNumber: "C00000007", to: "XQZ")
            let summary = try await harness.sync(store: store).run(mode: .resume)
            #expect(summary.outcome == .completed && summary.received == 1)
            #expect(try await store.contract(number: "C00000007")?.statusCode == "XQZ")
            #expect(harness.mappings.statusCodes.internalStatus(forMilesCode: "XQZ") == nil)
            let check = try AdapterProcess(["mappings", "check", "--against-store"], harness: harness)
            #expect(await check.exitStatus() == 4)
            await harness.server.miles.setStatusCode(contractNumber: "C00000007", to: "ACT")
            _ = try await harness.sync(store: store).run(mode: .resume)
            let clean = try AdapterProcess(["mappings", "check", "--against-store"], harness: harness)
            #expect(await clean.exitStatus() == 0)
        }
    }
}
