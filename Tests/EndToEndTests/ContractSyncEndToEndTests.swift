import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesMapping
import MilesMock
import MilesSOAP
import MilesSync
import TestSupport
import Testing

let repositoryMappings = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("mappings").path

/// A mock MILES started in this process on a free port, a fresh store (SQLite unless a test asks
/// for PostgreSQL), and the shipped mappings.
struct SyncHarness {
    let server: MockMilesServer
    let mappings: MappingSet
    let database: TestDatabase

    /// What `database:` says for the store: the SQLite file's path, or the PostgreSQL database's URL.
    var storePath: String { database.database }

    static func start(contracts: Int, store kind: StoreKind = .sqlite) async throws -> SyncHarness {
        let database = try await TestDatabase.create(kind)
        let server = try await MockMilesServer.start(configuration: MockMilesConfiguration(
            contractCount: contracts, seed: 2026, contractDirectory: repositoryMappings + "/wsdl"))
        return SyncHarness(server: server, mappings: try MappingSet.load(directory: repositoryMappings), database: database)
    }

    /// A store on the harness's database (another process's view of it, when opened again).
    func openStore() async throws -> any CollectionsStores {
        try await database.open()
    }

    static func temporaryStorePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sync-\(UUID().uuidString).sqlite").path
    }

    /// The harness's MILES through the shipped mappings, signed in as the mock's user.
    func gateway(password: String = MockMilesConfiguration.defaultPassword) -> MilesGateway {
        MilesGateway(connection: MilesConnection(
            endpoint: server.endpoint,
            credentials: MilesCredentials(username: MockMilesConfiguration.defaultUsername, password: password)), mappings: mappings)
    }

    func sync(store: any SyncStore, pageSize: Int = 500, attempts: Int = 3,
              password: String = MockMilesConfiguration.defaultPassword) -> ContractSync {
        ContractSync(
            gateway: gateway(password: password), store: store,
            configuration: ContractSync.Configuration(pageSize: pageSize, retry: RetryPolicy(maxAttempts: attempts)),
            sleep: { _ in })
    }

    func stop() async {
        await server.stop()
        await database.drop()
    }

    /// The checksum over every field of every contract MILES holds now.
    func milesChecksum() async -> PortfolioChecksum {
        var checksum = PortfolioChecksum()
        await server.miles.forEachContract { checksum.add($0) }
        return checksum
    }

    func findContractsCalls() async -> [JournalEntry] {
        await server.miles.journalEntries().filter { $0.operation == "FindContracts" }
    }
}

/// Runs `body` against a fresh harness with a store of `kind` and stops it afterwards, whether `body` threw or not.
func withHarness(contracts: Int, store kind: StoreKind = .sqlite, _ body: (SyncHarness) async throws -> Void) async throws {
    let harness = try await SyncHarness.start(contracts: contracts, store: kind)
    do {
        try await body(harness)
    } catch {
        await harness.stop()
        throw error
    }
    await harness.stop()
}

func storeChecksum(_ store: any ContractStore) async throws -> PortfolioChecksum {
    var checksum = PortfolioChecksum()
    try await store.forEachContract { checksum.add($0) }
    return checksum
}

@Suite("Contract sync end to end against the mock MILES", .serialized, .timeLimit(.minutes(2)))
struct ContractSyncEndToEndTests {
    @Test("5,000 contracts synced equal MILES field by field; after a day only the changed ones are fetched", arguments: StoreKind.available)
    func fullThenIncremental(kind: StoreKind) async throws {
        try await withHarness(contracts: 5_000, store: kind) { harness in
            let store = try await harness.openStore()
            let first = try await harness.sync(store: store).run(mode: .resume)
            #expect(first.outcome == .completed)
            #expect(first.received == 5_000 && first.milesTotal == 5_000 && first.pages == 10)
            #expect(try await storeChecksum(store) == (await harness.milesChecksum()))
            // Field-by-field spot check of one contract with special characters, beyond the checksum.
            let sample = try #require(try await store.contract(number: "C00000004"))
            #expect(sample == (await harness.server.miles.contract(number: "C00000004")))

            let changed = await harness.server.miles.advanceDay(changes: 300)
            #expect(try await storeChecksum(store) != (await harness.milesChecksum()))
            await harness.server.miles.clearJournal()
            let second = try await harness.sync(store: store).run(mode: .resume)
            #expect(second.received == changed.count)
            #expect(second.written == changed.count)
            #expect(second.milesTotal == changed.count)
            let calls = await harness.findContractsCalls()
            #expect(calls.count == 1)
            #expect(calls.first?.parameters["ChangedSince"] == "2026-11-28T22:00:00Z")
            #expect(try await storeChecksum(store) == (await harness.milesChecksum()))
            #expect(try await store.runs(job: "contracts", limit: 5).map(\.outcome) == [.completed, .completed])
        }
    }

