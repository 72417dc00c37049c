import CollectionsDomain
import CollectionsStore
import Foundation
import HTTPServing
import Hummingbird
import Logging
import MilesMapping
import MilesSync
import NIOCore
import Prometheus

/// Agents post their updates over HTTP (`miles-adapter serve`):
///
/// - `POST /v1/agents/{agent}/updates` — a JSON body (`{"updates": [{"contractNumber": …, "code": …}]}`) or
///   the agent's own file (`text/csv`, `application/xml`), streamed into the inbox, then processed as a
///   file would be. 201 with the result (422 when nothing could be applied), or 202 with a Location to
///   poll when processing takes longer than `answerWithin`.
/// - `GET /v1/agents/{agent}/updates/{id}` — a delivery's state and result (the first 1,000 updates and
///   rejected rows, with the totals).
/// - `GET /healthz`, `GET /metrics` (Prometheus text).
///
/// A missing or unknown bearer token is 401 (logged with the source address, never the token, and
/// throttled per source), another agent's path 403, a body over the limit 413, a flood 429: each with a
/// JSON error in our words, checked before anything is read or stored. Slow clients are cut off
/// (`HTTPDeadlines`) and at most `maxConnections` are served at once. `docs/agents-api.yaml`
/// describes the API as an OpenAPI document, which a test keeps true against `routes`.
public final class AgentAPIServer: Sendable {
    private let server: InProcessServer
    private let work: DeliveryWork
    /// Every route served, the workspace's too, as `METHOD /path/{parameter}`.
    public let routes: [String]

    public var port: Int { server.port }

    private init(server: InProcessServer, work: DeliveryWork, routes: [String]) {
        self.server = server
        self.work = work
        self.routes = routes
    }

    /// What `/healthz` and `/metrics` read,
    /// and the rate limits every `serve` process sharing the store draws on.
    public typealias MonitoredStores = ContractStore & SyncStore & IngestStore & OutboxStore & RateLimitStore

    /// Starts listening in this process and returns once it is.
    /// `routes` are served beside the agents' API (the workspace).
    public static func start(configuration: AgentAPIConfiguration, desk: IngestDesk, monitored: any MonitoredStores,
                             routes: [any RouteGroup] = [], logger: Logger) async throws -> AgentAPIServer {
        let work = DeliveryWork(desk: desk, logger: logger)
        var served: [String] = []
        let server = try await InProcessServer.start(name: "the agents' API on \(configuration.host):\(configuration.port)", logger: logger) {
            try makeApplication(configuration: configuration, desk: desk, work: work, monitored: monitored, routes: routes, logger: logger,
                                onListening: $0, served: &served)
        }
        return AgentAPIServer(server: server, work: work, routes: served)
    }

    /// Stops listening, then waits for deliveries still being processed.
    public func stop() async {
        await server.stop()
        await work.finishAll()
    }

    /// Serves until SIGTERM or SIGINT, then lets deliveries being processed finish.
    public static func run(configuration: AgentAPIConfiguration, desk: IngestDesk, monitored: any MonitoredStores,
                           routes: [any RouteGroup] = [], logger: Logger, onListening: @escaping @Sendable (Int) -> Void) async throws {
        let work = DeliveryWork(desk: desk, logger: logger)
        var served: [String] = []
        try await makeApplication(configuration: configuration, desk: desk, work: work, monitored: monitored, routes: routes, logger: logger,
                                  onListening: onListening, served: &served).runService()
        await work.finishAll()
    }

    private static func makeApplication(configuration: AgentAPIConfiguration, desk: IngestDesk, work: DeliveryWork, monitored: any MonitoredStores,
                                        routes: [any RouteGroup], logger: Logger,
                                        onListening: @escaping @Sendable (Int) -> Void, served: inout [String]) throws -> some ApplicationProtocol {
        let requests = PrometheusCollectorRegistry()
        let handler = AgentAPIHandler(configuration: configuration, tokens: try AgentTokens(hexHashes: configuration.tokenHashes),
                                      desk: desk, work: work, monitored: monitored, requests: requests, logger: logger)
        let router = Router(context: ClientRequestContext.self)
        router.add(middleware: RequestMetrics(registry: requests))
        for group in routes { group.register(on: router) }
        router.post("v1/agents/:agent/updates") { request, context in
            await handler.post(request, agent: try context.parameters.require("agent"), from: context.source)
        }
        router.get("v1/agents/:agent/updates/:id") { request, context in
            await handler.get(request, agent: try context.parameters.require("agent"), id: try context.parameters.require("id"), from: context.source)
        }
        router.get("healthz") { _, _ in await handler.health() }
        router.get("metrics") { _, _ in await handler.metrics() }
        served = router.routes.map { "\($0.method) \($0.path)" }
        return Application(
            router: router,
            server: .http1(deadlines: configuration.deadlines),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "miles-adapter",
                                 availableConnectionsDelegate: .maximum(configuration.maxConnections, logger: logger)),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}

/// The API's answers, kept apart from the routing so each rule reads in one place.
struct AgentAPIHandler: Sendable {
    let configuration: AgentAPIConfiguration
    let tokens: AgentTokens
    let desk: IngestDesk
    let work: DeliveryWork
    let monitored: any AgentAPIServer.MonitoredStores
    /// The requests `RequestMetrics` counted and timed.
    let requests: PrometheusCollectorRegistry
    let logger: Logger
    let limiter: RateLimiter
    let failedAuthentications: RateLimiter
    let counters = RejectionCounters()

