import AgentAPI
import CollectionsDomain
import CollectionsStore
import Foundation
import HTTPServing
import Logging
import MilesSync
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TestSupport

/// Log lines, kept for a test to read.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    var logger: Logger {
        Logger(label: "test") { _ in CapturingLogHandler(log: self) }
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }
}

private struct CapturingLogHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        log.append("\(event.level) \(event.message) \(fields)")
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}

@Suite("The agents' HTTP endpoint under attack (issue 11)", .serialized, .timeLimit(.minutes(3)))
struct AgentAPIHostileTests {
    let acmeToken = AgentTokens.generate()

    /// A server on a placed store, configured by `adjust`; stopped (waiting for its background work) after `body`.
    func withServer(_ kind: StoreKind, _ adjust: (inout AgentAPIConfiguration) -> Void = { _ in }, log: CapturedLog = CapturedLog(),
                    _ body: (any CollectionsStores, IngestDesk, AgentAPIServer, APIClient) async throws -> Void) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008"])
            let inbox = temporaryDirectory("inbox")
            defer { try? FileManager.default.removeItem(atPath: inbox) }
            // A generous answer window: on a loaded machine a small delivery must still be answered with its result.
            var configuration = AgentAPIConfiguration(port: 0, requestsPerMinute: 1_000, answerWithin: .seconds(30),
                                                      tokenHashes: ["acme-dca": AgentTokens.hash(of: acmeToken)])
            adjust(&configuration)
            let desk = harness.ingestDesk(store, inbox: inbox)
            let server = try await AgentAPIServer.start(configuration: configuration, desk: desk, monitored: store, logger: log.logger)
            do {
                try await body(store, desk, server, APIClient(base: "http://127.0.0.1:\(server.port)"))
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }
    }

    @Test("JSON with a key twice, an unknown key or a number for text is refused in our words, nothing applied",
          arguments: StoreKind.available)
    func strictJSON(kind: StoreKind) async throws {
        try await withServer(kind) { store, _, _, api in
            let documents = [
                (#"{"updates": [{"contractNumber": "C00000008", "code": "NOTE", "date": "28/11/2026", "note": "a"}], "updates": []}"#,
                 "\"updates\" appears twice"),
                (#"{"updates": [{"contractNumber": "C00000008", "code": "NOTE", "code": "PAY", "date": "28/11/2026"}]}"#, "has \"code\" twice"),
                (#"{"update": [{"contractNumber": "C00000008", "code": "NOTE"}]}"#, "unknown key \"update\""),
                (#"{"updates": [{"contractNumber": "C00000008", "code": "PAY", "date": "28/11/2026", "amount": 12.5}]}"#, "is not text"),
                (#"{"updates": [{"contractNumber": "C00000008", "code": "NOTE""#, "ends early"),
            ]
            for (document, expected) in documents {
                let answer = try await api.send("POST", "/v1/agents/acme-dca/updates", token: acmeToken, contentType: "application/json",
                                                body: Data(document.utf8))
                #expect(answer.status == 422, "\(document): \(answer.text)")
                let failure = answer.json["failure"] as? String ?? ""
                #expect(failure.contains(expected), "\(failure)")
                #expect(!answer.text.contains("DecodingError") && !answer.text.contains("Swift."), "\(answer.text)")
            }
            #expect(try await store.outboxEntries(state: .pending).isEmpty)
        }
    }

    @Test("failed authentications are logged with the source and agent but never the token, and throttled per source",
          arguments: StoreKind.available)
    func failedAuthentications(kind: StoreKind) async throws {
        let log = CapturedLog()
        try await withServer(kind, { $0.failedAuthenticationsPerMinute = 3 }, log: log) { _, _, _, api in
            let wrong = "wrong-token-\(UUID().uuidString)"
            for _ in 0..<3 {
                #expect(try await api.send("GET", "/v1/agents/acme-dca/updates/1", token: wrong).status == 401)
            }
            let throttled = try await api.send("GET", "/v1/agents/acme-dca/updates/1", token: acmeToken)
            #expect(throttled.status == 429)
            #expect(throttled.json["error"] as? String == "too_many_failed_authentications")
            #expect(throttled.headers["Retry-After"] != nil)
            let failures = log.all.filter { $0.contains("failed authentication") }
            #expect(failures.count == 3)
            #expect(failures.allSatisfy { $0.contains("source=127.0.0.1") && $0.contains("agent=acme-dca") })
            #expect(!log.all.contains { $0.contains(wrong) || $0.contains(acmeToken) })
        }
    }

    @Test("500 stalled connections (headers and bodies) are closed after the timeout; a normal request is still served")
    func stalledConnections() async throws {
        let deadlines = HTTPDeadlines(header: .seconds(1), body: .seconds(1), idle: .seconds(1))
        try await withServer(.sqlite, { $0.deadlines = deadlines }) { _, _, server, api in
            var channels: [any Channel] = []
            for index in 0..<500 {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: server.port).get()
                let partial = index.isMultiple(of: 2)
                    ? "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
                    : "POST /v1/agents/acme-dca/updates HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(acmeToken)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"updates\": ["
                do {
                    try await channel.writeAndFlush(ByteBuffer(string: partial))
                } catch ChannelError.ioOnClosedChannel {
                    // On a loaded machine the server's header deadline (counted from the accept) can pass before
                    // the partial request is written: the connection is then already closed, which is what is tested.
                }
                channels.append(channel)
            }
            // Counted from the last partial request, not the first: opening 500 connections on a loaded machine
            // takes seconds of its own, and each connection's deadline runs from its own accept.
            let lastWritten = ContinuousClock.now
            let health = try await api.send("GET", "/healthz")
            #expect(health.status == 200)
            let closed = channels.map(\.closeFuture)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { for future in closed { try await future.get() } }
                group.addTask {
                    try await Task.sleep(for: .seconds(30))
                    throw CancellationError()
                }
                try await group.next()
                group.cancelAll()
            }
            let elapsed = lastWritten.duration(to: .now)
            #expect(elapsed < .seconds(30), "every stalled connection was closed, after \(elapsed)")
            #expect(try await api.send("GET", "/healthz").status == 200)
        }
    }

    @Test("a large delivery is answered 202 with where to poll; the same content posted meanwhile joins it; GET lists a bounded result",
          arguments: StoreKind.available)
    func largeDeliveryAnsweredLater(kind: StoreKind) async throws {
        let rows = 20_000
        let csv = "AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes\n"
            + String(repeating: "C00000008,NOTE,28/11/2026,,,called\n", count: rows)
        let log = CapturedLog()
        try await withServer(kind, { $0.answerWithin = .zero; $0.maxBodyBytes = 4 << 20 }, log: log) { store, desk, server, api in
            let first = try await api.send("POST", "/v1/agents/acme-dca/updates", token: acmeToken, contentType: "text/csv", body: Data(csv.utf8))
            #expect(first.status == 202, "\(first.text)")
            let location = try #require(first.headers["Location"] as? String)
            #expect(first.json["state"] as? String == "received")
            let again = try await api.send("POST", "/v1/agents/acme-dca/updates", token: acmeToken, contentType: "text/csv", body: Data(csv.utf8))
            #expect([200, 202].contains(again.status))
            #expect(again.headers["Location"] as? String == location)
            let polled = try await api.send("GET", location, token: acmeToken)
            #expect(polled.status == 200)
            #expect(["received", "processed"].contains(polled.json["state"] as? String))

            // Stopping waits for the delivery; a server started again shows it applied once, whole.
            await server.stop()
            let configuration = AgentAPIConfiguration(port: 0, tokenHashes: ["acme-dca": AgentTokens.hash(of: acmeToken)])
            let restarted = try await AgentAPIServer.start(configuration: configuration, desk: desk, monitored: store, logger: log.logger)
            let result = try await APIClient(base: "http://127.0.0.1:\(restarted.port)").send("GET", location, token: acmeToken)
            await restarted.stop()
            #expect(result.json["state"] as? String == "processed")
            #expect(result.json["applied"] as? Int == rows)
            #expect((result.json["updates"] as? [Any])?.count == 1_000)
            #expect(result.json["more"] as? Bool == true)
            let id = try #require(Int64(location.split(separator: "/").last ?? ""))
            #expect(try await store.thirdPartyUpdates(fileId: id).count == rows)
        }
    }
}
