import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesMapping
import MilesMock
import MilesSOAP
import MilesSync
import Synchronization
import Testing
import TestSupport

/// A fault injected on FindContracts, and what the sync must make of it.
struct FaultCase: Sendable, CustomTestStringConvertible {
    enum Expected: Sendable {
        /// Retried and completed.
        case recovers
        /// Stopped with an error containing this text; nothing stored, no checkpoint moved.
        case stops(String)
    }

    let rule: FaultRule
    let expected: Expected

    /// An injected delay, and a client timeout well under it but well over a normal answer on a loaded machine.
    static let delay = 8_000
    static let timeoutUnderDelay = Duration.seconds(3)
    var testDescription: String { "\(rule.kind?.rawValue ?? "fault") ×\(rule.count)" }

    static func once(_ kind: FaultKind, httpStatus: Int? = nil) -> FaultCase {
        FaultCase(rule: FaultRule(operation: "FindContracts", skip: 1, count: 1, kind: kind, httpStatus: httpStatus,
                                  delayMilliseconds: kind == .delay ? FaultCase.delay : nil), expected: .recovers)
    }

    static func always(_ kind: FaultKind, _ error: String, sizeBytes: Int? = nil) -> FaultCase {
        FaultCase(rule: FaultRule(operation: "FindContracts", count: 1_000, kind: kind, sizeBytes: sizeBytes), expected: .stops(error))
    }
}

/// Waits recorded instead of slept, so a test can check what the sync would have waited.
final class RecordedWaits: Sendable {
    private let waits = Mutex<[Duration]>([])
    var all: [Duration] { waits.withLock { $0 } }
    func record(_ wait: Duration) { waits.withLock { $0.append(wait) } }
}

extension SyncHarness {
    func faultySync(store: any SyncStore, attempts: Int = 3, requestTimeout: Duration = .seconds(30), deadline: Duration? = nil,
                    waits: RecordedWaits = RecordedWaits()) -> ContractSync {
        let connection = MilesConnection(
            endpoint: server.endpoint,
            credentials: MilesCredentials(username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword),
            transport: HTTPTransportConfiguration(connectTimeout: .seconds(2), requestTimeout: requestTimeout))
        return ContractSync(
            gateway: MilesGateway(connection: connection, mappings: mappings), store: store,
            configuration: ContractSync.Configuration(pageSize: 100, retry: RetryPolicy(maxAttempts: attempts), deadline: deadline),
            sleep: { waits.record($0) })
    }
}

@Suite("Injected faults: the sync retries what a retry can cure and stops cleanly on the rest", .serialized, .timeLimit(.minutes(3)))
struct FaultInjectionTests {
    static let cases: [FaultCase] = [
        .once(.soapFault), .once(.http, httpStatus: 503), .once(.http, httpStatus: 500), .once(.delay), .once(.connectionReset),
        .once(.emptyResponse), .once(.truncatedBody), .once(.garbage),
        .always(.soapFault, "gave up after 3 attempts"),
        .always(.xsdMissingElement, "AsOf"),
        .always(.billionLaughs, "DOCTYPE is not accepted"),
        .always(.externalEntityFile, "DOCTYPE is not accepted"),
        .always(.deepNesting, "FindContractsResponse/x: is not an element the MILES schema allows here"),
        .always(.xsdExtraElement, "FindContractsResponse/Unexpected: is not an element the MILES schema allows here"),
        .always(.xsdWrongOrder, "comes after an element the MILES schema puts after it"),
        .always(.hugeTextNode, "text longer than", sizeBytes: 4 << 20),
    ]

