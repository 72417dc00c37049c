/// Decodes the payload of a SOAP body: the first child element of `Body`, handed to it whole
/// (the payload's root element included).
public protocol SOAPPayloadDecoder: XMLEventHandler {
    associatedtype Output: Sendable
    /// The decoded value once the document ended well; throws if the payload was incomplete.
    func result() throws -> Output
}

/// Where MILES puts its machine-readable fault code inside `detail`; all empty (`none`) for a MILES
/// whose faults carry only `faultcode` and `faultstring`.
public struct FaultDetailNames: Sendable {
    public var container: String
    public var code: String
    public var message: String

    public init(container: String, code: String, message: String) {
        self.container = container
        self.code = code
        self.message = message
    }

    /// MILES's faults carry no detail: they are sorted by `faultcode` and `faultstring` alone.
    public static let none = FaultDetailNames(container: "", code: "", message: "")
}

/// Reads a SOAP 1.1 envelope: hands the body's payload to a decoder (the reader delivers the
/// payload's events to it directly), or collects a fault.
final class SOAPResponseHandler<Decoder: SOAPPayloadDecoder>: XMLEventHandler {
    private unowned let reader: XMLStreamReader
    private let decoder: Decoder
    private let envelope: XMLName
    private let body: XMLName
    private let fault: XMLName
    private let faultCode: XMLName
    private let faultString: XMLName
    /// Nil when MILES's faults carry no detail code.
    private let detailCode: XMLName?

    // One parse, one thread: no runtime exclusivity checks on the per-event state.
    @exclusivity(unchecked) private var depth = 0
    @exclusivity(unchecked) private var inBody = false
    @exclusivity(unchecked) private var payloadSeen = false
    @exclusivity(unchecked) private var inFault = false
    @exclusivity(unchecked) private var collecting: XMLName?
    @exclusivity(unchecked) private var text: [UInt8] = []
    private(set) var collectedFault: SOAPFault?

    init(reader: XMLStreamReader, decoder: Decoder, faultNames: FaultDetailNames) {
        self.reader = reader
        self.decoder = decoder
        envelope = reader.intern("Envelope")
        body = reader.intern("Body")
        fault = reader.intern("Fault")
        faultCode = reader.intern("faultcode")
        faultString = reader.intern("faultstring")
        detailCode = faultNames.code.isEmpty ? nil : reader.intern(faultNames.code)
    }

    func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
        depth += 1
        switch depth {
        case 1:
            guard name == envelope else { throw XMLReaderError.rejected("not a SOAP envelope: the root element is '\(name.string)'") }
        case 2:
            inBody = name == body
        case 3 where inBody:
            payloadSeen = true
            if name == fault {
                inFault = true
                collectedFault = SOAPFault(faultCode: "", faultString: "", code: nil)
                return
            }
            reader.delegateSubtree(to: decoder)
        default:
            if inFault, name == faultCode || name == faultString || name == detailCode {
                collecting = name
                text.removeAll(keepingCapacity: true)
            }
        }
    }

    func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        if inFault, collecting != nil { text.append(contentsOf: bytes) }
    }

    func endElement(_ name: XMLName) throws {
        defer { depth -= 1 }
        if inFault {
            if depth == 3 {
                inFault = false
            } else if let collecting, collecting == name {
                let value = String(decoding: text, as: UTF8.self).trimmingXMLWhitespace
                if name == faultCode { collectedFault?.faultCode = value }
                if name == faultString { collectedFault?.faultString = value }
                if name == detailCode { collectedFault?.code = value }
                self.collecting = nil
            }
            return
        }
        if depth == 2 { inBody = false }
    }

    func result() throws -> Decoder.Output {
        if let collectedFault { throw collectedFault }
        guard payloadSeen else { throw XMLReaderError.rejected("the SOAP body is empty") }
        return try decoder.result()
    }
}

extension String {
    /// The string without leading and trailing XML white space.
    public var trimmingXMLWhitespace: String {
        let scalars = unicodeScalars
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let start = scalars.firstIndex(where: { !isSpace($0) }),
              let end = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[start...end])
    }
}
