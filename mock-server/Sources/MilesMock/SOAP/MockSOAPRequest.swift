import MilesSOAP

/// A SOAP request as the mock reads it: the operation (the body's first element), its
/// parameters by element path, and the WS-Security UsernameToken and Timestamp if there were any.
struct MockSOAPRequest {
    struct UsernameToken {
        var username: String?
        var password: String?
        var passwordType: String?
        var nonce: String?
        var created: String?
    }

    /// A `wsu:Timestamp`, as sent.
    struct MessageTimestamp {
        var created: String?
        var expires: String?
    }

    var operation: String?
    /// Element path below the operation element (`PageSize`, `Invoices/InvoiceNumber`) to its values.
    var parameters: [String: [String]] = [:]
    var token: UsernameToken?
    var timestamp: MessageTimestamp?

    func value(_ path: String) -> String? { parameters[path]?.first }

    /// Reads a request with the hardened reader; a refused or malformed request is an error.
    static func parse(_ bytes: [UInt8]) throws -> MockSOAPRequest {
        let reader = XMLStreamReader(limits: XMLLimits(maxDepth: 32, maxTextBytes: 64 * 1024, maxDocumentBytes: 4 << 20))
        let handler = Handler()
        try reader.parse(bytes, handler: handler)
        return handler.request
    }

    private final class Handler: XMLEventHandler {
        var request = MockSOAPRequest()
        private var path: [String] = []
        private var text: [UInt8] = []
        private var inBody = false
        private var inHeader = false

        func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
            let local = name.string
            path.append(local)
            text.removeAll(keepingCapacity: true)
            if path.count == 1, local != "Envelope" { throw XMLReaderError.rejected("not a SOAP envelope") }
            if path.count == 2 {
                inBody = local == "Body"
                inHeader = local == "Header"
            }
            if inBody, path.count == 3, request.operation == nil { request.operation = local }
            if inHeader, local == "UsernameToken" { request.token = UsernameToken() }
            if inHeader, local == "Timestamp" { request.timestamp = MessageTimestamp() }
            if inHeader, local == "Password" { request.token?.passwordType = attributes.value(localName: "Type") }
        }

        func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws {
            text.append(contentsOf: bytes)
        }

        func endElement(_ name: XMLName) throws {
            let value = String(decoding: text, as: UTF8.self).trimmingXMLWhitespace
            if inBody, path.count > 3 {
                request.parameters[path[3...].joined(separator: "/"), default: []].append(value)
            }
            // By parent: the UsernameToken and the Timestamp each have a Created.
            if inHeader, path.count >= 2 {
                switch (path[path.count - 2], path[path.count - 1]) {
                case ("UsernameToken", "Username"): request.token?.username = value
                case ("UsernameToken", "Password"): request.token?.password = value
                case ("UsernameToken", "Nonce"): request.token?.nonce = value
                case ("UsernameToken", "Created"): request.token?.created = value
                case ("Timestamp", "Created"): request.timestamp?.created = value
                case ("Timestamp", "Expires"): request.timestamp?.expires = value
                default: break
                }
            }
            path.removeLast()
            text.removeAll(keepingCapacity: true)
        }
    }
}
