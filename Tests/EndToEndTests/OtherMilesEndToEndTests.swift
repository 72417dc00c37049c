import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesMock
import MilesSOAP
import MilesSync
import Testing
import TestSupport

/// The second MILES (`OtherMilesServer`, mapped by `Tests/Fixtures/other-miles`) started on a free
/// port with the book a mock of `contracts` contracts holds, and an empty database of `kind` for it;
/// both are stopped and removed afterwards, whether `body` threw or not.
private func withOtherMiles(contracts: Int, store kind: StoreKind = .sqlite,
                            _ body: (OtherMilesServer, MappingSet, TestDatabase) async throws -> Void) async throws {
    let server = try await OtherMilesServer.start(configuration: MockMilesConfiguration(
        contractCount: contracts, seed: 2026, contractDirectory: repositoryMappings + "/wsdl"))
    let database: TestDatabase
    do {
        database = try await TestDatabase.create(kind)
    } catch {
        await server.stop()
        throw error
    }
    do {
        try await body(server, try MappingSet.load(directory: OtherMilesServer.mappings), database)
    } catch {
        await server.stop()
        await database.drop()
        throw error
    }
    await server.stop()
    await database.drop()
}

private func removeStore(_ path: String) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

/// The contract sync against the other MILES, with its mapping, retrying without waiting.
private func otherSync(_ server: OtherMilesServer, _ mappings: MappingSet, store: any SyncStore, pageSize: Int = 100) -> ContractSync {
    let connection = MilesConnection(endpoint: server.endpoint, credentials: MilesCredentials(
        username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword))
    return ContractSync(gateway: MilesGateway(connection: connection, mappings: mappings), store: store,
                        configuration: ContractSync.Configuration(pageSize: pageSize, retry: RetryPolicy(maxAttempts: 3)), sleep: { _ in })
}

/// What the adapter run as a command needs to reach the other MILES and a store.
private func otherEnvironment(_ server: OtherMilesServer, database: String) -> [String: String] {
    ["MILES_ADAPTER_ENDPOINT": server.endpoint, "MILES_ADAPTER_USERNAME": MockMilesConfiguration.defaultUsername,
     "MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword, "MILES_ADAPTER_DATABASE": database,
     "MILES_ADAPTER_MAPPINGS": OtherMilesServer.mappings]
}

private func contracts(in store: any ContractStore) async throws -> [Contract] {
    var contracts: [Contract] = []
    try await store.forEachContract { contracts.append($0) }
    return contracts.sorted { $0.contractNumber < $1.contractNumber }
}

/// A contract as the other MILES sends it: its own status code, and no customer version.
private func asOtherMilesHasIt(_ contract: Contract) -> Contract {
    var expected = contract
    expected.statusCode = OtherMilesServer.statusCodes[contract.statusCode] ?? contract.statusCode
    expected.customer.version = 0
    return expected
}

