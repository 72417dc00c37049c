/// How often and how long to wait before trying a failed call again: exponential backoff with
/// full jitter, a bounded number of attempts, and a bound on every wait.
///
/// ```swift
/// let policy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(500), maxDelay: .seconds(30))
/// policy.delay(beforeAttempt: 3)   // somewhere in 0...2 s
/// ```
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included; 1 means never retry.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// The longest `Retry-After` honoured: MILES asking for more still gets no longer a wait.
    public var maxRetryAfter: Duration

    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30),
                maxRetryAfter: Duration = .seconds(120)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// The wait before attempt `attempt` after a failure that may carry MILES's `Retry-After`: at least
    /// what MILES asked for (up to `maxRetryAfter`), never less than the backoff.
    public func delay(beforeAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        let backoff = delay(beforeAttempt: attempt)
        guard let retryAfter else { return backoff }
        return max(backoff, min(retryAfter, maxRetryAfter))
    }

    /// The wait before attempt `attempt` (2 for the first retry): a random share of
    /// `baseDelay × 2^(attempt-2)`, capped at `maxDelay`, so that many clients do not retry in step.
    public func delay<R: RandomNumberGenerator>(beforeAttempt attempt: Int, using random: inout R) -> Duration {
        let exponent = min(max(attempt - 2, 0), 30)
        let ceiling = min(baseDelay * (1 << exponent), maxDelay)
        let ceilingMilliseconds = max(Int64(ceiling.components.seconds) * 1000 + ceiling.components.attoseconds / 1_000_000_000_000_000, 0)
        return .milliseconds(Int64.random(in: 0...ceilingMilliseconds, using: &random))
    }

    public func delay(beforeAttempt attempt: Int) -> Duration {
        var random = SystemRandomNumberGenerator()
        return delay(beforeAttempt: attempt, using: &random)
    }
}
