import MilesSOAP

/// Reads the single values of a small answer (UpdateContractStatus, AddContractNote) at the paths
/// `responseFields` maps, by name.
public final class ResponseValuesDecoder: SOAPPayloadDecoder {
    private let fieldsByPath: [String: String]
    private var path: [String] = []
    private var text: [UInt8] = []
    private var values: [String: String] = [:]

    init(operation: OperationMapping) {
        var byPath: [String: String] = [:]
        for (name, fieldPath) in operation.responseFields { byPath[fieldPath.joined(separator: "/")] = name }
        fieldsByPath = byPath
    }

    public func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
        path.append(name.string)
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

extension MappingSet {
    public func updateContractStatusDecoder() -> ResponseValuesDecoder { ResponseValuesDecoder(operation: contract.updateContractStatus) }
    public func addContractNoteDecoder() -> ResponseValuesDecoder { ResponseValuesDecoder(operation: contract.addContractNote) }
    public func updateContactDetailsDecoder() -> ResponseValuesDecoder { ResponseValuesDecoder(operation: contract.updateContactDetails) }
    public func createPaymentArrangementDecoder() -> ResponseValuesDecoder { ResponseValuesDecoder(operation: contract.createPaymentArrangement) }
    public func cancelPaymentArrangementDecoder() -> ResponseValuesDecoder { ResponseValuesDecoder(operation: contract.cancelPaymentArrangement) }
    public func requestCustomerLetterDecoder() -> ResponseValuesDecoder { ResponseValuesDecoder(operation: contract.requestCustomerLetter) }
}