    @Test("each fault: retried and completed, or stopped with the right error and nothing stored", arguments: cases, StoreKind.available)
    func fault(_ fault: FaultCase, kind: StoreKind) async throws {
        try await withHarness(contracts: 300, store: kind) { harness in
            let store = try await harness.openStore()
            await harness.server.miles.injectFault(fault.rule)
            switch fault.expected {
            case .recovers:
                // A short timeout only where a delay is injected, so the delay outlasts it.
                let timeout = fault.rule.kind == .delay ? FaultCase.timeoutUnderDelay : .seconds(30)
                let summary = try await harness.faultySync(store: store, requestTimeout: timeout).run(mode: .resume)
                #expect(summary.outcome == .completed)
                #expect(try await storeChecksum(store) == (await harness.milesChecksum()))
                #expect(await harness.server.miles.journalEntries().contains { $0.outcome != "ok" }, "the fault was injected")
            case let .stops(text):
                await #expect {
                    _ = try await harness.faultySync(store: store).run(mode: .resume)
                } throws: { error in
                    "\(error)".contains(text) && !"\(error)".contains("root:")
                }
                #expect(try await store.contractCount() == 0)
                #expect(try await store.checkpoint(job: "contracts") == SyncCheckpoint())
                // The next run, with MILES healthy again, resumes and completes.
                await harness.server.miles.clearFaults()
                #expect(try await harness.faultySync(store: store).run(mode: .resume).outcome == .completed)
            }
        }
    }

    @Test("503 with Retry-After: the retry waits at least what MILES asked, and never longer than the bound")
    func retryAfter() async throws {
        try await withHarness(contracts: 300) { harness in
            let store = try SQLiteStore(path: harness.storePath)
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", skip: 1, count: 2, kind: .http, httpStatus: 503,
                                                             retryAfterSeconds: 7))
            let waits = RecordedWaits()
            #expect(try await harness.faultySync(store: store, waits: waits).run(mode: .resume).outcome == .completed)
            #expect(waits.all.count == 2)
            #expect(waits.all.allSatisfy { $0 >= .seconds(7) && $0 <= .seconds(120) })

            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", count: 1, kind: .http, httpStatus: 503,
                                                             retryAfterSeconds: 86_400))
            let bounded = RecordedWaits()
            _ = try await harness.faultySync(store: store, waits: bounded).run(mode: .full)
            #expect(bounded.all == [.seconds(120)], "a day's Retry-After is cut to the two-minute bound")
        }
    }

    @Test("a deadline shorter than MILES's Retry-After stops the run cleanly; the next run resumes", arguments: StoreKind.available)
    func deadline(kind: StoreKind) async throws {
        try await withHarness(contracts: 300, store: kind) { harness in
            let store = try await harness.openStore()
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", skip: 1, count: 1, kind: .http, httpStatus: 503,
                                                             retryAfterSeconds: 60))
            await #expect {
                _ = try await harness.faultySync(store: store, deadline: .seconds(10)).run(mode: .resume)
            } throws: { "\($0)".contains("deadline") }
            #expect(try await store.contractCount() == 100, "the first page was committed before the fault")
            #expect(try await harness.faultySync(store: store).run(mode: .resume).outcome == .completed)
            #expect(try await storeChecksum(store) == (await harness.milesChecksum()))
        }
    }

    @Test("after repeated failures the circuit opens: the sync stops calling MILES and says so; the next run resumes", arguments: StoreKind.available)
    func circuitBreaker(kind: StoreKind) async throws {
        try await withHarness(contracts: 300, store: kind) { harness in
            let store = try await harness.openStore()
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", skip: 1, count: 1_000, kind: .http, httpStatus: 503))
            await #expect {
                _ = try await harness.faultySync(store: store, attempts: 20).run(mode: .resume)
            } throws: { "\($0)".contains("keeps failing") }
            let calls = await harness.server.miles.journalEntries().filter { $0.operation == "FindContracts" }
            #expect(calls.count == 1 + 5, "one good page, then five failures open the circuit")
            #expect(try await store.contractCount() == 100)
            await harness.server.miles.clearFaults()
            #expect(try await harness.faultySync(store: store).run(mode: .resume).outcome == .completed)
        }
    }

    @Test("a page that repeats its cursor stops the sync before it loops; a skipped page shows as a discrepancy", arguments: StoreKind.available)
    func cursors(kind: StoreKind) async throws {
        try await withHarness(contracts: 300, store: kind) { harness in
            let store = try await harness.openStore()
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", skip: 1, count: 1, kind: .cursorRepeat))
            await #expect {
                _ = try await harness.faultySync(store: store).run(mode: .resume)
            } throws: { "\($0)".contains("cursor it was given") }
            #expect(try await store.contractCount() == 100)
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", count: 1, kind: .cursorSkip))
            let skipped = try await harness.faultySync(store: store).run(mode: .full)
            #expect(skipped.outcome == .completedWithDiscrepancy)
            #expect(skipped.received < skipped.milesTotal)
        }
    }

    @Test("read leniently (validation: lenient in contract.yaml), extra and reordered elements are counted and the sync completes; depth is still bounded")
    func lenient() async throws {
        let (directory, _) = try mappingsCopy(replacing: "    response: FindContractsResponse",
                                              with: "    response: FindContractsResponse\n    validation: lenient")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lenientMappings = try MappingSet.load(directory: directory)
        try await withHarness(contracts: 300) { base in
            let harness = SyncHarness(server: base.server, mappings: lenientMappings, database: base.database)
            let store = try SQLiteStore(path: harness.storePath)
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", count: 1, kind: .xsdExtraElement))
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", count: 1, kind: .xsdWrongOrder))
            let summary = try await harness.faultySync(store: store).run(mode: .resume)
            #expect(summary.outcome == .completed)
            #expect(summary.schemaDeviations == 2)
            #expect(try await storeChecksum(store) == (await harness.milesChecksum()))
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", count: 1_000, kind: .deepNesting))
            await #expect {
                _ = try await harness.faultySync(store: store).run(mode: .full)
            } throws: { "\($0)".contains("nested deeper than") }
        }
    }

    @Test("an external entity pointing at a URL on loopback is never fetched")
    func externalEntityURL() async throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        try await withHarness(contracts: 300) { harness in
            let store = try SQLiteStore(path: harness.storePath)
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", count: 1_000, kind: .externalEntityURL,
                                                             url: "http://127.0.0.1:\(listener.port)/xxe"))
            await #expect {
                _ = try await harness.faultySync(store: store).run(mode: .resume)
            } throws: { "\($0)".contains("DOCTYPE is not accepted") }
            #expect(!listener.wasConnectedTo, "the adapter connected to the entity's URL")
            #expect(try await store.contractCount() == 0)
        }
    }
}

