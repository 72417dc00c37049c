import Foundation
import Hummingbird
import Logging
import NIOCore
import HTTPServing

/// The mock MILES on HTTP (Hummingbird): SOAP services under `/miles/<Service>`, the WSDL at
/// `/miles/<Service>?wsdl`, the XSD at `/miles/miles-collections.xsd`, and an admin API under
/// `/admin` that answers only on loopback.
///
/// ```swift
/// let server = try await MockMilesServer.start(configuration: .init(contractCount: 5_000, contractDirectory: dir))
/// defer { Task { await server.stop() } }
/// // point the adapter at server.endpoint
/// ```
public final class MockMilesServer: Sendable {
    public static let namespace = "http://miles.example.com/collections/2026/01"

    public let miles: MockMiles
    private let server: InProcessServer

    public var port: Int { server.port }
    public var endpoint: String { "http://127.0.0.1:\(port)/miles" }

    private init(miles: MockMiles, server: InProcessServer) {
        self.miles = miles
        self.server = server
    }

    /// Starts the server in this process and returns once it is listening.
    public static func start(configuration: MockMilesConfiguration, logger: Logger = Logger(label: "miles-mock")) async throws
        -> MockMilesServer {
        let miles = MockMiles(configuration: configuration)
        let server = try await InProcessServer.start(name: "the mock MILES on \(configuration.host):\(configuration.port)", logger: logger) {
            makeApplication(miles: miles, configuration: configuration, logger: logger, onListening: $0)
        }
        return MockMilesServer(miles: miles, server: server)
    }

    /// Stops listening and waits until the server has shut down.
    public func stop() async {
        await server.stop()
    }

    /// Runs the server until SIGTERM or SIGINT; for the `miles-mock` executable.
    public static func run(configuration: MockMilesConfiguration, faults: [FaultRule] = [], logger: Logger,
                           onListening: @escaping @Sendable (Int) -> Void) async throws {
        let miles = MockMiles(configuration: configuration)
        for rule in faults { await miles.injectFault(rule) }
        let application = makeApplication(miles: miles, configuration: configuration, logger: logger, onListening: onListening)
        try await application.runService()
    }

    private static func makeApplication(
        miles: MockMiles, configuration: MockMilesConfiguration, logger: Logger, onListening: @escaping @Sendable (Int) -> Void
    ) -> some ApplicationProtocol {
        let router = Router(context: MockRequestContext.self)
        let wsdlDirectory = configuration.contractDirectory

        router.post("miles/:service") { request, context -> Response in
            let service = try context.parameters.require("service")
            let body = try await request.body.collect(upTo: 8 << 20)
            let answer = await miles.respond(service: service, body: Array(buffer: body))
            if let delay = answer.delayMilliseconds {
                try await Task.sleep(for: .milliseconds(delay))
            }
            if answer.dropConnection {
                // The call was applied; the caller never hears so.
                try? await context.channel.close()
                throw HTTPError(.internalServerError)
            }
            let (status, bytes) = (answer.status, answer.body)
            var headers: HTTPFields = [.contentType: status == 200 || status == 500 ? "text/xml; charset=utf-8" : "text/html"]
            if let seconds = answer.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("miles/:service") { request, context -> Response in
            let name = try context.parameters.require("service")
            let file: String
            let contentType: String
            if name.hasSuffix(".xsd") {
                file = "\(wsdlDirectory)/\(name)"
                contentType = "application/xml"
            } else if request.uri.query == "wsdl" || request.uri.query == "WSDL" {
                file = "\(wsdlDirectory)/miles-collections.wsdl"
                contentType = "text/xml"
            } else {
                throw HTTPError(.notFound)
            }
            // Only the files of the contract folder, by plain name.
            guard !name.contains("/"), !name.contains(".."), let data = FileManager.default.contents(atPath: file) else {
                throw HTTPError(.notFound)
            }
            var text = String(decoding: data, as: UTF8.self)
            if let host = request.head.authority {
                text = text.replacingOccurrences(of: "http://localhost:8080/miles", with: "http://\(host)/miles")
            }
            return Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        MockAdminRoutes.add(to: router, miles: miles)

        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "miles-mock"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}

/// The request context: Hummingbird's basics plus the peer's address, for the loopback-only admin API.
struct MockRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    /// The connection, so a fault can drop it after the call was processed.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// Pages of a million-contract portfolio can be large; requests are small.
    var maxUploadSize: Int { 8 << 20 }
}
