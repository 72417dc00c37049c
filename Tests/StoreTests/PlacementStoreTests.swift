import CollectionsDomain
import CollectionsStore
import TestSupport
import Testing

@Suite("Placements with agents, recalls and instructions to agents, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct PlacementStoreTests {
    typealias Stores = ContractActionStore & PlacementStore & OutboxStore & AuditStore

    let now = Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)

    func placing(_ contractNumbers: [String]) -> [StatusChange] {
        contractNumbers.map { ContractActionStoreTests.statusChange($0, to: .placedWithAgent, at: now) }
    }

    /// The refusal of a second open placement of a contract, whichever store refused it.
    static func isOpenPlacementRefusal(_ error: any Error) -> Bool {
        (error as? StoreError)?.code == .duplicate
    }

    @Test("a placement queues each account's status change with it; read by contract and by agent; recalled by its agent only; all audited",
          arguments: StoreKind.available)
    func placeAndRecall(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.queuePlacement(agent: "acme", fileName: "acme-1.csv", changes: placing(["C-1", "C-2"]), by: "tom", at: now)
            #expect(try await store.activePlacement(contractNumber: "C-1") == "acme")
            #expect(try await store.activePlacement(contractNumber: "C-3") == nil)
            #expect(try await store.placedContracts(agent: "acme") == ["C-1", "C-2"])
            #expect(try await store.placedContracts(agent: "bravo").isEmpty)

            let entries = try await store.outboxEntries(state: .pending)
            #expect(entries.count == 2 && entries.allSatisfy { $0.kind == .updateContractStatus })
            var changes: [StatusChange] = []
            for entry in entries { changes.append(try #require(try await store.statusChange(id: entry.subjectId))) }
            #expect(changes.map(\.contractNumber) == ["C-1", "C-2"])
            #expect(changes.allSatisfy { $0.to == .placedWithAgent && $0.state == .queued })
            #expect(entries.map(\.clientReference) == changes.map(\.clientReference))
            #expect(try await store.auditEntries().map(\.action)
                    == ["status.requested", "outbox.queued", "status.requested", "outbox.queued", "placement.created"])
            #expect(try await store.auditEntries().last.map(ContractActionStoreTests.line) == "tom placement.created agent:acme: 2 accounts in acme-1.csv")

            try await store.recordRecall(agent: "acme", contractNumbers: ["C-1"], forced: false, by: "tom", at: now)
            #expect(try await store.activePlacement(contractNumber: "C-1") == nil)
            #expect(try await store.placedContracts(agent: "acme") == ["C-2"])
            // Another agent's recall leaves the placement alone (and is audited as asked).
            try await store.recordRecall(agent: "bravo", contractNumbers: ["C-2"], forced: true, by: "una", at: now)
            #expect(try await store.placedContracts(agent: "acme") == ["C-2"])
            #expect(try await store.auditEntries().suffix(2).map(ContractActionStoreTests.line)
                    == ["tom placement.recalled agent:acme: C-1", "una placement.recalled-forced agent:bravo: C-2"])

            // Recalled, the account can be placed again.
            try await store.queuePlacement(agent: "bravo", fileName: "bravo-1.csv", changes: placing(["C-1"]), by: "tom", at: now)
            #expect(try await store.activePlacement(contractNumber: "C-1") == "bravo")
            #expect(try await store.placedContracts(agent: "bravo") == ["C-1"])
        }
    }

    @Test("instructions to an agent are listed oldest first, each to its own agent", arguments: StoreKind.available)
    func instructions(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.queuePlacement(agent: "acme", fileName: "acme-1.csv", changes: placing(["C-1", "C-2"]), by: "tom", at: now)
            try await store.queuePlacement(agent: "bravo", fileName: "bravo-1.csv", changes: placing(["C-3"]), by: "tom", at: now)
            let today = LocalDate(daysSinceEpoch: 20_400)
            var told: [AgentInstruction] = []
            for (number, agent) in [("C-2", "acme"), ("C-3", "bravo"), ("C-1", "acme")] {
                let instruction = AgentInstruction(agent: agent, contractNumber: number, kind: .pause, reason: "breathing space")
                try await store.recordHold(ContractHold(kind: .breathingSpace, reason: "DRS", setBy: "ann", setOn: today), contractNumber: number,
                                           placedWith: agent, instruction: instruction, at: now)
                told.append(instruction)
            }
            #expect(try await store.agentInstructions(agent: "acme") == [told[0], told[2]])
            #expect(try await store.agentInstructions(agent: "bravo") == [told[1]])
            #expect(try await store.agentInstructions(agent: "carl").isEmpty)
        }
    }

    @Test("a placed contract is not placed again, not even by two stores at once: the refused placement stores nothing", arguments: StoreKind.available)
    func onePlacementPerContract(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await store.queuePlacement(agent: "acme", fileName: "acme-1.csv", changes: placing(["C-1"]), by: "tom", at: now)
            let audited = try await store.auditEntries().count
            let refusal = await #expect(throws: (any Error).self) {
                try await store.queuePlacement(agent: "bravo", fileName: "bravo-1.csv", changes: placing(["C-2", "C-1"]), by: "tom", at: now)
            }
            #expect(refusal.map(Self.isOpenPlacementRefusal) == true)
            #expect(try await store.activePlacement(contractNumber: "C-1") == "acme")
            #expect(try await store.activePlacement(contractNumber: "C-2") == nil)
            #expect(try await store.outboxEntries(state: nil).count == 1)
            #expect(try await store.auditEntries().count == audited)

            // Two processes placing the same account with different agents at once: one placement.
            let other = try await subject.reopen()
            let outcomes = await withTaskGroup(of: (agent: String, refusal: (any Error)?).self) { group in
                for (agent, placer) in [("acme", store), ("bravo", other)] {
                    group.addTask { [changes = placing(["C-5"]), now] in
                        do {
                            try await placer.queuePlacement(agent: agent, fileName: "\(agent)-2.csv", changes: changes, by: "tom", at: now)
                            return (agent, nil)
                        } catch {
                            return (agent, error)
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let placed = outcomes.filter { $0.refusal == nil }.map(\.agent)
            #expect(placed.count == 1)
            #expect(outcomes.compactMap(\.refusal).allSatisfy(Self.isOpenPlacementRefusal))
            #expect(try await store.activePlacement(contractNumber: "C-5") == placed.first)
            #expect(try await store.outboxEntries(state: nil).count == 2)
            #expect(try await store.auditEntries().filter { $0.action == "placement.created" }.count == 2)
        }
    }
}
