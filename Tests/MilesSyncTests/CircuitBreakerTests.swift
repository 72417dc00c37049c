import MilesSync
import Testing

@Suite("The circuit breaker judges outcomes in the order their calls were sent")
struct CircuitBreakerTests {
    @Test("a slow success does not wipe out the failures of calls sent after it; a success sent later does")
    func sendingOrder() {
        let breaker = CircuitBreaker(configuration: CircuitBreaker.Configuration(threshold: 3, openFor: .seconds(60)))
        let slow = breaker.callSent()
        let failures = (0..<2).map { _ in breaker.callSent() }
        for call in failures { breaker.record(success: false, for: "ContractService", call: call) }
        // The page asked first answers last, after the two asked behind it failed.
        breaker.record(success: true, for: "ContractService", call: slow)
        breaker.record(success: false, for: "ContractService", call: breaker.callSent())
        #expect(breaker.refusal(for: "ContractService") == 3, "three failures in a row by sending order open the circuit")

        let other = CircuitBreaker(configuration: CircuitBreaker.Configuration(threshold: 3, openFor: .seconds(60)))
        for _ in 0..<2 { other.record(success: false, for: "ContractService", call: other.callSent()) }
        other.record(success: true, for: "ContractService", call: other.callSent())
        other.record(success: false, for: "ContractService", call: other.callSent())
        #expect(other.refusal(for: "ContractService") == nil, "a success sent after the failures closes the count")

        let late = CircuitBreaker(configuration: CircuitBreaker.Configuration(threshold: 2, openFor: .seconds(60)))
        let slowFailure = late.callSent()
        late.record(success: true, for: "ContractService", call: late.callSent())
        late.record(success: false, for: "ContractService", call: slowFailure)
        late.record(success: false, for: "ContractService", call: late.callSent())
        #expect(late.refusal(for: "ContractService") == nil, "a failure sent before the newest success is not counted")
        late.record(success: false, for: "ContractService", call: late.callSent())
        #expect(late.refusal(for: "ContractService") == 2)
    }
}
