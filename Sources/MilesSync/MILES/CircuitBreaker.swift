import MilesSOAP
import Synchronization

/// Counts consecutive failures per MILES service. After `threshold` of them the service's circuit
/// opens: calls are refused at once (`SOAPCallError.Kind.circuitOpen`) instead of adding load to a
/// failing MILES, for `openFor`; then one call is let through, and its success closes the circuit.
///
/// Only failures a retry could cure count (server busy, lost connections, unknown outcomes); a
/// business refusal says MILES is working. Outcomes are judged in the order their calls were sent
/// (`callSent`): calls overlap (the sync reads pages ahead), and a slow success says nothing of the
/// calls sent after it, so it does not wipe out their failures.
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
        /// The newest calls, in sending order, whose failure or success is counted.
        var newestFailure: UInt64 = 0
        var newestSuccess: UInt64 = 0
    }

    public let configuration: Configuration
    private let states = Mutex<[String: ServiceState]>([:])
    private let callsSent = Atomic<UInt64>(0)

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

    /// A call's place in the order calls were sent, to pass to `record` with its outcome.
    public func callSent() -> UInt64 {
        callsSent.add(1, ordering: .relaxed).newValue
    }

    public func record(success: Bool, for service: String, call: UInt64, now: ContinuousClock.Instant = .now) {
        states.withLock { states in
            var state = states[service] ?? ServiceState()
            if success {
                guard call > state.newestFailure else { return }
                state = ServiceState(newestSuccess: max(state.newestSuccess, call))
            } else {
                // A slow failure of a call sent before the newest success says nothing of MILES now.
                guard call > state.newestSuccess else { return }
                state.newestFailure = max(state.newestFailure, call)
                state.consecutiveFailures += 1
                if state.consecutiveFailures >= configuration.threshold { state.openedAt = now }
            }
            states[service] = state
        }
    }
}
