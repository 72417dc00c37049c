import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesMock
import MilesSOAP
import MilesSync
import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing

/// A loopback HTTP server that answers the first request on each connection and keeps the connection
/// open, then reads the next request on it whole and closes without answering: a kept-alive
/// connection that dies after a request went out and before any answer.
final class AnswersOncePerConnectionServer: Sendable {
    struct Received: Sendable {
        /// 1 for the first connection the server accepted, and so on.
        let connection: Int
        /// 1 for the first request on its connection.
        let position: Int
        let body: String

        /// The WS-Security nonce the request carried.
        var nonce: String? {
            body.firstMatch(of: /<wsse:Nonce[^>]*>([^<]+)<\/wsse:Nonce>/).map { String($0.1) }
        }
    }

    static let answer = #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>"#
        + #"<m:PingResponse xmlns:m="urn:test"/></soapenv:Body></soapenv:Envelope>"#

    /// What the server received, in order, from every connection's handler.
    final class Log: Sendable {
        private let state = Mutex<(connections: Int, received: [Received])>((0, []))

        var received: [Received] { state.withLock { $0.received } }

        func newConnection() -> Int { state.withLock { $0.connections += 1; return $0.connections } }
        func append(_ request: Received) { state.withLock { $0.received.append(request) } }
    }

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let log: Log

    var port: Int { channel.localAddress?.port ?? 0 }
    var endpoint: String { "http://127.0.0.1:\(port)/miles" }
    var received: [Received] { log.received }

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel, log: Log) {
        self.group = group
        self.channel = channel
        self.log = log
    }

    static func start() async throws -> AnswersOncePerConnectionServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let log = Log()
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    let number = log.newConnection()
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Handler(connection: number, log: log))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            return AnswersOncePerConnectionServer(group: group, channel: channel, log: log)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let connection: Int
        let log: Log
        var pending: [UInt8] = []
        var requests = 0

        init(connection: Int, log: Log) {
            self.connection = connection
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            pending += buffer.readBytes(length: buffer.readableBytes) ?? []
            while let body = nextRequestBody() {
                requests += 1
                log.append(Received(connection: connection, position: requests, body: body))
                guard requests == 1 else {
                    context.close(promise: nil)
                    return
                }
                let answer = Array(AnswersOncePerConnectionServer.answer.utf8)
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: \(answer.count)\r\n\r\n"
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: Array(head.utf8) + answer)), promise: nil)
            }
        }

        /// The body of the first whole request in `pending`, taken out of it; nil until one has arrived.
        private func nextRequestBody() -> String? {
            let separator = Array("\r\n\r\n".utf8)
            guard pending.count >= separator.count,
                  let headEnd = (0...pending.count - separator.count).first(where: { pending[$0..<$0 + separator.count].elementsEqual(separator) })
            else { return nil }
            let head = String(decoding: pending[..<headEnd], as: UTF8.self)
            let length = head.split(separator: "\r\n").compactMap { line -> Int? in
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                return Int(parts[1].trimmingCharacters(in: .whitespaces))
            }.first ?? 0
            let bodyStart = headEnd + separator.count
            guard pending.count >= bodyStart + length else { return nil }
            let body = String(decoding: pending[bodyStart..<bodyStart + length], as: UTF8.self)
            pending.removeFirst(bodyStart + length)
            return body
        }
    }
}

/// Keeps the name of the payload's root element: all a test of the transport needs of an answer.
final class PayloadNameDecoder: SOAPPayloadDecoder {
    private var name: String?

    func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
        if self.name == nil { self.name = name.string }
    }

    func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws {}
    func endElement(_ name: XMLName) throws {}
    func result() throws -> String { name ?? "" }
}

@Suite("A request whose kept-alive connection dies unanswered is never resent as it was", .serialized, .timeLimit(.minutes(2)))
struct WriteResendTests {
    func client(_ server: AnswersOncePerConnectionServer) -> SOAPClient {
        SOAPClient(configuration: SOAPClient.Configuration(
            endpoint: server.endpoint, credentials: MilesCredentials(username: "adapter", password: "s3cret"), messageNamespace: "urn:test",
            faultNames: FaultDetailNames(container: "FaultDetail", code: "Code", message: "Message"), classifier: FaultClassifier(table: [:]),
            transport: HTTPTransportConfiguration(connectTimeout: .seconds(2), requestTimeout: .seconds(10))))
    }

