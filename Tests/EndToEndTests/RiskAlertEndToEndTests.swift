import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesMock
import MilesSync
import Testing
import TestSupport

@Suite("Risky customers: the sync raises each alert on its crafted change in MILES, not on the near miss; acknowledged, audited (issue 14)",
       .serialized, .timeLimit(.minutes(2)))
struct RiskAlertEndToEndTests {
    @Test("exposure, arrears growing three syncs, newly vulnerable: each fires once on its change; its near miss stays quiet",
          arguments: StoreKind.available)
    func alertsFromSyncs(kind: StoreKind) async throws {
        try await withHarness(contracts: 80, store: kind) { harness in
            let store = try await harness.openStore()
            _ = try await harness.sync(store: store).run(mode: .resume)
            let before = Set(try await store.riskAlerts(includeAcknowledged: true, limit: 1_000).map(\.id))
            // Contracts whose customer no other contract shares (the mock gives every fifth the
            // customer of the one before), in pounds, not vulnerable, under the exposure limit.
            var chosen: [Contract] = []
            await harness.server.miles.forEachContract { contract in
                guard let index = Int(contract.contractNumber.dropFirst()).map({ $0 - 1 }), index % 5 < 3, contract.currency == .gbp,
                      !contract.customer.vulnerable, contract.openBalance.minorUnits < 2_000_000 else { return }
                chosen.append(contract)
            }
            try #require(chosen.count >= 5)
            let (exposed, nearlyExposed, flagged, growing, stalled) = (chosen[0], chosen[1], chosen[2], chosen[3], chosen[4])
            func setOpen(_ number: String, _ pence: Int64) async {
                await harness.server.miles.modifyContract(number: number) { contract in
                    let due = contract.openInvoices.first?.dueDate ?? LocalDate.parse("2026-10-01")!
                    contract.openInvoices = [Invoice(number: "INV-RISK", issueDate: due, dueDate: due, amount: Money(minorUnits: pence, currency: .gbp),
                                                     openAmount: Money(minorUnits: pence, currency: .gbp))]
                }
            }
            func raiseArrears(_ number: String, by pence: Int64) async {
                await harness.server.miles.modifyContract(number: number) { $0.arrears.amount = Money(minorUnits: $0.arrears.amount.minorUnits + pence, currency: .gbp) }
            }
            func sync() async throws { _ = try await harness.sync(store: store).run(mode: .resume) }

            await setOpen(exposed.contractNumber, 2_500_001)
            await setOpen(nearlyExposed.contractNumber, 2_500_000)
            await harness.server.miles.modifyContract(number: flagged.contractNumber) { $0.customer.vulnerable = true }
            for round in 1...3 {
                await raiseArrears(growing.contractNumber, by: 1_000)
                // The near miss rises twice, then changes without its arrears moving.
                if round < 3 {
                    await raiseArrears(stalled.contractNumber, by: 1_000)
                } else {
                    await harness.server.miles.modifyContract(number: stalled.contractNumber) { $0.vehicle.registration = "RISK 3" }
                }
                try await sync()
            }
            try await sync()

            let raised = try await store.riskAlerts(includeAcknowledged: true, limit: 1_000).filter { !before.contains($0.id) }
            let fired = Set(raised.map { "\($0.alert.contractNumber) \($0.alert.rule)" })
            #expect(fired == [
                "\(exposed.contractNumber) \(RiskRules.exposure)", "\(flagged.contractNumber) \(RiskRules.vulnerable)",
                "\(growing.contractNumber) \(RiskRules.arrearsGrowing)",
            ], "each once, though four syncs ran after the change; nothing for the near misses")
            let exposure = try #require(raised.first { $0.alert.rule == RiskRules.exposure })
            #expect(exposure.alert.facts.hasPrefix("open balance 25000.01 GBP, above 25000.00"))
            let growth = try #require(raised.first { $0.alert.rule == RiskRules.arrearsGrowing })
            #expect(growth.alert.facts.hasPrefix("arrears grew at each of the last 3 syncs"))
            let audit = try await store.auditEntries(subject: "contract:\(exposed.contractNumber)", limit: 10)
            #expect(audit.contains { $0.action == "risk.alert" && $0.actor == "sync" && $0.details.contains(RiskRules.exposure) })
        }
    }

    @Test("acknowledging needs the matrix's riskAlerts role and a comment, happens once, and is audited in the person's name",
          arguments: StoreKind.available)
    func acknowledgement(kind: StoreKind) async throws {
        try await withHarness(contracts: 20, store: kind) { harness in
            let store = try await harness.openStore()
            _ = try await harness.sync(store: store).run(mode: .resume)
            var target: String?
            await harness.server.miles.forEachContract { contract in
                if target == nil, contract.currency == .gbp, contract.openBalance.minorUnits < 2_000_000 { target = contract.contractNumber }
            }
            let number = try #require(target)
            await harness.server.miles.modifyContract(number: number) { contract in
                contract.openInvoices = [Invoice(number: "INV-BIG", issueDate: LocalDate.parse("2026-10-01")!, dueDate: LocalDate.parse("2026-10-01")!,
                                                 amount: Money(minorUnits: 9_000_000, currency: .gbp), openAmount: Money(minorUnits: 9_000_000, currency: .gbp))]
            }
            _ = try await harness.sync(store: store).run(mode: .resume)
            let alert = try #require(try await store.riskAlerts(includeAcknowledged: false, limit: 10).first { $0.alert.contractNumber == number })
            let matrix = harness.mappings.authorityMatrix
            let desk = RiskDesk(store: store, mappings: harness.mappings)
            let ann = CollectionsUser(name: "ann", role: try #require(matrix.role(named: "agent")))
            let bob = CollectionsUser(name: "bob", role: try #require(matrix.role(named: "teamLeader")))
            await #expect { try await desk.acknowledge(id: alert.id, by: ann, comment: "seen") } throws: { ($0 as? RiskDeskError)?.code == .notAuthorised }
            await #expect { try await desk.acknowledge(id: alert.id, by: bob, comment: "  ") } throws: { ($0 as? RiskDeskError)?.code == .noComment }
            try await desk.acknowledge(id: alert.id, by: bob, comment: "called the customer: a fleet added, payments on time")
            await #expect { try await desk.acknowledge(id: alert.id, by: bob, comment: "again") } throws: {
                ($0 as? RiskDeskError)?.code == .alreadyAcknowledged
            }
            #expect(try await desk.alerts().contains { $0.id == alert.id } == false, "no longer open")
            let stored = try #require(try await store.riskAlert(id: alert.id))
            #expect(stored.acknowledgedBy == "bob")
            let audit = try await store.auditEntries(subject: "risk:\(alert.id)", limit: 10)
            #expect(audit.map(\.action) == ["risk.acknowledged"])
            #expect(audit.first?.actor == "bob")
        }
    }
}
