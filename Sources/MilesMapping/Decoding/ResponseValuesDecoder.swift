import MilesSOAP

/// Reads the single values of a small answer (UpdateContractStatus, AddContractNote) at the paths
/// `responseFields` maps, by name.
public final class ResponseValuesDecoder: SOAPPayloadDecoder {
    private let fieldsByPath: [String: String]
    /// Whether names are compared ignoring case (`elementNames: anyCase`): then every name is kept lower-cased.
    private let ignoresCase: Bool
    private var path: [String] = []
    private var text: [UInt8] = []
    private var values: [String: String] = [:]

    /// Reads the answer of `operation` as mapped, matching names as `elementNames` says.
    public init(operation: OperationMapping, elementNames: ElementNameMatching) {
        ignoresCase = elementNames == .anyCase
        var byPath: [String: String] = [:]
        for (name, fieldPath) in operation.responseFields {
            let key = fieldPath.joined(separator: "/")
            byPath[ignoresCase ? key.lowercased() : key] = name
        }
        fieldsByPath = byPath
    }

    public func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
        path.append(ignoresCase ? name.string.lowercased() : name.string)
        text.removeAll(keepingCapacity: true)
    }

    public func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws { text.append(contentsOf: bytes) }

    public func endElement(_ name: XMLName) throws {
        if path.count > 1, let field = fieldsByPath[path.dropFirst().joined(separator: "/")] {
            values[field] = String(decoding: text, as: UTF8.self).trimmingXMLWhitespace
        }
        path.removeLast()
        text.removeAll(keepingCapacity: true)
    }

    public func result() throws -> [String: String] { values }
}
