import CollectionsDomain
import CollectionsStore
import Foundation
import Hummingbird
import Logging
import MilesSync
import NIOCore
import HTTPServing

/// Agents post their updates over HTTP (`miles-adapter serve`):
///
/// - `POST /v1/agents/{agent}/updates` — a JSON body (`{"updates": [{"contractNumber": …, "code": …}]}`) or
///   the agent's own file (`text/csv`, `application/xml`); stored whole in the inbox, then processed as
///   a file would be. 201 with the result, or 422 when no row could be applied.
/// - `GET /v1/agents/{agent}/updates/{id}` — a delivery's processing result.
/// - `GET /healthz`, `GET /metrics` (Prometheus text).
///
/// A missing or unknown bearer token is 401, another agent's path 403, a body over the limit 413, a
/// flood 429: each with a JSON error, checked before anything is read or stored.
public final class AgentAPIServer: Sendable {
    private let server: InProcessServer

    public var port: Int { server.port }

    private init(server: InProcessServer) {
        self.server = server
    }

    /// Starts listening in this process and returns once it is.
    /// What `/healthz` and `/metrics` read.
    public typealias MonitoredStores = ContractStore & SyncStore & IngestStore & OutboxStore

    public static func start(configuration: AgentAPIConfiguration, desk: IngestDesk, monitored: any MonitoredStores,
                             logger: Logger) async throws -> AgentAPIServer {
        let server = try await InProcessServer.start(name: "the agents' API on \(configuration.host):\(configuration.port)", logger: logger) {
            try makeApplication(configuration: configuration, desk: desk, monitored: monitored, logger: logger, onListening: $0)
        }
        return AgentAPIServer(server: server)
    }

    public func stop() async {
        await server.stop()
    }

    /// Serves until SIGTERM or SIGINT.
    public static func run(configuration: AgentAPIConfiguration, desk: IngestDesk, monitored: any MonitoredStores, logger: Logger,
                           onListening: @escaping @Sendable (Int) -> Void) async throws {
        try await makeApplication(configuration: configuration, desk: desk, monitored: monitored, logger: logger, onListening: onListening)
            .runService()
    }

    private static func makeApplication(configuration: AgentAPIConfiguration, desk: IngestDesk, monitored: any MonitoredStores, logger: Logger,
                                        onListening: @escaping @Sendable (Int) -> Void) throws -> some ApplicationProtocol {
        let handler = AgentAPIHandler(configuration: configuration, tokens: try AgentTokens(hexHashes: configuration.tokenHashes),
                                      desk: desk, monitored: monitored, logger: logger)
        let router = Router()
        router.post("v1/agents/:agent/updates") { request, context in
            await handler.post(request, agent: try context.parameters.require("agent"))
        }
        router.get("v1/agents/:agent/updates/:id") { request, context in
            await handler.get(request, agent: try context.parameters.require("agent"), id: try context.parameters.require("id"))
        }
        router.get("healthz") { _, _ in await handler.health() }
        router.get("metrics") { _, _ in await handler.metrics() }
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "miles-adapter"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}

/// The API's answers, kept apart from the routing so each rule reads in one place.
struct AgentAPIHandler: Sendable {
    let configuration: AgentAPIConfiguration
    let tokens: AgentTokens
    let desk: IngestDesk
    let monitored: any AgentAPIServer.MonitoredStores
    let logger: Logger
    let limiter: RateLimiter
    let counters = RejectionCounters()

    init(configuration: AgentAPIConfiguration, tokens: AgentTokens, desk: IngestDesk, monitored: any AgentAPIServer.MonitoredStores, logger: Logger) {
        self.configuration = configuration
        self.tokens = tokens
        self.desk = desk
        self.monitored = monitored
        self.logger = logger
        limiter = RateLimiter(perMinute: configuration.requestsPerMinute)
    }

    /// The agent the request may act for, or the error answer: 401, 403 or 429.
    private func admit(_ request: Request, agent: String) async -> Result<String, ErrorAnswer> {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              let caller = tokens.agent(presenting: String(header.dropFirst("Bearer ".count))) else {
            return .failure(ErrorAnswer(.unauthorized, "unauthorized", "a valid bearer token is required (Authorization: Bearer …)",
                                        headers: [.wwwAuthenticate: "Bearer"]))
        }
        guard caller == agent else {
            return .failure(ErrorAnswer(.forbidden, "forbidden", "this token is for agent '\(caller)', not '\(agent)'"))
        }
        if let wait = await limiter.take(for: caller) {
            return .failure(ErrorAnswer(.tooManyRequests, "rate_limited",
                                        "more than \(configuration.requestsPerMinute) requests a minute; try again in \(wait) s",
                                        headers: [.retryAfter: String(wait)]))
        }
        return .success(caller)
    }