    @Test("a sync interrupted after page 4 resumes at page 5 and ends with the same store as an uninterrupted one", arguments: StoreKind.available)
    func interruptedAndResumed(kind: StoreKind) async throws {
        try await withHarness(contracts: 5_000, store: kind) { harness in
            let store = try await harness.openStore()
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", skip: 4, count: 100, faultCode: "SERVER_BUSY"))
            await #expect(throws: ContractSyncError.self) { _ = try await harness.sync(store: store, attempts: 3).run(mode: .resume) }
            let checkpoint = try await store.checkpoint(job: "contracts")
            let query = try #require(checkpoint.inProgress)
            #expect(query.pagesDone == 4 && query.received == 2_000)
            #expect(try await store.contractCount() == 2_000)
            #expect(try await store.runs(job: "contracts", limit: 1).first?.outcome == .failed)

            await harness.server.miles.clearFaults()
            await harness.server.miles.clearJournal()
            let resumed = try await harness.sync(store: store).run(mode: .resume)
            #expect(resumed.resumedAfterPage == 4)
            #expect(resumed.pages == 6 && resumed.received == 3_000)
            let calls = await harness.findContractsCalls()
            #expect(calls.count == 6)
            #expect(calls.first?.parameters["Cursor"] == query.cursor)
            #expect(calls.allSatisfy { $0.parameters["Cursor"] != nil })

            // The store a sync that never stopped leaves, in SQLite whatever the store under test.
            let uninterruptedPath = FileManager.default.temporaryDirectory.appendingPathComponent("sync-\(UUID().uuidString).sqlite").path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: uninterruptedPath + suffix) } }
            let uninterrupted = try SQLiteStore(path: uninterruptedPath)
            _ = try await harness.sync(store: uninterrupted).run(mode: .resume)
            #expect(try await storeChecksum(store) == (try await storeChecksum(uninterrupted)))
            #expect(try await storeChecksum(store) == (await harness.milesChecksum()))
        }
    }

    @Test("a wrong password stops the sync at once with an authentication error and moves no checkpoint", arguments: StoreKind.available)
    func wrongPassword(kind: StoreKind) async throws {
        try await withHarness(contracts: 1_000, store: kind) { harness in
            let store = try await harness.openStore()
            _ = try await harness.sync(store: store).run(mode: .resume)
            let before = try await store.checkpoint(job: "contracts")
            await harness.server.miles.advanceDay(changes: 10)
            await harness.server.miles.clearJournal()
            do {
                _ = try await harness.sync(store: store, attempts: 5, password: "not-the-password").run(mode: .resume)
                Issue.record("the sync succeeded with a wrong password")
            } catch let error as ContractSyncError {
                #expect(error.isAuthenticationFailure)
                #expect(!error.description.contains("not-the-password"))
            }
            #expect(try await store.checkpoint(job: "contracts") == before)
            #expect(await harness.findContractsCalls().count == 1)
            #expect(await harness.findContractsCalls().first?.outcome == "fault:AUTHENTICATION_FAILED")
        }
    }

    @Test("GetContract returns one contract decoded through the same mapping")
    func getContract() async throws {
        try await withHarness(contracts: 100) { harness in
            let gateway = harness.gateway()
            let contract = try await gateway.getContract(number: "C00000010")
            #expect(contract == (await harness.server.miles.contract(number: "C00000010")))
            do {
                _ = try await gateway.getContract(number: "C99999999")
                Issue.record("an unknown contract was found")
            } catch let error as SOAPCallError {
                #expect(error.faultCode == "UNKNOWN_CONTRACT")
                #expect(error.disposition == .businessRejection)
            }
        }
    }
}