/// A TCP socket listening on loopback that never accepts: a connection attempt, had there been one,
/// waits in its backlog, where a non-blocking accept finds it.
final class LoopbackListener {
    private let socketDescriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 8) == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        socketDescriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    var wasConnectedTo: Bool {
        let connection = accept(socketDescriptor, nil, nil)
        if connection >= 0 { Glibc.close(connection) }
        return connection >= 0
    }

    func close() { Glibc.close(socketDescriptor) }
}

/// A copy of the shipped mappings with one line replaced; returns the folder and the line's number.
func mappingsCopy(replacing original: String, with replacement: String, file: String = "contract.yaml") throws -> (String, Int) {
    let directory = temporaryDirectory("mappings")
    try FileManager.default.removeItem(atPath: directory)
    try FileManager.default.copyItem(atPath: repositoryMappings, toPath: directory)
    let path = directory + "/" + file
    var lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
    let index = try #require(lines.firstIndex(of: original), "line '\(original)' not in \(file)")
    lines[index] = replacement
    try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return (directory, index + 1)
}

@Suite("Injected faults on writes: the push posts each write-off exactly once", .serialized, .timeLimit(.minutes(3)))
struct WriteFaultInjectionTests {
    static let kinds: [FaultKind] = [.soapFault, .http, .connectionReset, .emptyResponse, .garbage, .billionLaughs,
                                     .delay, .truncatedBody, .xsdExtraElement]

