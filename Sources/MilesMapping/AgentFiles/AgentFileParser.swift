import CollectionsDomain
import Foundation
import MilesSOAP

/// Reads an agent's update file with its mapping: each good row becomes a `ThirdPartyUpdate`; each
/// bad row a `RowError` with its line, column and value, never blocking the good ones. A file that
/// cannot be read as a whole (not UTF-8, no header, truncated XML) is refused as a whole with an
/// `AgentFileError`.
///
/// ```swift
/// let parser = try AgentFileParser(agent: mappings.agents["acme-dca"]!)
/// let result = try parser.parse(bytes, sourceName: "acme-20261128.csv")   // result.updates, result.errors
/// ```
public struct AgentFileParser: Sendable {
    /// A row that could not be turned into an update.
    public struct RowError: Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var column: String
        public var value: String
        public var reason: String

        public var description: String { "line \(line), \(column) '\(value)': \(reason)" }

        /// A value as a report shows it: the first 100 characters of a long one.
        static func shown(_ value: String) -> String {
            value.count <= 100 ? value : value.prefix(100) + "… (\(value.count) characters)"
        }
    }

    public struct Result: Sendable {
        public var updates: [ThirdPartyUpdate] = []
        public var errors: [RowError] = []
    }

    /// One row or record, read.
    public enum Record: Sendable {
        case update(ThirdPartyUpdate, line: Int)
        case error(RowError)

        public var line: Int {
            switch self {
            case let .update(_, line): return line
            case let .error(error): return error.line
            }
        }
    }

    public let agent: AgentMapping
    let format: AgentMapping.UpdateFormat

    public init(agent: AgentMapping) throws(AgentFileError) {
        guard let format = agent.updates else {
            throw AgentFileError(.noUpdatesSection, file: agent.agent, "agent \(agent.agent) has no 'updates' section in mappings/third-party")
        }
        self.agent = agent
        self.format = format
    }

    /// Parses `bytes` held in memory, naming them `sourceName` in every update's source and every error.
    public func parse(_ bytes: [UInt8], sourceName: String) throws(AgentFileError) -> Result {
        var result = Result()
        do {
            try forEachRecord(in: .bytes(bytes), sourceName: sourceName) { record in
                switch record {
                case let .update(update, _): result.updates.append(update)
                case let .error(error): result.errors.append(error)
                }
            }
        } catch let error as AgentFileError {
            throw error
        } catch {
            throw AgentFileError(.unreadable, file: sourceName, "\(error)")
        }
        return result
    }

    /// Reads the agent's file at `path` one record at a time (CSV streams; XML is read whole), handing
    /// each to `body` in file order. A problem with the file as a whole throws `AgentFileError`,
    /// possibly after earlier records were handed over; what `body` throws comes through as it is.
    public func forEachRecord(fileAt path: String, sourceName: String, _ body: (Record) throws -> Void) throws {
        try forEachRecord(in: .file(path), sourceName: sourceName, body)
    }

    /// Reads the file through without building updates: throws `AgentFileError` if it cannot be read as
    /// a whole (encoding, header, quoting, truncated XML) or is over the agent's limits (size, rows), so
    /// nothing from a broken or oversized file is applied.
    public func checkWhole(fileAt path: String, sourceName: String) throws(AgentFileError) {
        do {
            try forEachRecord(in: .file(path), sourceName: sourceName) { _ in }
        } catch let error as AgentFileError {
            throw error
        } catch {
            throw AgentFileError(.unreadable, file: sourceName, "\(error)")
        }
    }

    /// The agent's limits, as its mapping sets them.
    public var limits: AgentMapping.Limits { format.limits }

    /// Refuses a delivery of `size` bytes when it is over the agent's file limit.
    public func checkSize(_ size: Int64, sourceName: String) throws(AgentFileError) {
        guard size <= Int64(limits.maxFileBytes) else {
            throw AgentFileError(.overLimit, file: sourceName, "\(size) bytes is over the \(limits.maxFileBytes)-byte limit for \(agent.agent) "
                                 + "(updates.limits.maxFileBytes in its mapping); nothing of it was stored: ask for it in parts")
        }
    }

    private enum Input {
        case file(String)
        case bytes([UInt8])
    }

    private func forEachRecord(in input: Input, sourceName: String, _ body: (Record) throws -> Void) throws {
        var rows = 0
        func counted(_ record: Record) throws {
            rows += 1
            guard rows <= limits.maxRows else {
                throw AgentFileError(.overLimit, file: sourceName, "more than \(limits.maxRows) rows, the limit for \(agent.agent) "
                                     + "(updates.limits.maxRows in its mapping); nothing of it was applied: ask for it in parts")
            }
            try body(record)
        }
        switch format.syntax {
        case let .csv(delimiter):
            var reader: CSVRecordReader
            switch input {
            case let .file(path):
                try checkSize(try fileSize(path, sourceName: sourceName), sourceName: sourceName)
                reader = try AgentFileError.fromCSV {
                    try CSVRecordReader(path: path, sourceName: sourceName, delimiter: UInt8(delimiter.value), encoding: format.encoding,
                                        encodingFromMapping: true, maxFieldBytes: limits.maxFieldBytes)
                }
            case let .bytes(bytes):
                try checkSize(Int64(bytes.count), sourceName: sourceName)
                reader = CSVRecordReader(bytes: bytes, sourceName: sourceName, delimiter: UInt8(delimiter.value), encoding: format.encoding,
                                         encodingFromMapping: true, maxFieldBytes: limits.maxFieldBytes)
            }
            var columns: [AgentMapping.UpdateField: Int]?
            try AgentFileError.fromCSV {
                try CSVTable.forEachRecord(of: &reader, sourceName: sourceName, caseSensitive: true, requiredColumns: requiredColumns,
                                           expected: expectedHeader(delimiter)) { header, row in
                    let index = columns ?? format.fields.compactMapValues { header.firstIndex(of: $0) }
                    columns = index
                    if let problem = row.problem {
                        return try counted(.error(rowError(line: row.line, problem, header: header)))
                    }
                    guard row.fields.count == header.count else {
                        return try counted(fieldCountError(line: row.line, expected: header.count, found: row.fields.count, delimiter: delimiter))
                    }
                    try counted(record(line: row.line, sourceName: sourceName) { field in
                        index[field].map { row.fields[$0] } ?? ""
                    })
                }
            }
        case let .xml(recordElement):
            let bytes: [UInt8]
            switch input {
            case let .file(path):
                try checkSize(try fileSize(path, sourceName: sourceName), sourceName: sourceName)
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw AgentFileError(.unreadable, file: sourceName, "cannot read the file")
                }
                bytes = [UInt8](data)
            case let .bytes(given):
                try checkSize(Int64(given.count), sourceName: sourceName)
                bytes = given
            }
            for (line, fields) in try xmlRecords(bytes, recordElement: recordElement, sourceName: sourceName) {
                try counted(record(line: line, fields: fields, sourceName: sourceName))
            }
        }
    }

    private func fileSize(_ path: String, sourceName: String) throws(AgentFileError) -> Int64 {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber else {
            throw AgentFileError(.unreadable, file: sourceName, "cannot read the file")
        }
        return size.int64Value
    }

    /// A row with a field that was not kept whole: nothing of it is applied.
    private func rowError(line: Int, _ problem: CSVRecordReader.FieldProblem, header: [String]) -> RowError {
        switch problem {
        case let .tooLong(field, limit):
            return RowError(line: line, column: CSVTable.name(ofField: field, in: header), value: "",
                            reason: "longer than the \(limit)-byte field limit for \(agent.agent) (updates.limits.maxFieldBytes in its "
                                + "mapping); nothing from this row was applied")
        case let .nul(field, character):
            return RowError(line: line, column: CSVTable.name(ofField: field, in: header), value: "",
                            reason: "a NUL byte at character \(character), which would cut the value short; nothing from this row was applied")
        }
    }

    /// Reads updates posted as JSON: `{"updates": [{"contractNumber": …, "code": …, "date": …}, …]}`, with
    /// the update field names of the mapping as keys, the agent's own codes, and dates in its date format,
    /// every value as text. A key twice, an unknown key or a value that is not text refuses the document.
    /// Record N of the list is "line" N.
    public func forEachJSONRecord(_ bytes: [UInt8], sourceName: String, _ body: (Record) throws -> Void) throws {
        try checkSize(Int64(bytes.count), sourceName: sourceName)
        do {
            try UpdatesDocument.forEachUpdate(in: bytes) { number, update in
                guard number <= limits.maxRows else {
                    throw AgentFileError(.overLimit, file: sourceName, "more than \(limits.maxRows) updates, the limit for \(agent.agent) "
                                         + "(updates.limits.maxRows in its mapping); nothing of it was applied: send it in parts")
                }
                var fields: [String: String] = [:]
                for (key, value) in update {
                    guard let field = AgentMapping.UpdateField(rawValue: key) else {
                        throw AgentFileError(.notAnUpdatesDocument, file: sourceName, "update \(number) has an unknown field \"\(key)\"; fields are "
                            + AgentMapping.UpdateField.allCases.map(\.rawValue).joined(separator: ", "))
                    }
                    if value.utf8.contains(0) {
                        throw AgentFileError(.notAnUpdatesDocument, file: sourceName, "update \(number) has a NUL in \"\(key)\", "
                                             + "which would cut the value short")
                    }
                    fields[format.fields[field] ?? key] = value.trimmingCharacters(in: .whitespaces)
                }
                try body(record(line: number, fields: fields, sourceName: sourceName))
            }
        } catch let problem as UpdatesDocument.Problem {
            throw AgentFileError(.notAnUpdatesDocument, file: sourceName, "not an updates document: \(problem.description)")
        }
    }

    /// A row whose field count differs from the header's: every value after the difference would
    /// be read from the wrong column (an unquoted "1,500.00" makes a payment of 1.00), so none is.
    private func fieldCountError(line: Int, expected: Int, found: Int, delimiter: UnicodeScalar) -> Record {
        .error(RowError(line: line, column: "(row)", value: "",
                        reason: "the row has \(found) fields where the header has \(expected); a value with an unquoted '\(Character(delimiter))' "
                            + "(such as 1,500.00) shifts every column after it, so nothing from this row was applied"))
    }

    private var requiredColumns: [String] { [AgentMapping.UpdateField.contractNumber, .code].compactMap { format.fields[$0] } }

    private func expectedHeader(_ delimiter: UnicodeScalar) -> String {
        format.fields.values.sorted().joined(separator: String(Character(delimiter)))
    }

    private func xmlRecords(_ bytes: [UInt8], recordElement: String, sourceName: String) throws(AgentFileError) -> [(Int, [String: String])] {
        let reader = XMLStreamReader(limits: XMLLimits(maxDepth: 16, maxTextBytes: limits.maxFieldBytes, maxDocumentBytes: limits.maxFileBytes))
        let collector = RecordCollector(reader: reader, recordElement: recordElement)
        do {
            try reader.parse(bytes, handler: collector)
        } catch {
            throw AgentFileError(.unreadable, file: sourceName, "the XML cannot be read as a whole: \(error)")
        }
        return collector.records
    }

    func record(line: Int, fields: [String: String], sourceName: String) -> Record {
        record(line: line, sourceName: sourceName) { field in format.fields[field].flatMap { fields[$0] } ?? "" }
    }

    /// Builds the update (or the row's error) from its values, looked up by update field.
    func record(line: Int, sourceName: String, value: (AgentMapping.UpdateField) -> String) -> Record {
        func fail(_ field: AgentMapping.UpdateField, _ reason: String) -> Record {
            .error(RowError(line: line, column: format.fields[field] ?? field.rawValue, value: RowError.shown(value(field)), reason: reason))
        }
        // Values arriving as XML or JSON have not passed the CSV reader's field limit.
        for field in AgentMapping.UpdateField.allCases where value(field).utf8.count > limits.maxFieldBytes {
            return .error(RowError(line: line, column: format.fields[field] ?? field.rawValue, value: "",
                                   reason: "longer than the \(limits.maxFieldBytes)-byte field limit for \(agent.agent) "
                                       + "(updates.limits.maxFieldBytes in its mapping); nothing from this row was applied"))
        }
        for field in [AgentMapping.UpdateField.addressLine1, .addressLine2, .town, .postcode, .phone, .email]
            where value(field).utf8.count > ContractNote.maxContactValueLength && value(field).count > ContractNote.maxContactValueLength {
            return fail(field, "\(value(field).count) characters, over the \(ContractNote.maxContactValueLength) MILES takes for a contact detail")
        }
        if value(.note).count > limits.maxNoteLength {
            return fail(.note, "a note of \(value(.note).count) characters, over the \(limits.maxNoteLength) allowed "
                        + "(MILES takes at most \(ContractNote.maxTextLength)); nothing from this row was applied")
        }
        let contractNumber = value(.contractNumber)
        guard !contractNumber.isEmpty else { return fail(.contractNumber, "no contract number") }
        let code = value(.code)
        guard let kind = format.codes[code] else {
            return fail(.code, "not a code of \(agent.agent) (\(format.codes.keys.sorted().joined(separator: ", ")))")
        }
        func date() -> LocalDate? {
            let text = value(.date)
            if format.dateFormat == "dd/MM/yyyy" {
                let parts = text.split(separator: "/")
                guard parts.count == 3, let day = Int(parts[0]), let month = Int(parts[1]), let year = Int(parts[2]), parts[2].count == 4 else {
                    return nil
                }
                return LocalDate(year: year, month: month, day: day)
            }
            return LocalDate.parse(text)
        }
        func money(_ field: AgentMapping.UpdateField) -> Money? { DecimalAmount.parse(value(field))?.money(in: format.currency) }
        let source = "\(sourceName):\(line)"
        let update: ThirdPartyUpdate.Kind
        switch kind {
        case .note:
            let text = value(.note).isEmpty ? code : value(.note)
            update = .note(text)
        default:
            guard let on = date() else { return fail(.date, "not a date (\(format.dateFormat))") }
            switch kind {
            case .paymentCollected:
                guard let amount = money(.amount), amount.minorUnits > 0 else { return fail(.amount, "not a positive amount") }
                update = .paymentCollected(amount: amount, on: on, agentReference: value(.reference))
            case let .status(status):
                update = .status(status, on: on)
            case .traceResult:
                var address: PostalAddress?
                if !value(.addressLine1).isEmpty {
                    guard !value(.town).isEmpty, !value(.postcode).isEmpty else {
                        return fail(.postcode, "a new address needs a town and a postcode")
                    }
                    address = PostalAddress(line1: value(.addressLine1), line2: value(.addressLine2).isEmpty ? nil : value(.addressLine2),
                                            town: value(.town), postcode: value(.postcode), country: "GB")
                }
                let phone = value(.phone).isEmpty ? nil : value(.phone)
                let email = value(.email).isEmpty ? nil : value(.email)
                guard address != nil || phone != nil || email != nil else {
                    return fail(.addressLine1, "a trace result needs a new address, phone or email")
                }
                update = .traceResult(address: address, phone: phone, email: email, on: on)
            case .vehicleRecovered:
                update = .vehicleRecovered(on: on, location: value(.location))
            case .soldAtAuction:
                guard let proceeds = money(.proceeds), proceeds.minorUnits >= 0 else { return fail(.proceeds, "not an amount") }
                update = .soldAtAuction(on: on, proceeds: proceeds)
            case .note:
                preconditionFailure("notes are read above")
            }
        }
        return .update(ThirdPartyUpdate(agent: agent.agent, source: source, contractNumber: contractNumber, kind: update), line: line)
    }
}

/// Collects the text of each element directly inside every record element, with the record's line.
private final class RecordCollector: XMLEventHandler {
    /// Unowned: the reader keeps its handler for the parse, and a strong reference back would keep both,
    /// and every record read, alive after it (the fuzzer found the leak).
    unowned let reader: XMLStreamReader
    let recordName: String
    var records: [(Int, [String: String])] = []
    private var current: [String: String]?
    private var currentLine = 0
    private var path: [String] = []
    private var text: [UInt8] = []

    init(reader: XMLStreamReader, recordElement: String) {
        self.reader = reader
        recordName = recordElement
    }

    func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
        let local = name.string
        path.append(local)
        text.removeAll(keepingCapacity: true)
        if local == recordName, current == nil {
            current = [:]
            currentLine = reader.currentLine
        }
    }

    func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws { text.append(contentsOf: bytes) }

    func endElement(_ name: XMLName) throws {
        let local = path.removeLast()
        if local == recordName, let record = current {
            records.append((currentLine, record))
            current = nil
        } else if current != nil, path.last == recordName {
            current?[local] = String(decoding: text, as: UTF8.self).trimmingXMLWhitespace
        }
        text.removeAll(keepingCapacity: true)
    }
}