    /// A read: the answer's payload name.
    func ping(_ client: SOAPClient) async throws -> String {
        try await client.call(service: "PingService", operation: "Ping", soapAction: "urn:test/Ping", kind: .read,
                              payload: { try $0.element("m:Ping", "") }, decoder: { _ in PayloadNameDecoder() })
    }

    func withServer(_ body: (AnswersOncePerConnectionServer) async throws -> Void) async throws {
        let server = try await AnswersOncePerConnectionServer.start()
        do {
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test("a read is sent again on a new connection with a fresh nonce, and answered")
    func readIsResentFresh() async throws {
        try await withServer { server async throws in
            let client = client(server)
            #expect(try await ping(client) == "PingResponse")
            #expect(try await ping(client) == "PingResponse")
            let received = server.received
            // libcurl may open (and drop) a connection for the resend it was refused, so only "another connection" is certain.
            #expect(received.map(\.position) == [1, 2, 1])
            #expect(received.count == 3 && received[0].connection == received[1].connection && received[2].connection != received[1].connection)
            // The resend is a new message: a copy of the lost one would repeat its nonce, which MILES refuses as replayed.
            #expect(Set(received.compactMap(\.nonce)).count == 3)
        }
    }

    @Test("a write (every call not marked a read) is an unknown outcome, and the server saw it exactly once")
    func writeIsAnUnknownOutcome() async throws {
        try await withServer { server async throws in
            let client = client(server)
            #expect(try await ping(client) == "PingResponse")
            do throws(SOAPCallError) {
                let answer = try await client.call(service: "PingService", operation: "PostWriteOff", soapAction: "urn:test/PostWriteOff",
                                                   payload: { try $0.element("m:PostWriteOff", "WO-1") }, decoder: { _ in PayloadNameDecoder() })
                Issue.record("the write was answered (\(answer)): it went out twice")
            } catch {
                #expect(error.disposition == .unknownOutcome)
                guard case let .transport(_, message, requestSent) = error.kind else {
                    Issue.record("not a transport failure: \(error)")
                    return
                }
                #expect(requestSent)
                #expect(message.contains("not sent again"))
            }
            let writes = server.received.filter { $0.body.contains("<m:PostWriteOff>WO-1</m:PostWriteOff>") }
            #expect(writes.count == 1)
            #expect(writes.first?.connection == 1 && writes.first?.position == 2)
            // The client is not left on the dead connection: the next call is answered.
            #expect(try await ping(client) == "PingResponse")
        }
    }

    @Test("the shipped mapping sorts a replayed nonce as an authentication failure: the adapter never sends one twice")
    func replayedNonceIsAuthentication() throws {
        let mappings = try MappingSet.load(directory: repositoryMappings)
        let fault = SOAPFault(faultCode: "soapenv:Client", faultString: "this nonce has been used before", code: "NONCE_REPLAYED")
        #expect(mappings.contract.faultClassifier.disposition(of: fault) == .authentication)
    }

    @Test("MILES drops the connection after posting a push's second write-off: the relay reconciles it, no nonce is replayed, one posting each",
          arguments: StoreKind.available)
    func relayReconcilesTheLostWrite(kind: StoreKind) async throws {
        try await withHarness(contracts: 300, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let ids = try await harness.approvedWriteOffs(Array(candidates.prefix(3)), store: store)
            // The first posting leaves the connection kept alive; the second goes out on it, is applied, and its answer lost.
            await harness.server.miles.injectFault(FaultRule(operation: "PostWriteOff", skip: 1, count: 1, afterProcessing: true))
            await harness.server.miles.clearJournal()
            let summary = try await harness.relay(store).run()
            #expect(summary.posted == 2 && summary.reconciled == 1)
            let ledger = await harness.server.miles.writeOffLedger()
            #expect(ledger.count == 3)
            #expect(Set(ledger.map(\.clientReference)) == Set(ids.map { "WO-\($0)" }))
            let journal = await harness.server.miles.journalEntries()
            #expect(!journal.contains { $0.outcome.contains("NONCE_REPLAYED") }, "\(journal.map(\.outcome))")
            #expect(journal.filter { $0.operation == "PostWriteOff" }.map(\.outcome).sorted() == ["ok", "ok", "ok,dropped"])
            for id in ids {
                #expect(try await store.writeOffRequest(id: id)?.state == .posted)
            }
        }
    }
}
