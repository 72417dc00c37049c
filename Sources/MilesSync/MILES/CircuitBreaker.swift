import MilesSOAP
import Synchronization

/// Counts consecutive failures per MILES service. After `threshold` of them the service's circuit
/// opens: calls are refused at once (`SOAPCallError.Kind.circuitOpen`) instead of adding load to a
/// failing MILES, for `openFor`; then one call is let through, and its success closes the circuit.
///
/// Only failures a retry could cure count (server busy, lost connections, unknown outcomes); a
/// business refusal says MILES is working.
public final class CircuitBreaker: Sendable {
    public struct Configuration: Sendable {
        public var threshold: Int
        public var openFor: Duration

        public init(threshold: Int = 5, openFor: Duration = .seconds(60)) {
            self.threshold = max(1, threshold)
            self.openFor = openFor
        }
    }

    private struct ServiceState {
        var consecutiveFailures = 0
        var openedAt: ContinuousClock.Instant?
    }

    public let configuration: Configuration
    private let states = Mutex<[String: ServiceState]>([:])

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Nil if `service` may be called now; otherwise how many failures in a row opened its circuit.
    public func refusal(for service: String, now: ContinuousClock.Instant = .now) -> Int? {
        states.withLock { states in
            guard let state = states[service], let openedAt = state.openedAt else { return nil }
            guard openedAt.duration(to: now) >= configuration.openFor else { return state.consecutiveFailures }
            // Half-open: this call is the trial; the next failure opens the circuit again at once.
            states[service]?.openedAt = nil
            states[service]?.consecutiveFailures = configuration.threshold - 1
            return nil
        }
    }

    public func record(success: Bool, for service: String, now: ContinuousClock.Instant = .now) {
        states.withLock { states in
            var state = states[service] ?? ServiceState()
            if success {
                state = ServiceState()
            } else {
                state.consecutiveFailures += 1
                if state.consecutiveFailures >= configuration.threshold { state.openedAt = now }
            }
            states[service] = state
        }
    }
}
