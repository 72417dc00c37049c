import CollectionsDomain
import MilesSOAP

/// Reads the write-off records of a PostWriteOff or FindWriteOffs answer, with the element
/// names of the `writeOff` section of `mappings/contract.yaml`. Answers are small: names are
/// compared as text.
public final class WriteOffDecoder: SOAPPayloadDecoder {
    private let recordPath: [String]
    /// Element path below the record, joined by '/', to the write-off value it holds.
    private let fieldsByPath: [String: String]
    private var path: [String] = []
    private var text: [UInt8] = []
    private var values: [String: String] = [:]
    private var records: [PostedWriteOff] = []

    init(operation: OperationMapping, fields: [String: [String]]) {
        recordPath = operation.recordsPath
        var byPath: [String: String] = [:]
        for (name, fieldPath) in fields { byPath[fieldPath.joined(separator: "/")] = name }
        fieldsByPath = byPath
    }

    public func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
        path.append(name.string)
        text.removeAll(keepingCapacity: true)
        if isRecord { values = [:] }
    }

    public func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        text.append(contentsOf: bytes)
    }

    public func endElement(_ name: XMLName) throws {
        defer {
            path.removeLast()
            text.removeAll(keepingCapacity: true)
        }
        if isRecord {
            records.append(try build())
            return
        }
        // path[0] is the response element; the record starts after the records path.
        let recordDepth = recordPath.count + 1
        if path.count > recordDepth, Array(path[1..<recordDepth]) == recordPath,
           let field = fieldsByPath[path[recordDepth...].joined(separator: "/")] {
            values[field] = String(decoding: text, as: UTF8.self).trimmingXMLWhitespace
        }
    }

    public func result() throws -> [PostedWriteOff] { records }

    private var isRecord: Bool { path.count == recordPath.count + 1 && Array(path.dropFirst()) == recordPath }

    private func build() throws -> PostedWriteOff {
        func value(_ name: String) throws -> String {
            guard let value = values[name], !value.isEmpty else {
                throw XMLReaderError.rejected("a write-off in MILES's answer has no \(name)")
            }
            return value
        }
        let currency: CurrencyCode
        do { currency = try CurrencyCode(try value("currency")) } catch {
            throw XMLReaderError.rejected("a write-off in MILES's answer has currency '\(values["currency"] ?? "")'")
        }
        guard let amount = DecimalAmount.parse(try value("amount"))?.money(in: currency) else {
            throw XMLReaderError.rejected("a write-off in MILES's answer has amount '\(values["amount"] ?? "")'")
        }
        guard let postedAt = Timestamp.parse(try value("postedAt")), let version = Int64(try value("contractVersion")) else {
            throw XMLReaderError.rejected("a write-off in MILES's answer has a bad PostedAt or ContractVersion")
        }
        return PostedWriteOff(writeOffId: try value("writeOffId"), clientReference: try value("clientReference"),
                              contractNumber: try value("contractNumber"), amount: amount, reasonCode: try value("reasonCode"),
                              postedAt: postedAt, contractVersion: version)
    }
}

extension MappingSet {
    public func postWriteOffDecoder() -> WriteOffDecoder {
        WriteOffDecoder(operation: contract.postWriteOff, fields: contract.writeOffFields)
    }

    public func findWriteOffsDecoder() -> WriteOffDecoder {
        WriteOffDecoder(operation: contract.findWriteOffs, fields: contract.writeOffFields)
    }
}
