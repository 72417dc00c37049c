import CollectionsDomain
import MilesSOAP

/// Reads the records of a FinanceService answer (write-offs, their reversals, credit notes) with
/// the element names of their section of `mappings/contract.yaml`, each built into its value by
/// `build`. Answers are small: names are compared as text.
public final class FinanceRecordDecoder<Record: Sendable>: SOAPPayloadDecoder {
    private let recordPath: [String]
    /// Element path below the record, joined by '/', to the value name it holds.
    private let fieldsByPath: [String: String]
    private let build: ([String: String]) throws -> Record
    private var path: [String] = []
    private var text: [UInt8] = []
    private var values: [String: String] = [:]
    private var records: [Record] = []

    /// Whether names are compared ignoring case (`elementNames: anyCase`): then every name is kept lower-cased.
    private let ignoresCase: Bool

    /// `recordPath` leads from the response element to each record.
    init(recordPath: [String], fields: [String: [String]], elementNames: ElementNameMatching,
         build: @escaping ([String: String]) throws -> Record) {
        ignoresCase = elementNames == .anyCase
        let fold: (String) -> String = elementNames == .anyCase ? { $0.lowercased() } : { $0 }
        self.recordPath = recordPath.map(fold)
        var byPath: [String: String] = [:]
        for (name, fieldPath) in fields { byPath[fieldPath.map(fold).joined(separator: "/")] = name }
        fieldsByPath = byPath
        self.build = build
    }

    public func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
        path.append(ignoresCase ? name.string.lowercased() : name.string)
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
            records.append(try build(values))
            return
        }
        // path[0] is the response element; the record starts after the records path.
        let recordDepth = recordPath.count + 1
        if path.count > recordDepth, Array(path[1..<recordDepth]) == recordPath,
           let field = fieldsByPath[path[recordDepth...].joined(separator: "/")] {
            values[field] = String(decoding: text, as: UTF8.self).trimmingXMLWhitespace
        }
    }

    public func result() throws -> [Record] { records }

    private var isRecord: Bool { path.count == recordPath.count + 1 && Array(path.dropFirst()) == recordPath }
}

/// The values of one record, read as a posting: each error names the record and the value.
private struct PostingValues {
    let record: String
    let values: [String: String]

    func value(_ name: String) throws -> String {
        guard let value = values[name], !value.isEmpty else { throw XMLReaderError.rejected("a \(record) in MILES's answer has no \(name)") }
        return value
    }

    func money() throws -> Money {
        let currency: CurrencyCode
        do { currency = try CurrencyCode(try value("currency")) } catch {
            throw XMLReaderError.rejected("a \(record) in MILES's answer has currency '\(values["currency"] ?? "")'")
        }
        guard let amount = DecimalAmount.parse(try value("amount"))?.money(in: currency) else {
            throw XMLReaderError.rejected("a \(record) in MILES's answer has amount '\(values["amount"] ?? "")'")
        }
        return amount
    }

    func timestamp(_ name: String) throws -> Timestamp {
        guard let time = Timestamp.parse(try value(name)) else { throw XMLReaderError.rejected("a \(record) in MILES's answer has a bad \(name)") }
        return time
    }

    func version() throws -> Int64 {
        guard let version = Int64(try value("contractVersion")) else {
            throw XMLReaderError.rejected("a \(record) in MILES's answer has a bad contractVersion")
        }
        return version
    }
}

/// The decoders of the FinanceService answers, each for the operation as mapped (`ContractMapping.mapped`).
extension MappingSet {
    /// PostWriteOff's or FindWriteOffs' answer: the write-offs it holds.
    public func writeOffsDecoder(_ operation: OperationMapping) -> FinanceRecordDecoder<PostedWriteOff> {
        writeOffDecoder(operation)
    }

    /// FindWriteOffs' answer read for the reversals inside each write-off.
    public func writeOffReversalsDecoder(_ findWriteOffs: OperationMapping) -> FinanceRecordDecoder<PostedCredit> {
        reversalDecoder(recordPath: findWriteOffs.recordsPath + (contract.writeOffFields["reversals"] ?? []))
    }

    /// ReverseWriteOff's answer: the reversal made.
    public func reverseWriteOffDecoder(_ operation: OperationMapping) -> FinanceRecordDecoder<PostedCredit> {
        reversalDecoder(recordPath: operation.recordsPath)
    }

    /// RaiseCreditNote's or FindCreditNotes' answer: the credit notes it holds.
    public func creditNotesDecoder(_ operation: OperationMapping) -> FinanceRecordDecoder<PostedCredit> { creditNoteDecoder(operation) }

    private func writeOffDecoder(_ operation: OperationMapping) -> FinanceRecordDecoder<PostedWriteOff> {
        FinanceRecordDecoder(recordPath: operation.recordsPath, fields: contract.writeOffFields.filter { $0.key != "reversals" },
                             elementNames: contract.elementNames) { values in
            let record = PostingValues(record: "write-off", values: values)
            return PostedWriteOff(writeOffId: try record.value("writeOffId"), clientReference: try record.value("clientReference"),
                                  contractNumber: try record.value("contractNumber"), amount: try record.money(),
                                  reasonCode: try record.value("reasonCode"), postedAt: try record.timestamp("postedAt"),
                                  contractVersion: try record.version())
        }
    }

    private func reversalDecoder(recordPath: [String]) -> FinanceRecordDecoder<PostedCredit> {
        FinanceRecordDecoder(recordPath: recordPath, fields: contract.reversalFields, elementNames: contract.elementNames) { values in
            let record = PostingValues(record: "write-off reversal", values: values)
            return PostedCredit(milesId: try record.value("reversalId"), clientReference: try record.value("clientReference"),
                                contractNumber: try record.value("contractNumber"), amount: try record.money(),
                                reasonCode: try record.value("reasonCode"), postedAt: try record.timestamp("reversedAt"),
                                contractVersion: try record.version())
        }
    }

    private func creditNoteDecoder(_ operation: OperationMapping) -> FinanceRecordDecoder<PostedCredit> {
        FinanceRecordDecoder(recordPath: operation.recordsPath, fields: contract.creditNoteFields, elementNames: contract.elementNames) { values in
            let record = PostingValues(record: "credit note", values: values)
            return PostedCredit(milesId: try record.value("creditNoteId"), clientReference: try record.value("clientReference"),
                                contractNumber: try record.value("contractNumber"), amount: try record.money(),
                                reasonCode: try record.value("reasonCode"), postedAt: try record.timestamp("raisedAt"),
                                contractVersion: try record.version())
        }
    }
}
