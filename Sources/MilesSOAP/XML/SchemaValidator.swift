import CLibXML2

/// Validates an element of a document against an XSD, with libxml2's schema engine.
///
/// Used to prove that what the mock sends matches the contract in `mappings/wsdl`, and to check
/// the XSD itself. The document is parsed with the same refusals as the streaming reader.
public final class SchemaValidator {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let messages: [String]
        public var description: String { messages.joined(separator: "\n") }
    }

    private let schema: xmlSchemaPtr

    /// Loads and compiles the schema at `path`; fails with libxml2's messages if the XSD is not valid.
    public init(schemaPath: String) throws(Failure) {
        let collector = MessageCollector()
        guard let parserContext = xmlSchemaNewParserCtxt(schemaPath) else {
            throw Failure(messages: ["cannot open schema \(schemaPath)"])
        }
        defer { xmlSchemaFreeParserCtxt(parserContext) }
        xmlSchemaSetParserStructuredErrors(parserContext, collectStructuredError, Unmanaged.passUnretained(collector).toOpaque())
        guard let schema = xmlSchemaParse(parserContext) else {
            throw Failure(messages: collector.messages.isEmpty ? ["schema \(schemaPath) is not valid"] : collector.messages)
        }
        self.schema = schema
    }

    deinit {
        xmlSchemaFree(schema)
    }

    /// Validates the first child element of the SOAP Body in `envelope` (the payload) against the schema.
    public func validateSOAPPayload(_ envelope: [UInt8]) throws(Failure) {
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        guard let document = envelope.withUnsafeBufferPointer({ buffer in
            buffer.withMemoryRebound(to: CChar.self) { xmlReadMemory($0.baseAddress, Int32($0.count), nil, nil, options) }
        }) else { throw Failure(messages: ["the envelope is not well-formed XML"]) }
        defer { xmlFreeDoc(document) }
        guard document.pointee.intSubset == nil else { throw Failure(messages: ["the envelope has a DOCTYPE"]) }
        guard let root = xmlDocGetRootElement(document), let body = firstElementChild(of: root, named: "Body"),
              let payload = firstElementChild(of: body, named: nil) else {
            throw Failure(messages: ["no payload inside soapenv:Body"])
        }
        let collector = MessageCollector()
        guard let validation = xmlSchemaNewValidCtxt(schema) else { throw Failure(messages: ["out of memory"]) }
        defer { xmlSchemaFreeValidCtxt(validation) }
        xmlSchemaSetValidStructuredErrors(validation, collectStructuredError, Unmanaged.passUnretained(collector).toOpaque())
        let result = withExtendedLifetime(collector) { xmlSchemaValidateOneElement(validation, payload) }
        guard result == 0 else {
            throw Failure(messages: collector.messages.isEmpty ? ["validation failed (\(result))"] : collector.messages)
        }
    }

    private func firstElementChild(of node: xmlNodePtr, named name: String?) -> xmlNodePtr? {
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE,
               name == nil || String(cString: current.pointee.name) == name { return current }
            child = current.pointee.next
        }
        return nil
    }
}

private final class MessageCollector {
    var messages: [String] = []
}

private let collectStructuredError: xmlStructuredErrorFunc = { userData, error in
    guard let userData, let error else { return }
    let collector = Unmanaged<MessageCollector>.fromOpaque(userData).takeUnretainedValue()
    let message = error.pointee.message.map { String(cString: $0) } ?? "error \(error.pointee.code)"
    collector.messages.append("line \(error.pointee.line): \(message.trimmingXMLWhitespace)")
}
