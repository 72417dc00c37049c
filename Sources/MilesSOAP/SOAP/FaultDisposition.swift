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

/// Sorts MILES's faults into dispositions, from `mappings/contract.yaml`: a fault with a code in its
/// `detail` by the `dispositions` table, any other code being a business rejection; a fault whose
/// detail carries no code (only `faultcode` and `faultstring`, as many services send) by the first
/// of the `withoutDetail` rules it matches, and a business rejection when none does. So a write is
/// never blindly repeated on a refusal the adapter does not understand.
public struct FaultClassifier: Sendable {
    public var table: [String: FaultDisposition]
    public var withoutDetail: [FaultMessageRule]

    public init(table: [String: FaultDisposition], withoutDetail: [FaultMessageRule] = []) {
        self.table = table
        self.withoutDetail = withoutDetail
    }

    public func disposition(of fault: SOAPFault) -> FaultDisposition {
        if let code = fault.code {
            return table[code] ?? .businessRejection
        }
        return withoutDetail.first { $0.matches(fault) }?.disposition ?? .businessRejection
    }
}

/// How a fault without a MILES code is sorted: by its `faultcode` and a pattern in its `faultstring`.
///
/// ```swift
/// let busy = try FaultMessageRule(faultCode: "Server", messagePattern: "busy|overloaded", disposition: .retryable)
/// ```
public struct FaultMessageRule: Sendable, Equatable {
    /// The local name of `faultcode`: `Server` matches `soapenv:Server` and its dotted refinements
    /// such as `soapenv:Server.Busy`. Nil matches any fault code.
    public let faultCode: String?
    /// A regular expression looked for anywhere in `faultstring`, ignoring case. Nil matches any text.
    public let messagePattern: String?
    public let disposition: FaultDisposition

    /// Throws the compiler's complaint when `messagePattern` is not a regular expression.
    public init(faultCode: String?, messagePattern: String?, disposition: FaultDisposition) throws {
        if let messagePattern { _ = try Regex(messagePattern) }
        self.faultCode = faultCode
        self.messagePattern = messagePattern
        self.disposition = disposition
    }

    public func matches(_ fault: SOAPFault) -> Bool {
        if let faultCode {
            let local = fault.faultCode.split(separator: ":").last.map(String.init) ?? fault.faultCode
            guard local == faultCode || local.hasPrefix(faultCode + ".") else { return false }
        }
        // Compiled per fault, not kept: Regex is not Sendable, and faults are rare. The pattern compiled in init.
        if let messagePattern {
            guard let regex = try? Regex(messagePattern).ignoresCase(), fault.faultString.contains(regex) else { return false }
        }
        return true
    }
}
