import CollectionsDomain
import CollectionsStore
import Crypto
import Foundation
import MilesMapping
import MilesMock
import MilesSync
import Testing
import TestSupport

let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path

@Suite("Agency placement files", .serialized, .timeLimit(.minutes(2)))
struct PlacementEndToEndTests {
    @Test("a placement file in the agent's format (golden file), held and ineligible accounts left out, manifest totals, no repeat",
          arguments: StoreKind.available)
    func placementFile(kind: StoreKind) async throws {
        try await withHarness(contracts: 400, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore(minimumOpen: 0)
            var defaulted: [Contract] = []
            var active: Contract?
            try await store.forEachContract { contract in
                if contract.statusCode == "DEF", !contract.customer.vulnerable { defaulted.append(contract) }
                if active == nil, contract.statusCode == "ACT" { active = contract }
            }
            let placeable = Array(defaulted.prefix(4))
            for contract in placeable {
                try await store.recordNotice(contractNumber: contract.contractNumber, arrearsNoticeSentOn: nil,
                                       defaultNotice: .init(served: LocalDate.parse("2026-01-05")!, remedyDate: LocalDate.parse("2026-01-25")!),
                                       by: "bob", at: CollectionsClock.system())
            }
            let held = placeable[3]
            try await ContractDesk(store: store, mappings: harness.mappings)
                .setHold(contractNumber: held.contractNumber, kind: .breathingSpace, reason: "Debt Respite Scheme", by: "bob")
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("placements-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: output) }
            let bob = try WriteOffDesk(store: store, mappings: harness.mappings).user(named: "bob", roles: teamRoles)
            let desk = PlacementDesk(store: store, mappings: harness.mappings)
            let numbers = placeable.map(\.contractNumber) + [try #require(active).contractNumber]
            // A reason code MILES does not know is refused before any file is written or change queued.
            await #expect { try await desk.create(agent: "acme-dca", contractNumbers: numbers, by: bob, reasonCode: "NOPE", directory: output) }
                throws: { ($0 as? PlacementError)?.code == .unknownReasonCode && ($0 as? PlacementError)?.input == "NOPE" }
            #expect(!FileManager.default.fileExists(atPath: output))
            #expect(try await store.outboxEntries(state: nil).isEmpty)
            let result = try await desk.create(agent: "acme-dca", contractNumbers: numbers, by: bob, reasonCode: "DCAP", directory: output)

            #expect(result.placed == placeable.prefix(3).map(\.contractNumber))
            #expect(result.refused.map(\.contractNumber) == [held.contractNumber, active!.contractNumber])
            #expect(result.refused[0].reason.contains(CollectionsGuards.holdRule))
            let file = try #require(result.file)
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(!text.contains(held.contractNumber))
            let goldenPath = goldenDirectory + "/acme-dca-placement.csv"
            if ProcessInfo.processInfo.environment["RECORD_GOLDEN"] == "1" {
                try text.write(toFile: goldenPath, atomically: true, encoding: .utf8)
            }
            #expect(text == (try String(contentsOfFile: goldenPath, encoding: .utf8)))

            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try #require(result.manifest)))) as? [String: Any]
            let expectedTotal = placeable.prefix(3).reduce(Int64(0)) { $0 + $1.openBalance.minorUnits }
            #expect((manifest?["totalsMinorUnits"] as? [String: Any])?["GBP"] as? Int64 == expectedTotal
                    || ((manifest?["totalsMinorUnits"] as? [String: Any])?["GBP"] as? Int).map(Int64.init) == expectedTotal)
            #expect(manifest?["rows"] as? Int == 3)
            let sha = SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
            #expect(manifest?["sha256"] as? String == sha)
            let queued = try await store.outboxEntries(state: .pending).count
            #expect(queued == 3)

            // Typed again in small letters: the same contracts, already placed.
            let again = try await desk.create(agent: "acme-dca", contractNumbers: numbers.map { $0.lowercased() }, by: bob, reasonCode: "DCAP",
                                              directory: output)
            #expect(again.file == nil)
            #expect(again.alreadyPlaced == result.placed)
            #expect(try await store.outboxEntries(state: .pending).count == queued)
            #expect(try FileManager.default.contentsOfDirectory(atPath: output).filter { $0.hasSuffix(".csv") }.count == 1)

            // A hold set on a placed account pauses it with the agent.
            try await ContractDesk(store: store, mappings: harness.mappings)
                .setHold(contractNumber: result.placed[0], kind: .deceased, reason: "death certificate received", by: "bob")
            let instructions = try await store.agentInstructions(agent: "acme-dca")
            #expect(instructions.map(\.contractNumber) == [result.placed[0]])
            #expect(instructions.first?.kind.rawValue == "pause")
            // A hold decided on a placement that has changed since (here: decided as if not placed) is refused whole.
            let stale = ContractHold(kind: .dispute, reason: "decided before the placement", setBy: "bob", setOn: LocalDate.parse("2026-11-30")!)
            await #expect { try await store.recordHold(stale, contractNumber: result.placed[1], placedWith: nil, instruction: nil,
                                                       at: CollectionsClock.system()) }
                throws: { ($0 as? StoreError)?.code == .changedMeanwhile }
            #expect(try await store.holds(contractNumber: result.placed[1]).isEmpty)

            let pushed = try await harness.relay(store).run()
            #expect(pushed.statusChangesApplied == 3)

            // Recall: refused while a payment plan is active unless forced.
            _ = try await harness.sync(store: store).run(mode: .resume)
            await harness.server.miles.setStatusCode(contractNumber: result.placed[1], to: "PPL")
            _ = try await harness.sync(store: store).run(mode: .resume)
            let recall = try await desk.recall(agent: "acme-dca", contractNumbers: [result.placed[1], result.placed[2]], force: false, by: bob,
                                         reasonCode: "RECL", directory: output)
            #expect(recall.placed == [result.placed[2]])
            #expect(recall.refused.first?.reason.contains("payment plan") == true)
            #expect(try await store.activePlacement(contractNumber: result.placed[2]) == nil)
            #expect(try String(contentsOfFile: try #require(recall.file), encoding: .utf8).contains("\(result.placed[2]),RECALL"))
            let forced = try await desk.recall(agent: "acme-dca", contractNumbers: [result.placed[1]], force: true, by: bob, reasonCode: "RECL",
                                         directory: output)
            #expect(forced.placed == [result.placed[1]])
            #expect(try await store.auditEntries().contains { $0.action == "placement.recalled-forced" })
        }
    }
}
