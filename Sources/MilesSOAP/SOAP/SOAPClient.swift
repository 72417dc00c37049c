import Foundation

/// Calls MILES operations: builds the envelope with a fresh WS-Security header, posts it,
/// streams the answer through the hardened reader into a payload decoder, and turns every
/// failure into a `SOAPCallError` with its disposition.
///
/// ```swift
/// let page = try await client.call(service: "ContractService", operation: "FindContracts", soapAction: action, kind: .read,
///                                  payload: { try $0.element("m:PageSize", "500") },
///                                  decoder: { reader in MyDecoder(reader: reader) })
/// ```
public struct SOAPClient: Sendable {
    /// Whether a call only reads, which decides what happens when the kept-alive connection it went
    /// out on closes before any answer (`CurlTransport.Failure.resendRefused`).
    public enum CallKind: Sendable {
        /// Harmless to repeat: sent again at once, with a fresh WS-Security header (a copy of the
        /// first would repeat its nonce, which MILES refuses as a replay).
        case read
        /// MILES may have applied it: the call fails as an unknown outcome, for the caller to
        /// reconcile before it sends the write again.
        case write
    }

    public struct Configuration: Sendable {
        /// The base URL of the MILES services; `/ServiceName` is appended per call.
        public var endpoint: String
        public var credentials: MilesCredentials
        public var messageNamespace: String
        public var faultNames: FaultDetailNames
        public var classifier: FaultClassifier
        public var limits: XMLLimits
        public var transport: HTTPTransportConfiguration
        /// The adapter's clock, for the WS-Security Created and Expires (tests set it apart from MILES's).
        public var now: @Sendable () -> Date

        public init(
            endpoint: String, credentials: MilesCredentials, messageNamespace: String,
            faultNames: FaultDetailNames, classifier: FaultClassifier,
            limits: XMLLimits = .default, transport: HTTPTransportConfiguration = HTTPTransportConfiguration(),
            now: @escaping @Sendable () -> Date = { Date() }
        ) {
            self.endpoint = endpoint
            self.credentials = credentials
            self.messageNamespace = messageNamespace
            self.faultNames = faultNames
            self.classifier = classifier
            self.limits = limits
            self.transport = transport
            self.now = now
        }
    }

    public let configuration: Configuration
    private let transport: CurlTransport

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.transport = CurlTransport(configuration: configuration.transport)
    }

    /// Calls `operation`; `kind` says whether MILES may have acted on a call whose answer was lost (`.write`, the default).
    public func call<Decoder: SOAPPayloadDecoder>(
        service: String, operation: String, soapAction: String, kind: CallKind = .write,
        payload: @escaping @Sendable (inout XMLWriter) throws -> Void,
        decoder: @escaping @Sendable (XMLStreamReader) -> Decoder
    ) async throws(SOAPCallError) -> Decoder.Output {
        let result: Result<Decoder.Output, SOAPCallError> = await withCheckedContinuation { continuation in
            // curl blocks its thread for the whole exchange; keep that off the cooperative pool, at the
            // calling task's priority.
            DispatchQueue.global(qos: .init(Task.currentPriority)).async {
                continuation.resume(returning: Result {
                    () throws(SOAPCallError) in
                    try self.callBlocking(service: service, operation: operation, soapAction: soapAction, kind: kind,
                                          payload: payload, decoder: decoder)
                })
            }
        }
        return try result.get()
    }

    /// Where `service` is called.
    public func serviceURL(_ service: String) -> String {
        configuration.endpoint.hasSuffix("/") ? configuration.endpoint + service : configuration.endpoint + "/" + service
    }

    /// The same call, on the caller's thread.
    public func callBlocking<Decoder: SOAPPayloadDecoder>(
        service: String, operation: String, soapAction: String, kind callKind: CallKind = .write,
        payload: (inout XMLWriter) throws -> Void,
        decoder makeDecoder: (XMLStreamReader) -> Decoder
    ) throws(SOAPCallError) -> Decoder.Output {
        let url = serviceURL(service)
        func failure(_ kind: SOAPCallError.Kind, retryAfter: Int? = nil) -> SOAPCallError {
            SOAPCallError(kind: kind, operation: operation, endpoint: url, classifier: configuration.classifier,
                          retryAfter: retryAfter.map { .seconds($0) })
        }
        var reader: XMLStreamReader
        var handler: SOAPResponseHandler<Decoder>
        var answer: CurlTransport.Answer
        var resent = false
        while true {
            let body: [UInt8]
            do {
                body = try SOAPEnvelope.request(
                    messageNamespace: configuration.messageNamespace,
                    security: UsernameTokenHeader(credentials: configuration.credentials, now: configuration.now()),
                    payload: payload)
            } catch {
                throw failure(.invalidRequest(String(describing: error)))
            }
            reader = XMLStreamReader(limits: configuration.limits)
            handler = SOAPResponseHandler(reader: reader, decoder: makeDecoder(reader), faultNames: configuration.faultNames)
            do {
                answer = try transport.post(
                    url: url,
                    headers: ["Content-Type: text/xml; charset=utf-8", "SOAPAction: \"\(soapAction)\"", "Expect:"],
                    body: body,
                    accept: { $0 == 200 || $0 == 500 },
                    consume: { [reader, handler] in try reader.feed($0, handler: handler) })
                break
            } catch let error as CurlTransport.Failure {
                // Once: the new attempt is on a new connection, so a second loss is MILES's trouble, not a stale connection.
                if error.resendRefused, callKind == .read, !resent {
                    resent = true
                    continue
                }
                throw failure(.transport(code: error.code, message: error.message, requestSent: error.requestSent))
            } catch let error as XMLReaderError {
                throw failure(.invalidResponse(error))
            } catch {
                throw failure(.invalidResponse(.rejected(String(describing: error))))
            }
        }
        guard answer.status == 200 || answer.status == 500 else {
            throw failure(.httpStatus(answer.status, body: answer.unconsumedBodyPrefix), retryAfter: answer.retryAfterSeconds)
        }
        do {
            try reader.finish(handler: handler)
            return try handler.result()
        } catch let fault as SOAPFault {
            throw failure(.fault(fault))
        } catch let error as XMLReaderError {
            throw failure(answer.status == 500 ? .httpStatus(500, body: "") : .invalidResponse(error))
        } catch {
            throw failure(.invalidResponse(.rejected(String(describing: error))))
        }
    }
}

private extension DispatchQoS.QoSClass {
    /// A batch job's calls (utility or background priority) run on threads that yield to its other
    /// work (libdispatch lowers such a thread's nice value on Linux); anything higher keeps the default.
    init(_ priority: TaskPriority) {
        if priority <= .background {
            self = .background
        } else if priority <= .utility {
            self = .utility
        } else {
            self = .default
        }
    }
}
