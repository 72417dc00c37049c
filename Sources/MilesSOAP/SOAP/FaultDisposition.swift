/// What the adapter does about a failed call. Every fault and transport error is sorted into one of these.
public enum FaultDisposition: String, Sendable, CaseIterable {
    /// Try again later (server busy, connection refused before anything was sent).
    case retryable
    /// Someone else changed the record: re-read, re-check, retry.
    case conflict
    /// MILES refused the request on its merits: dead-letter it with MILES's reason.
    case businessRejection
    /// The adapter's credentials were refused: stop the job, retrying cannot help.
    case authentication
    /// The request may or may not have been applied: ask MILES before sending a write again.
    case unknownOutcome
    /// The service keeps failing (circuit breaker open): stop the job, keep its state, resume next run.
    case unavailable
}

/// Sorts MILES fault codes into dispositions. The table comes from `mappings/contract.yaml`
/// (`faults.codes`); a code not in the table is a business rejection, so a write is never
/// blindly repeated on a refusal the adapter does not understand.
public struct FaultClassifier: Sendable {
    public var table: [String: FaultDisposition]

    public init(table: [String: FaultDisposition]) {
        self.table = table
    }

    public func disposition(of fault: SOAPFault) -> FaultDisposition {
        if let code = fault.code, let known = table[code] { return known }
        return .businessRejection
    }
}