    init(configuration: AgentAPIConfiguration, tokens: AgentTokens, desk: IngestDesk, work: DeliveryWork, monitored: any AgentAPIServer.MonitoredStores,
         requests: PrometheusCollectorRegistry, logger: Logger, now: CollectionsClock = .system) {
        self.configuration = configuration
        self.tokens = tokens
        self.desk = desk
        self.work = work
        self.monitored = monitored
        self.requests = requests
        self.logger = logger
        limiter = RateLimiter(store: monitored, name: "requests", perMinute: configuration.requestsPerMinute, now: now)
        failedAuthentications = RateLimiter(store: monitored, name: "failed-authentications",
                                            perMinute: configuration.failedAuthenticationsPerMinute, now: now)
    }

    /// The agent the request may act for, or the error answer: 401, 403 or 429 (500 when the shared
    /// rate limits cannot be read).
    private func admit(_ request: Request, agent: String, from source: String) async -> Result<String, ErrorAnswer> {
        do {
            return try await admitting(request, agent: agent, from: source)
        } catch {
            let reference = UUID().uuidString.prefix(8).lowercased()
            logger.error("agents' API: the rate limits cannot be read", metadata: ["reference": "\(reference)", "error": "\(error)"])
            return .failure(ErrorAnswer(.internalServerError, "internal",
                                        "the rate limits could not be read; the adapter's log has the cause (reference \(reference))"))
        }
    }

