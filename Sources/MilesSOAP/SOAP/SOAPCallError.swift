/// A failed call to MILES: what failed, on which operation and endpoint, and what to do about it.
public struct SOAPCallError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// MILES answered with a SOAP fault.
        case fault(SOAPFault)
        /// The HTTP exchange failed; `requestSent` says whether MILES may have received the request.
        case transport(code: Int, message: String, requestSent: Bool)
        /// MILES answered with an HTTP status and no SOAP fault; `body` is the start of what it sent.
        case httpStatus(Int, body: String)
        /// The answer was not a well-formed, expected SOAP message.
        case invalidResponse(XMLReaderError)
        /// The request could not be built (a value XML cannot carry).
        case invalidRequest(String)
        /// Not sent: the service's calls have failed `failures` times in a row (the circuit breaker is open).
        case circuitOpen(service: String, failures: Int)
    }

    public let kind: Kind
    public let operation: String
    public let endpoint: String
    public let disposition: FaultDisposition
    /// How long MILES asked the caller to wait (`Retry-After`), if it did.
    public let retryAfter: Duration?

    public init(kind: Kind, operation: String, endpoint: String, classifier: FaultClassifier, retryAfter: Duration? = nil) {
        self.kind = kind
        self.operation = operation
        self.endpoint = endpoint
        self.retryAfter = retryAfter
        switch kind {
        case let .fault(fault):
            disposition = classifier.disposition(of: fault)
        case let .transport(_, _, requestSent):
            disposition = requestSent ? .unknownOutcome : .retryable
        case let .httpStatus(status, _):
            switch status {
            case 401, 403: disposition = .authentication
            case 408, 429, 502, 503, 504: disposition = .retryable
            case 500...599: disposition = .unknownOutcome
            default: disposition = .businessRejection
            }
        case .invalidResponse:
            disposition = .unknownOutcome
        case .invalidRequest:
            disposition = .businessRejection
        case .circuitOpen:
            disposition = .unavailable
        }
    }

    /// The MILES fault code, when there is one.
    public var faultCode: String? {
        if case let .fault(fault) = kind { return fault.code }
        return nil
    }

    public var description: String {
        let what: String
        switch kind {
        case let .fault(fault): what = fault.description
        case let .transport(code, message, requestSent):
            what = "transport error \(code) (\(message))" + (requestSent ? ", after the request was sent" : "")
        case let .httpStatus(status, body): what = "HTTP \(status)" + (body.isEmpty ? "" : ": \(body)")
        case let .invalidResponse(error): what = "invalid answer: \(error)"
        case let .invalidRequest(message): what = "request not sent: \(message)"
        case let .circuitOpen(service, failures):
            what = "not sent: \(service) failed \(failures) times in a row, so the adapter stopped calling it for now"
        }
        return "\(operation) at \(endpoint) failed: \(what)" + (retryAfter.map { " (MILES asked to wait \($0))" } ?? "")
            + " [\(disposition.rawValue)]"
    }
}