    func post(_ request: Request, agent: String) async -> Response {
        let caller: String
        switch await admit(request, agent: agent) {
        case let .success(admitted): caller = admitted
        case let .failure(answer): return await reject(answer)
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            return await reject(tooLarge())
        }
        let name: String
        switch request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() {
        case "application/json": name = "post.json"
        case "text/csv": name = "post.csv"
        case "application/xml", "text/xml": name = "post.xml"
        default:
            return await reject(ErrorAnswer(.unsupportedMediaType, "unsupported_media_type",
                                            "send application/json, or the agent's own file as text/csv or application/xml"))
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            return await reject(tooLarge())
        } catch {
            return await reject(ErrorAnswer(.badRequest, "bad_request", "the body could not be read: \(error)"))
        }
        do {
            let (file, isNew) = try await desk.receive(bytes: Array(buffer: body), name: name, agent: caller, channel: "http")
            let processed = isNew || file.state == .received ? try await desk.process(file) : file
            let result = try await DeliveryResult(processed, store: desk.store, duplicate: !isNew)
            let status: HTTPResponse.Status = processed.state == .failed || (processed.applied + processed.refused == 0 && processed.rejected > 0)
                ? .unprocessableContent : (isNew ? .created : .ok)
            logger.info("agent delivery over HTTP", metadata: ["agent": "\(caller)", "delivery": "\(processed.id)", "state": "\(processed.state)"])
            return Self.json(status, result, headers: [.location: "/v1/agents/\(caller)/updates/\(processed.id)"])
        } catch {
            logger.error("agent delivery failed", metadata: ["agent": "\(caller)", "error": "\(error)"])
            return Self.json(.internalServerError, ErrorBody(error: "internal", message: "the delivery could not be stored: \(error)"))
        }
    }

    func get(_ request: Request, agent: String, id: String) async -> Response {
        let caller: String
        switch await admit(request, agent: agent) {
        case let .success(admitted): caller = admitted
        case let .failure(answer): return await reject(answer)
        }
        do {
            guard let id = Int64(id), let file = try await desk.store.inboxFile(id: id), file.agent == caller else {
                return Self.json(.notFound, ErrorBody(error: "not_found", message: "agent '\(caller)' has no delivery \(id)"))
            }
            return Self.json(.ok, try await DeliveryResult(file, store: desk.store, duplicate: false))
        } catch {
            return Self.json(.internalServerError, ErrorBody(error: "internal", message: "\(error)"))
        }
    }

    func health() async -> Response {
        do {
            _ = try await monitored.contractCount()
            return Self.json(.ok, ["status": "ok"])
        } catch {
            return Self.json(.serviceUnavailable, ["status": "the store cannot be read: \(error)"])
        }
    }

    func metrics() async -> Response {
        do {
            let text = try await PrometheusText.render(store: monitored, rejectedRequests: await counters.snapshot())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        } catch {
            return Self.json(.serviceUnavailable, ErrorBody(error: "unavailable", message: "the store cannot be read: \(error)"))
        }
    }

    private func tooLarge() -> ErrorAnswer {
        ErrorAnswer(.contentTooLarge, "payload_too_large", "the body is over \(configuration.maxBodyBytes) bytes; split the delivery")
    }

    private func reject(_ answer: ErrorAnswer) async -> Response {
        await counters.count(answer.status.code)
        return Self.json(answer.status, ErrorBody(error: answer.code, message: answer.message), headers: answer.headers)
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

struct ErrorAnswer: Error {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    let headers: HTTPFields

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }
}

struct ErrorBody: Encodable {
    let error: String
    let message: String
}

/// A delivery's processing result, as the API returns it.
struct DeliveryResult: Encodable {
    struct Update: Encodable {
        let line: Int
        let contractNumber: String
        let kind: String
        let outcome: String
        let refusal: String?
    }

    struct RowError: Encodable {
        let line: Int
        let column: String
        let value: String
        let reason: String
    }

    let id: Int64
    let agent: String
    let state: String
    let duplicate: Bool
    let sha256: String
    let applied: Int
    let refused: Int
    let rejected: Int
    let failure: String?
    let updates: [Update]
    let errors: [RowError]

    init(_ file: InboxFile, store: any IngestStore, duplicate: Bool) async throws {
        id = file.id
        agent = file.agent
        state = file.state.rawValue
        self.duplicate = duplicate
        sha256 = file.sha256
        applied = file.applied
        refused = file.refused
        rejected = file.rejected
        failure = file.failureReason
        updates = try await store.thirdPartyUpdates(fileId: file.id).map {
            Update(line: $0.line, contractNumber: $0.contractNumber, kind: $0.kind, outcome: $0.outcome, refusal: $0.refusal)
        }
        errors = try await store.ingestRowErrors(fileId: file.id).map { RowError(line: $0.line, column: $0.column, value: $0.value, reason: $0.reason) }
    }
}

/// Requests turned away, by HTTP status, since the server started.
actor RejectionCounters {
    private var byStatus: [Int: Int] = [:]

    func count(_ status: Int) { byStatus[status, default: 0] += 1 }

    func snapshot() -> [Int: Int] { byStatus }
}
