import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesMock
import MilesSOAP
import MilesSync
import TestSupport
import Testing

extension SyncHarness {
    func arrangementDesk(_ store: any CollectionsStores) async -> ArrangementDesk { ArrangementDesk(store: store, mappings: mappings) }

    /// A day no earlier than today for the desk (the system's clock) nor for MILES (the mock's business
    /// clock, which the sync's arrangement check judges on): plans are dated from it.
    func planningDay() async -> LocalDate { max(CollectionsClock.system().date, await server.miles.businessClock.date) }

    /// A sync that checks the payment arrangements, as `sync contracts` does.
    func monitoredSync(store: any CollectionsStores) -> ContractSync {
        let connection = MilesConnection(
            endpoint: server.endpoint,
            credentials: MilesCredentials(username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword))
        return ContractSync(gateway: MilesGateway(connection: connection, mappings: mappings), store: store,
                            configuration: ContractSync.Configuration(pageSize: 200),
                            monitoring: ArrangementMonitoring(store: store, mappings: mappings))
    }

    /// Moves MILES's business date on to `date` (nothing else changes).
    func advanceMiles(to date: LocalDate) async {
        while await server.miles.businessClock.date < date { await server.miles.advanceDay(changes: 0) }
    }
}

@Suite("Payment arrangements end to end: proposed, approved, created in MILES, monitored, broken, closed", .serialized,
       .timeLimit(.minutes(3)))