@Suite("A MILES shaped differently from ours: Tests/Fixtures/other-miles", .serialized, .timeLimit(.minutes(2)))
struct OtherMilesEndToEndTests {
    @Test("mappings check passes on a MILES that offers only FindContracts, and lists the contract sync as the one job enabled")
    func mappingsCheck() async throws {
        let run = try await runAdapterSeparately(["mappings", "check", "--mappings", OtherMilesServer.mappings], environment: [:])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("jobs enabled:\n  contract sync (FindContracts)\nnot enabled"))
        #expect(run.output.contains("  write-offs: needs PostWriteOff, FindWriteOffs\n"))
        #expect(run.output.contains("  contact changes: needs UpdateContactDetails, GetContract, customer.version\n"))
        #expect(run.output.contains("an incremental sync starts 15 min before the newest lastModified seen"))
    }

    @Test("a sync of the other MILES stores the same model values as a sync of the same contracts from the mock",
          arguments: StoreKind.available)
    func sameModelValues(kind: StoreKind) async throws {
        try await withHarness(contracts: 300, store: kind) { harness in
            let fromMock = try await harness.openStore()
            let mockRun = try await harness.sync(store: fromMock, pageSize: 100).run(mode: .resume)
            #expect(mockRun.outcome == .completed)
            try await withOtherMiles(contracts: 300, store: kind) { server, mappings, database in
                let fromOther = try await database.open()
                let run = try await otherSync(server, mappings, store: fromOther).run(mode: .resume)
                #expect(run.outcome == .completed)
                #expect(run.received == 300 && run.milesTotal == 300 && run.pages == 3)
                let expected = try await contracts(in: fromMock)
                let synced = try await contracts(in: fromOther)
                #expect(synced.count == 300)
                #expect(synced == expected.map(asOtherMilesHasIt))
                // Its codes mean to collections what ours do: only the mapping knows either set.
                #expect(synced.map { mappings.statusCodes.internalStatus(forMilesCode: $0.statusCode) }
                        == expected.map { harness.mappings.statusCodes.internalStatus(forMilesCode: $0.statusCode) })
                #expect(synced.allSatisfy { mappings.statusCodes.internalStatus(forMilesCode: $0.statusCode) != nil })
            }
        }
    }

    @Test("push, and commands that queue work for an operation this MILES lacks, refuse at their start: exit 4, the operation named, nothing sent or stored",
          arguments: StoreKind.available)
    func unmappedOperationsRefused(kind: StoreKind) async throws {
        try await withOtherMiles(contracts: 100, store: kind) { server, mappings, database in
            let store = try await database.open()
            _ = try await otherSync(server, mappings, store: store).run(mode: .resume)
            // A note queued before this mapping was in use (or by an agent's update) that this MILES cannot take.
            let contract = try #require(try await contracts(in: store).first)
            _ = try await store.queueNote(ContractNote(id: 0, contractNumber: contract.contractNumber, category: "AGT", text: "called",
                                                       source: "miles-adapter:bob", requestedBy: "bob", requestedAt: CollectionsClock.system(),
                                                       state: .queued))
            let entry = try #require(try await store.outboxEntries(state: .pending).first)
            let callsBefore = server.calls.count

            let push = try await runAdapterSeparately(["push"], environment: otherEnvironment(server, database: database.database))
            #expect(push.status == 4)
            #expect(push.errors.contains("push refused, nothing sent"))
            #expect(push.errors.contains("1 notes (queue \(entry.id)) need AddContractNote"))
            #expect(try await store.outboxEntry(id: entry.id) == entry)

            let neverOpened = SyncHarness.temporaryStorePath()
            defer { removeStore(neverOpened) }
            for (arguments, operation) in [
                (["writeoff", "prepare", "write-offs.csv"], "PostWriteOff, FindWriteOffs"),
                (["contract", "note", contract.contractNumber, "--category", "AGT", "--text", "called"], "AddContractNote"),
                (["contract", "notice", contract.contractNumber, "--letter", "arrearsNotice"], "RequestCustomerLetter"),
            ] {
                let run = try await runAdapterSeparately(arguments, environment: otherEnvironment(server, database: neverOpened))
                #expect(run.status == 4, "\(arguments)")
                #expect(run.errors.contains("needs") && run.errors.contains(operation + ", not mapped in contract.yaml"), "\(run.errors)")
                #expect(!FileManager.default.fileExists(atPath: neverOpened), "\(arguments) opened the store")
            }
            #expect(server.calls.count == callsBefore)

            // The job it does enable runs.
            let sync = try await runAdapterSeparately(["sync", "contracts"], environment: otherEnvironment(server, database: database.database))
            #expect(sync.status == 0, "\(sync.errors)")
        }
    }

    @Test("a sync refuses at its start when the mapping leaves FindContracts out: exit 4, FindContracts named, the store never opened")
    func syncWithoutFindContracts() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mappings-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: repositoryMappings, toPath: folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var lines = try String(contentsOfFile: folder + "/contract.yaml", encoding: .utf8).components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: "  findContracts:                          # add 'validation: lenient' to an operation to accept (and count and log)"))
        let end = try #require(lines.firstIndex(of: "  getContract:"))
        lines.removeSubrange(start..<end)
        try lines.joined(separator: "\n").write(toFile: folder + "/contract.yaml", atomically: true, encoding: .utf8)
        let storePath = SyncHarness.temporaryStorePath()
        defer { removeStore(storePath) }

        let run = try await runAdapterSeparately(["sync", "contracts"], environment: [
            "MILES_ADAPTER_ENDPOINT": "http://127.0.0.1:9/miles", "MILES_ADAPTER_USERNAME": "nobody", "MILES_ADAPTER_PASSWORD": "unused",
            "MILES_ADAPTER_DATABASE": storePath, "MILES_ADAPTER_MAPPINGS": folder])
        #expect(run.status == 4)
        #expect(run.errors.contains("'contract sync' needs the MILES operation FindContracts"), "\(run.errors)")
        #expect(!FileManager.default.fileExists(atPath: storePath))
    }

    @Test("faults without a detail are sorted by the mapping's faultcode and message pattern: busy is retried, refused credentials stop the sync, anything else is a refusal",
          arguments: StoreKind.available)
    func faultsWithoutDetail(kind: StoreKind) async throws {
        try await withOtherMiles(contracts: 100, store: kind) { server, mappings, database in
            let store = try await database.open()
            server.fail(with: [OtherMilesServer.Fault(faultCode: "soapenv:Server", faultString: "Service BUSY, please try again later")])
            let run = try await otherSync(server, mappings, store: store).run(mode: .resume)
            #expect(run.outcome == .completed && run.received == 100)
            #expect(server.calls.count == 2)

            for (fault, disposition) in [
                (OtherMilesServer.Fault(faultCode: "soapenv:Client.Security", faultString: "Invalid credentials for collections-adapter"),
                 FaultDisposition.authentication),
                (OtherMilesServer.Fault(faultCode: "soapenv:Server", faultString: "java.lang.NullPointerException"), .businessRejection),
            ] {
                let before = server.calls.count
                server.fail(with: [fault])
                do throws(ContractSyncError) {
                    _ = try await otherSync(server, mappings, store: store).run(mode: .full)
                    Issue.record("the sync went on after '\(fault.faultString)'")
                } catch {
                    #expect(error.underlying?.disposition == disposition, "\(error)")
                    #expect(error.isAuthenticationFailure == (disposition == .authentication))
                }
                // Neither is retried.
                #expect(server.calls.count == before + 1)
            }
        }
    }

    @Test("without AsOf, the next incremental sync asks from the newest lastModified seen less the mapping's overlap, and misses no change",
          arguments: StoreKind.available)
    func incrementalFromHighWaterMark(kind: StoreKind) async throws {
        try await withOtherMiles(contracts: 300, store: kind) { server, mappings, database in
            let store = try await database.open()
            let first = try await otherSync(server, mappings, store: store).run(mode: .resume)
            #expect(first.received == 300)
            let highWaterMark = try #require(try await contracts(in: store).map(\.lastModified).max())
            #expect(try await store.checkpoint(job: "contracts").nextChangedSince == highWaterMark.adding(seconds: -15 * 60))

            let changed = await server.miles.advanceDay(changes: 40)
            let callsBefore = server.calls.count
            let second = try await otherSync(server, mappings, store: store).run(mode: .resume)
            #expect(server.calls[callsBefore].modifiedAfter == highWaterMark.adding(seconds: -15 * 60).description)
            // The changed contracts, and any changed within the overlap before the mark again: those are rewritten as they were.
            #expect(second.received >= changed.count)
            #expect(second.written == changed.count)
            var expected: [Contract] = []
            await server.miles.forEachContract { expected.append(asOtherMilesHasIt($0)) }
            #expect(try await contracts(in: store) == expected.sorted { $0.contractNumber < $1.contractNumber })
        }
    }
}