    /// Some faults answer instead of MILES (nothing applied: the push sends again); the others spoil the
    /// answer of a posting MILES made (the push asks FindWriteOffs before sending again).
    @Test("each fault on PostWriteOff: one posting per request, every request recorded", arguments: kinds, StoreKind.available)
    func writeFault(_ kind: FaultKind, store storeKind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: storeKind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let ids = try await harness.approvedWriteOffs(Array(candidates.prefix(3)), store: store)
            await harness.server.miles.injectFault(FaultRule(operation: "PostWriteOff", count: 2, kind: kind,
                                                             delayMilliseconds: kind == .delay ? FaultCase.delay : nil))
            let connection = MilesConnection(
                endpoint: harness.server.endpoint,
                credentials: MilesCredentials(username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword),
                transport: HTTPTransportConfiguration(connectTimeout: .seconds(2),
                                                      requestTimeout: kind == .delay ? FaultCase.timeoutUnderDelay : .seconds(30)))
            let relay = OutboxRelay(gateway: MilesGateway(connection: connection, mappings: harness.mappings), store: store,
                                    configuration: OutboxRelay.Configuration(retry: RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(10))))
            let summary = try await relay.run()
            #expect(summary.deadLettered == 0)
            let ledger = await harness.server.miles.writeOffLedger()
            #expect(ledger.map(\.clientReference).sorted() == ids.map { "WO-\($0)" }.sorted())
            for id in ids { #expect(try await store.writeOffRequest(id: id)?.state == .posted) }
        }
    }

    @Test("MILES failing every call: the circuit opens after five, the push stops saying so with every entry kept, and the next push posts them",
          arguments: StoreKind.available)
    func circuitBreaker(kind: StoreKind) async throws {
        try await withHarness(contracts: 200, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let ids = try await harness.approvedWriteOffs(Array(candidates.prefix(8)), store: store)
            await harness.server.miles.clearJournal()
            await harness.server.miles.injectFault(FaultRule(operation: nil, count: 1_000, kind: .http, httpStatus: 503))
            let relay = harness.relay(store, attempts: 20)
            await #expect {
                _ = try await relay.run()
            } throws: { "\($0)".contains("keeps failing") }
            #expect(await harness.server.miles.journalEntries().count == 5, "five calls, then the circuit is open")
            #expect(try await store.outboxEntries(state: .deadLetter).isEmpty)
            #expect(await harness.server.miles.writeOffLedger().isEmpty)
            await harness.server.miles.clearFaults()
            _ = try await harness.relay(store).run()
            #expect(await harness.server.miles.writeOffLedger().count == ids.count)
        }
    }
}

@Suite("Hostile answers cost the adapter no memory", .serialized, .timeLimit(.minutes(3)))
struct HostileMemoryTests {
    @Test("a 100 MB text node and billion laughs are refused by a sync subprocess whose peak memory stays under 64 MB",
          arguments: [FaultKind.hugeTextNode, .billionLaughs])
    func boundedMemory(_ kind: FaultKind) async throws {
        try await withHarness(contracts: 300) { harness in
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", count: 1_000, kind: kind, sizeBytes: 100 << 20))
            let (status, text) = try await runAdapter(["sync", "contracts"], environment: [
                "MILES_ADAPTER_ENDPOINT": harness.server.endpoint, "MILES_ADAPTER_USERNAME": MockMilesConfiguration.defaultUsername,
                "MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword, "MILES_ADAPTER_DATABASE": harness.storePath,
                "MILES_ADAPTER_MAPPINGS": repositoryMappings, "MILES_ADAPTER_MAX_ATTEMPTS": "1",
            ])
            #expect(status == 1)
            #expect(text.contains(kind == .hugeTextNode ? "text longer than" : "DOCTYPE is not accepted"))
            let peak = try #require(text.firstMatch(of: /peak memory (\d+) MB/).flatMap { Int($0.1) }, "no peak memory in: \(text)")
            #expect(peak < 64, "peak memory \(peak) MB")
        }
    }
}