struct ArrangementEndToEndTests {
    @Test("a plan is created in MILES once; the payments keep the first instalment; the second, missed past the grace days, breaks it; closing it moves the contract back to arrears (PPBR) in MILES through the guards",
          arguments: StoreKind.available)
    func brokenArrangement(kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore()
            var candidate: Contract?
            try await store.forEachContract { if candidate == nil, $0.statusCode == "ARR", $0.arrears.amount.minorUnits > 0 { candidate = $0 } }
            let contract = try #require(candidate)
            let desk = await harness.arrangementDesk(store)
            let today = await harness.planningDay()
            // An instalment of the contractual payment is an agent's to agree; a team leader approves it.
            let instalment = contract.monthlyPayment
            let plan = try PaymentArrangement.regular(contractNumber: contract.contractNumber, frequency: .monthly, firstDate: today.adding(days: 5),
                                                      count: 3, amount: instalment)
            let income = IncomeAndExpenditure(monthlyIncome: Money(minorUnits: instalment.minorUnits + 50_000, currency: contract.currency),
                                              monthlyExpenditure: Money(minorUnits: 50_000, currency: contract.currency), recordedOn: today, recordedBy: "alice")
            let (alice, bob) = (try harness.person("alice"), try harness.person("bob"))
            let id = try await desk.propose(plan, income: income, by: alice)
            do {
                _ = try await desk.propose(plan, income: income, by: alice)
                Issue.record("a second arrangement was proposed for the same contract")
            } catch let error as ArrangementDeskError {
                #expect(error.code == .wrongState && error.description.contains("already has arrangement \(id)"))
            }
            #expect(await desk.approve(ids: [id], by: alice, comment: nil)[0].result.failure?.code == .approvalRefused)
            #expect(await desk.approve(ids: [id], by: bob, comment: "affordable")[0].result.success == true)

            await harness.server.miles.injectFault(FaultRule(operation: "CreatePaymentArrangement", count: 1, afterProcessing: true))
            let pushed = try await harness.relay(store).run()
            #expect(pushed.arrangementsCreated == 1 && pushed.retriesScheduled == 1)
            let created = await harness.server.miles.arrangementLedger()
            #expect(created.count == 1 && created[0].clientReference == "AR-\(id)" && created[0].instalments.count == 3)
            let active = try #require(try await store.arrangement(id: id))
            #expect(active.state == .active && active.milesArrangementId == created[0].arrangementId)
            #expect(active.paidBefore == contract.paidToDate)

            // The customer pays the first instalment; a sync after its due date finds the plan kept.
            await harness.server.miles.modifyContract(number: contract.contractNumber) { $0.paidToDate.minorUnits += instalment.minorUnits }
            await harness.advanceMiles(to: plan.instalments[0].dueDate.adding(days: 4))
            let kept = try await harness.monitoredSync(store: store).run(mode: .resume)
            #expect(kept.arrangements == ArrangementMonitoring.Outcome())
            #expect(try await store.contract(number: contract.contractNumber)?.statusCode == "PPL")

            // The second is not paid: on the last day of grace the plan stands; the day after, the next sync breaks it.
            let second = plan.instalments[1].dueDate
            await harness.advanceMiles(to: second.adding(days: 3))
            #expect(try await harness.monitoredSync(store: store).run(mode: .resume).arrangements.broken.isEmpty)
            await harness.advanceMiles(to: second.adding(days: 4))
            let broken = try await harness.monitoredSync(store: store).run(mode: .resume)
            #expect(broken.arrangements.broken == [id])
            let brokenArrangement = try #require(try await store.arrangement(id: id))
            #expect(brokenArrangement.state == .broken)
            #expect(brokenArrangement.outcome?.contains("due \(second) was not paid within 3 days") == true)

            // Closing it: never the proposer; an approver's decision goes through the guards and reaches MILES.
            do {
                _ = try await desk.close(id: id, by: alice)
                Issue.record("the proposer closed the arrangement")
            } catch let error as ArrangementDeskError {
                #expect(error.code == .approvalRefused)
            }
            let change = try await desk.close(id: id, by: bob)
            #expect(try await store.statusChange(id: change)?.reasonCode == "PPBR")
            #expect(try await store.arrangement(id: id)?.state == .closed)
            // Ending it in MILES fails for good at first; retried by hand, the arrangement stays closed.
            await harness.server.miles.injectFault(FaultRule(operation: "CancelPaymentArrangement", count: 1, faultCode: "INVALID_REQUEST"))
            let refused = try await harness.relay(store).run()
            #expect(refused.statusChangesApplied == 1 && refused.deadLettered == 1)
            #expect(try await store.arrangement(id: id)?.state == .closed)
            let deadLetter = try #require(try await store.outboxEntries(state: .deadLetter).first)
            try await store.retryOutboxEntry(id: deadLetter.id, by: "bob", at: CollectionsClock.system())
            #expect(try await store.arrangement(id: id)?.state == .closed)
            let closing = try await harness.relay(store).run()
            #expect(closing.arrangementsCancelled == 1)
            #expect(await harness.server.miles.arrangementLedger().map(\.cancelled) == [true])
            #expect(try await store.arrangement(id: id)?.state == .closed)
            #expect(await harness.server.miles.contract(number: contract.contractNumber)?.statusCode == "ARR")
            #expect(await harness.server.miles.journalEntries().contains {
                $0.operation == "UpdateContractStatus" && $0.parameters["ReasonCode"] == "PPBR" && $0.outcome == "ok"
            })
            #expect(try await store.verifyAudit() == .intact(entries: try await store.auditEntries().count))
        }
    }

    @Test("risk: the first broken plan raises no alert; the second broken within 12 months raises arrangements-broken for the team leader",
          arguments: StoreKind.available)
    func secondBreakIsRisky(kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore()
            var candidate: Contract?
            try await store.forEachContract { if candidate == nil, $0.statusCode == "ARR", $0.arrears.amount.minorUnits > 0 { candidate = $0 } }
            let contract = try #require(candidate)
            let (alice, bob) = (try harness.person("alice"), try harness.person("bob"))
            func breakAPlan() async throws -> Int64 {
                let desk = await harness.arrangementDesk(store)
                let today = await harness.planningDay()
                let plan = try PaymentArrangement.regular(contractNumber: contract.contractNumber, frequency: .monthly, firstDate: today.adding(days: 1),
                                                          count: 2, amount: contract.monthlyPayment)
                let id = try await desk.propose(plan, income: IncomeAndExpenditure(
                    monthlyIncome: contract.monthlyPayment, monthlyExpenditure: Money(minorUnits: 0, currency: contract.currency), recordedOn: today,
                    recordedBy: "alice"), by: alice)
                _ = await desk.approve(ids: [id], by: bob, comment: nil)
                _ = try await harness.relay(store).run()
                await harness.advanceMiles(to: plan.firstDate.adding(days: 4))
                #expect(try await harness.monitoredSync(store: store).run(mode: .resume).arrangements.broken == [id])
                _ = try await desk.close(id: id, by: bob)
                _ = try await harness.relay(store).run()
                return id
            }
            _ = try await breakAPlan()
            #expect(try await store.riskAlerts(includeAcknowledged: true, limit: 100).allSatisfy { $0.alert.rule != RiskRules.arrangementsBroken })
            _ = try await breakAPlan()
            let alerts = try await store.riskAlerts(includeAcknowledged: true, limit: 100).filter { $0.alert.rule == RiskRules.arrangementsBroken }
            #expect(alerts.map(\.alert.contractNumber) == [contract.contractNumber])
            #expect(alerts.first?.alert.facts.contains("2 arrangements broken within 12 months") == true)
        }
    }

    @Test("a plan paid in full is completed at the next sync and closed back to active; an active plan cancelled in MILES once",
          arguments: StoreKind.available)
    func completedAndCancelled(kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore()
            var behind: [Contract] = []
            try await store.forEachContract { if behind.count < 2, $0.statusCode == "ARR", $0.arrears.amount.minorUnits > 0 { behind.append($0) } }
            try #require(behind.count == 2)
            let desk = await harness.arrangementDesk(store)
            let today = await harness.planningDay()
            var ids: [Int64] = []
            for contract in behind {
                let plan = try PaymentArrangement.regular(contractNumber: contract.contractNumber, frequency: .monthly, firstDate: today.adding(days: 2),
                                                          count: 2, amount: contract.monthlyPayment)
                let income = IncomeAndExpenditure(monthlyIncome: Money(minorUnits: contract.monthlyPayment.minorUnits * 2, currency: contract.currency),
                                                  monthlyExpenditure: Money(minorUnits: 0, currency: contract.currency), recordedOn: today,
                                                  recordedBy: "alice")
                ids.append(try await desk.propose(plan, income: income, by: try harness.person("alice")))
            }
            _ = await desk.approve(ids: ids, by: try harness.person("bob"), comment: nil)
            #expect(try await harness.relay(store).run().arrangementsCreated == 2)

            await harness.server.miles.modifyContract(number: behind[0].contractNumber) {
                $0.paidToDate.minorUnits += behind[0].monthlyPayment.minorUnits * 2
            }
            let completed = try await harness.monitoredSync(store: store).run(mode: .resume)
            #expect(completed.arrangements.completed == [ids[0]])
            let change = try await desk.close(id: ids[0], by: try harness.person("bob"))
            #expect(try await store.statusChange(id: change)?.to == .active)

            try await desk.cancel(id: ids[1], by: try harness.person("bob"), reason: "customer asked to stop")
            await harness.server.miles.injectFault(FaultRule(operation: "CancelPaymentArrangement", count: 1, afterProcessing: true))
            let pushed = try await harness.relay(store).run()
            // The completed plan is ended in MILES when it is closed; the other is cancelled.
            #expect(pushed.arrangementsCancelled == 2)
            #expect(try await store.arrangement(id: ids[0])?.state == .closed)
            #expect(try await store.arrangement(id: ids[1])?.state == .cancelled)
            #expect(await harness.server.miles.arrangementLedger().filter(\.cancelled).map(\.clientReference) == ids.map { "AR-\($0)" })
            #expect(await harness.server.miles.contract(number: behind[1].contractNumber)?.statusCode == "ARR")
        }
    }

    @Test("MILES's own rules: a second active arrangement is refused and dead-lettered with MILES's code",
          arguments: StoreKind.available)
    func milesRefusesASecondArrangement(kind: StoreKind) async throws {
        try await withHarness(contracts: 100, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore()
            var candidate: Contract?
            try await store.forEachContract { if candidate == nil, $0.statusCode == "ARR", $0.arrears.amount.minorUnits > 0 { candidate = $0 } }
            let contract = try #require(candidate)
            let today = await harness.planningDay()
            let desk = await harness.arrangementDesk(store)
            let plan = try PaymentArrangement.regular(contractNumber: contract.contractNumber, frequency: .monthly, firstDate: today.adding(days: 5),
                                                      count: 2, amount: contract.monthlyPayment)
            // Someone set one up in MILES by another route (its own client reference).
            let assessment = ArrangementPolicy.Assessment(requiredRole: CollectionsRole(name: "agent", rank: 0), approvalsNeeded: 1,
                                                          reduction: Money(minorUnits: 0, currency: contract.currency), termMonths: 1,
                                                          isTokenPlan: false, matrixVersion: 1)
            let elsewhere = ArrangementProposal(id: 9_999, plan: plan, assessment: assessment, proposedBy: "miles-user", state: .approved,
                                                approvals: [Approval(approver: "miles-user", role: "agent", matrixVersion: 1, at: CollectionsClock.system(),
                                                                     comment: nil)])
            let connection = MilesConnection(endpoint: harness.server.endpoint, credentials: MilesCredentials(
                username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword))
            #expect(try await MilesGateway(connection: connection, mappings: harness.mappings)
                .createPaymentArrangement(elsewhere, frequencyCode: "MNTH") != nil)
            let id = try await desk.propose(plan, income: IncomeAndExpenditure(
                monthlyIncome: contract.monthlyPayment, monthlyExpenditure: Money(minorUnits: 0, currency: contract.currency),
                recordedOn: today, recordedBy: "alice"), by: try harness.person("alice"))
            _ = await desk.approve(ids: [id], by: try harness.person("bob"), comment: nil)
            let pushed = try await harness.relay(store).run()
            #expect(pushed.deadLettered == 1)
            let failed = try #require(try await store.arrangement(id: id))
            #expect(failed.state == .failed && failed.outcome?.contains("ARRANGEMENT_EXISTS") == true)
        }
    }
}