    private func admitting(_ request: Request, agent: String, from source: String) async throws -> Result<String, ErrorAnswer> {
        if let wait = try await failedAuthentications.wait(for: source) {
            return .failure(ErrorAnswer(.tooManyRequests, "too_many_failed_authentications",
                                        "too many failed authentications from this address; try again in \(wait) s",
                                        headers: [.retryAfter: String(wait)]))
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              let caller = tokens.agent(presenting: String(header.dropFirst("Bearer ".count))) else {
            let presented = request.headers[.authorization] == nil ? "no bearer token" : "a token that is not any agent's"
            try await failed(source: source, agent: agent, presented)
            return .failure(ErrorAnswer(.unauthorized, "unauthorized", "a valid bearer token is required (Authorization: Bearer …)",
                                        headers: [.wwwAuthenticate: "Bearer"]))
        }
        guard caller == agent else {
            try await failed(source: source, agent: agent, "the token of agent '\(caller)'")
            return .failure(ErrorAnswer(.forbidden, "forbidden", "this token is for agent '\(caller)', not '\(agent)'"))
        }
        if let wait = try await limiter.take(for: caller) {
            return .failure(ErrorAnswer(.tooManyRequests, "rate_limited",
                                        "more than \(configuration.requestsPerMinute) requests a minute; try again in \(wait) s",
                                        headers: [.retryAfter: String(wait)]))
        }
        return .success(caller)
    }

    /// Logs a failed authentication (never the token) and counts it against the source.
    private func failed(source: String, agent: String, _ presented: String) async throws {
        _ = try await failedAuthentications.take(for: source)
        logger.warning("failed authentication on the agents' API", metadata: [
            "source": "\(source)", "agent": "\(agent)", "presented": "\(presented)"])
    }

    func post(_ request: Request, agent: String, from source: String) async -> Response {
        let caller: String
        switch await admit(request, agent: agent, from: source) {
        case let .success(admitted): caller = admitted
        case let .failure(answer): return await reject(answer)
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            return await reject(tooLarge(configuration.maxBodyBytes))
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
        let file: InboxFile
        let isNew: Bool
        do {
            let upload = try desk.upload(name: name, agent: caller, channel: "http", maxBytes: configuration.maxBodyBytes)
            do {
                for try await part in request.body { try upload.append(part.readableBytesView) }
            } catch let error as IngestError where error.code == .overLimit {
                return await reject(tooLarge(upload.maxBytes))
            } catch let error as IngestError {
                throw error
            } catch {
                upload.discard()
                return await reject(ErrorAnswer(.badRequest, "bad_request", "the body did not arrive whole; send it again"))
            }
            (file, isNew) = try await upload.finish()
        } catch {
            return internalError("the delivery could not be stored", error, agent: caller)
        }
        // The same content again: its result, unless it is still being (or was never) processed.
        if !isNew, file.state != .received {
            return await answer(file, duplicate: true, caller: caller)
        }
        guard let done = await work.process(file, answeringWithin: configuration.answerWithin) else {
            logger.info("agent delivery accepted; processing goes on", metadata: ["agent": "\(caller)", "delivery": "\(file.id)"])
            return await answer(file, duplicate: !isNew, caller: caller, status: .accepted)
        }
        switch done {
        case let .success(processed):
            logger.info("agent delivery over HTTP", metadata: ["agent": "\(caller)", "delivery": "\(processed.id)", "state": "\(processed.state)"])
            // Still received: another process (a second server, a watcher) is processing it; poll the Location.
            return await answer(processed, duplicate: !isNew, caller: caller, status: processed.state == .received ? .accepted : nil)
        case let .failure(error):
            return internalError("the delivery was stored as \(file.id) but could not be processed; it is resumed when the adapter restarts",
                                 error, agent: caller)
        }
    }

    /// The delivery's result with its status: 201 (200 for a repeat), 422 when nothing of it could be
    /// applied, or the status given (202 while it is processed).
    private func answer(_ file: InboxFile, duplicate: Bool, caller: String, status given: HTTPResponse.Status? = nil) async -> Response {
        let status = given ?? (file.state == .failed || (file.applied + file.refused == 0 && file.rejected > 0)
            ? .unprocessableContent : (duplicate ? .ok : .created))
        do {
            return Self.json(status, try await DeliveryResult(file, store: desk.store, duplicate: duplicate),
                             headers: [.location: "/v1/agents/\(caller)/updates/\(file.id)"])
        } catch {
            return internalError("the delivery's result could not be read", error, agent: caller)
        }
    }

    func get(_ request: Request, agent: String, id: String, from source: String) async -> Response {
        let caller: String
        switch await admit(request, agent: agent, from: source) {
        case let .success(admitted): caller = admitted
        case let .failure(answer): return await reject(answer)
        }
        do {
            guard let number = Int64(id), let file = try await desk.store.inboxFile(id: number), file.agent == caller else {
                return Self.json(.notFound, ErrorBody(error: "not_found", message: "agent '\(caller)' has no delivery \(id)"))
            }
            return Self.json(.ok, try await DeliveryResult(file, store: desk.store, duplicate: false))
        } catch {
            return internalError("the delivery could not be read", error, agent: caller)
        }
    }

    func health() async -> Response {
        do {
            // One row, not a count: a probe every few seconds must not scan a million contracts.
            _ = try await monitored.contractsRevision()
            return Self.json(.ok, ["status": "ok"])
        } catch {
            logger.error("health check: the store cannot be read", metadata: ["error": "\(error)"])
            return Self.json(.serviceUnavailable, ["status": "the store cannot be read"])
        }
    }

    func metrics() async -> Response {
        do {
            let text = try await PrometheusText.render(store: monitored, rejectedRequests: await counters.snapshot()) + requests.emitToString()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        } catch {
            return internalError("the store cannot be read", error, agent: nil)
        }
    }

    private func tooLarge(_ limit: Int) -> ErrorAnswer {
        ErrorAnswer(.contentTooLarge, "payload_too_large", "the body is over \(limit) bytes; split the delivery")
    }

    /// A 500 in our words, with a reference to the log line that has the cause.
    private func internalError(_ what: String, _ error: any Error, agent: String?) -> Response {
        let reference = UUID().uuidString.prefix(8).lowercased()
        logger.error("agents' API: \(what)", metadata: ["agent": "\(agent ?? "-")", "reference": "\(reference)", "error": "\(error)"])
        return Self.json(.internalServerError, ErrorBody(error: "internal", message: "\(what); the adapter's log has the cause (reference \(reference))"))
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

/// A delivery's processing result, as the API returns it: the totals, and the first
/// `DeliveryResult.listed` updates and rejected rows (`more` says when there are others).
struct DeliveryResult: Encodable {
    static let listed = 1_000

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
    /// Rows processed so far (while the state is "received").
    let linesDone: Int
    let applied: Int
    let refused: Int
    let rejected: Int
    let failure: String?
    let updates: [Update]
    let errors: [RowError]
    /// More updates or rejected rows than are listed: `ingest show` on the adapter lists them all.
    let more: Bool

    init(_ file: InboxFile, store: any IngestStore, duplicate: Bool) async throws {
        id = file.id
        agent = file.agent
        state = file.state.rawValue
        self.duplicate = duplicate
        sha256 = file.sha256
        linesDone = file.linesDone
        applied = file.applied
        refused = file.refused
        rejected = file.rejected
        failure = file.failureReason
        let stored = try await store.thirdPartyUpdates(fileId: file.id, limit: Self.listed + 1)
        let rejectedRows = try await store.ingestRowErrors(fileId: file.id, limit: Self.listed + 1)
        more = stored.count > Self.listed || rejectedRows.count > Self.listed
        updates = stored.prefix(Self.listed).map {
            Update(line: $0.line, contractNumber: $0.contractNumber, kind: $0.kind, outcome: $0.outcome, refusal: $0.refusal)
        }
        errors = rejectedRows.prefix(Self.listed).map { RowError(line: $0.line, column: $0.column, value: $0.value, reason: $0.reason) }
    }
}

/// Requests turned away, by HTTP status, since the server started.
actor RejectionCounters {
    private var byStatus: [Int: Int] = [:]

    func count(_ status: Int) { byStatus[status, default: 0] += 1 }

    func snapshot() -> [Int: Int] { byStatus }
}
