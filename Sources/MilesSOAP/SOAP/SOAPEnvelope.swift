/// Builds SOAP 1.1 envelopes: a request with an optional WS-Security header, or a fault.
///
/// The payload is written by the caller into the body, in the message namespace bound to prefix `m`.
public enum SOAPEnvelope {
    /// A request envelope whose body the `payload` closure writes.
    public static func request(
        messageNamespace: String,
        security: UsernameTokenHeader?,
        payload: (inout XMLWriter) throws -> Void
    ) throws -> [UInt8] {
        var writer = XMLWriter()
        writer.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        try writer.open("soapenv:Envelope", attributes: ["xmlns:soapenv": SOAPNamespaces.envelope, "xmlns:m": messageNamespace])
        if let security {
            writer.open("soapenv:Header")
            try security.write(into: &writer)
            writer.close("soapenv:Header")
        }
        writer.open("soapenv:Body")
        try payload(&writer)
        writer.close("soapenv:Body")
        writer.close("soapenv:Envelope")
        return writer.bytes
    }

    /// A response envelope (no header) whose body the `payload` closure writes.
    public static func response(messageNamespace: String, payload: (inout XMLWriter) throws -> Void) throws -> [UInt8] {
        try request(messageNamespace: messageNamespace, security: nil, payload: payload)
    }

    /// A fault envelope with MILES's machine-readable code in `detail`.
    public static func fault(_ fault: SOAPFault, messageNamespace: String, detailElement: String, codeElement: String,
                             messageElement: String) -> [UInt8] {
        var writer = XMLWriter()
        writer.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        // Attribute values here are constants: escaping cannot fail.
        try! writer.open("soapenv:Envelope", attributes: ["xmlns:soapenv": SOAPNamespaces.envelope, "xmlns:m": messageNamespace])
        writer.open("soapenv:Body")
        writer.open("soapenv:Fault")
        writer.element(lossless: "faultcode", fault.faultCode)
        writer.element(lossless: "faultstring", fault.faultString)
        if let code = fault.code {
            writer.open("detail")
            writer.open("m:\(detailElement)")
            writer.element(lossless: "m:\(codeElement)", code)
            writer.element(lossless: "m:\(messageElement)", fault.faultString)
            writer.close("m:\(detailElement)")
            writer.close("detail")
        }
        writer.close("soapenv:Fault")
        writer.close("soapenv:Body")
        writer.close("soapenv:Envelope")
        return writer.bytes
    }
}

private extension XMLWriter {
    /// For fault text, which is ours: a character XML cannot carry is replaced rather than losing the fault.
    mutating func element(lossless name: String, _ value: String) {
        let cleaned = String(String.UnicodeScalarView(value.unicodeScalars.map {
            ($0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r") ? "\u{FFFD}" : $0
        }))
        try! element(name, cleaned)
    }
}
