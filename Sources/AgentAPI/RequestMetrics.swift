import CoreMetrics
import Hummingbird
import Prometheus

/// Every request the server answers, counted by route, method and status and timed by route and
/// method, through swift-metrics into the server's own Prometheus registry, which `/metrics` shows
/// beside the store's gauges. The route is the template (`/v1/agents/{agent}/updates`), never the
/// path asked for: an agent's name or a scanner's guesses do not become series of their own.
///
/// The factory is the server's, not bootstrapped for the process: several servers in one process
/// (the tests) keep their counts apart.
struct RequestMetrics<Context: RequestContext>: RouterMiddleware {
    private let factory: PrometheusMetricsFactory

    init(registry: PrometheusCollectorRegistry) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30),
        ]
        self.factory = factory
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let route = context.endpointPath ?? "unmatched"
        do {
            let response = try await next(request, context)
            record(route: route, method: request.method, status: response.status.code, since: started)
            return response
        } catch {
            record(route: route, method: request.method, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: started)
            throw error
        }
    }

    private func record(route: String, method: HTTPRequest.Method, status: Int, since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        Counter(label: "miles_adapter_http_requests_total",
                dimensions: [("route", route), ("method", method.rawValue), ("status", String(status))], factory: factory).increment()
        Timer(label: "miles_adapter_http_request_duration_seconds", dimensions: [("route", route), ("method", method.rawValue)], factory: factory)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
