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
        let records: [(Int, [String: String])]
        switch format.syntax {
        case let .csv(delimiter):
            let table: CSVTable
            do {
                table = try CSVTable(bytes: bytes, sourceName: sourceName, delimiter: delimiter, encoding: format.encoding, caseSensitive: true,
                                     requiredColumns: requiredColumns, expected: expectedHeader(delimiter))
            } catch {
                throw AgentFileError(unreadable: error)
            }
            for row in table.rows where row.fieldCount != table.columns.count {
                if case let .error(error) = fieldCountError(line: row.line, expected: table.columns.count, found: row.fieldCount,
                                                            delimiter: delimiter) {
                    result.errors.append(error)
                }
            }
            records = table.rows.filter { $0.fieldCount == table.columns.count }.map { ($0.line, $0.fields) }
        case let .xml(recordElement):
            records = try xmlRecords(bytes, recordElement: recordElement, sourceName: sourceName)
        }
        for (line, fields) in records {
            switch record(line: line, fields: fields, sourceName: sourceName) {
            case let .update(update, _): result.updates.append(update)
            case let .error(error): result.errors.append(error)
            }
        }
        result.errors.sort { $0.line < $1.line }
        return result
    }

    /// Reads the agent's file at `path` one record at a time (CSV streams; XML is read whole), handing
    /// each to `body` in file order. A problem with the file as a whole throws `AgentFileError`,
    /// possibly after earlier records were handed over; what `body` throws comes through as it is.
    public func forEachRecord(fileAt path: String, sourceName: String, _ body: (Record) throws -> Void) throws {
        switch format.syntax {
        case let .csv(delimiter):
            var columns: [AgentMapping.UpdateField: Int]?
            try AgentFileError.fromCSV { try CSVTable.forEachRecord(path: path, sourceName: sourceName, delimiter: delimiter, encoding: format.encoding, caseSensitive: true,
                                       requiredColumns: requiredColumns, expected: expectedHeader(delimiter)) { header, line, fields in
                let index = columns ?? format.fields.compactMapValues { header.firstIndex(of: $0) }
                columns = index
                guard fields.count == header.count else {
                    try body(fieldCountError(line: line, expected: header.count, found: fields.count, delimiter: delimiter))
                    return
                }
                try body(record(line: line, sourceName: sourceName) { field in
                    index[field].flatMap { $0 < fields.count ? fields[$0] : nil } ?? ""
                })
            } }
        case let .xml(recordElement):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AgentFileError(.unreadable, file: sourceName, "cannot read the file")
            }
            for (line, fields) in try xmlRecords([UInt8](data), recordElement: recordElement, sourceName: sourceName) {
                try body(record(line: line, fields: fields, sourceName: sourceName))
            }
        }
    }

    /// Reads the file through without building updates: throws `AgentFileError` if it cannot be read as
    /// a whole (encoding, header, quoting, truncated XML), so nothing from a broken file is applied.
    public func checkWhole(fileAt path: String, sourceName: String) throws(AgentFileError) {
        switch format.syntax {
        case let .csv(delimiter):
            do {
                try CSVTable.forEachRecord(path: path, sourceName: sourceName, delimiter: delimiter, encoding: format.encoding,
                                           caseSensitive: true, requiredColumns: requiredColumns, expected: expectedHeader(delimiter)) { _, _, _ in }
            } catch let error as CSVFileError {
                throw AgentFileError(unreadable: error)
            } catch {
                throw AgentFileError(.unreadable, file: sourceName, "\(error)")
            }
        case let .xml(recordElement):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AgentFileError(.unreadable, file: sourceName, "cannot read the file")
            }
            _ = try xmlRecords([UInt8](data), recordElement: recordElement, sourceName: sourceName)
        }
    }

    /// Reads updates posted as JSON: `{"updates": [{"contractNumber": …, "code": …, "date": …}, …]}`, with
    /// the update field names of the mapping as keys, the agent's own codes, and dates in its date format.
    /// Record N of the list is "line" N.
    public func forEachJSONRecord(_ bytes: [UInt8], sourceName: String, _ body: (Record) throws -> Void) throws {
        struct Body: Decodable { var updates: [[String: String]] }
        let posted: Body
        do {
            posted = try JSONDecoder().decode(Body.self, from: Data(bytes))
        } catch {
            throw AgentFileError(.notAnUpdatesDocument, file: sourceName,
                                 "not an updates document ({\"updates\": [{…}]} with text values): \(error)")
        }
        for (index, update) in posted.updates.enumerated() {
            var fields: [String: String] = [:]
            for (key, value) in update {
                guard let field = AgentMapping.UpdateField(rawValue: key) else {
                    throw AgentFileError(.notAnUpdatesDocument, file: sourceName, "update \(index + 1) has an unknown field '\(key)'; fields are "
                        + AgentMapping.UpdateField.allCases.map(\.rawValue).joined(separator: ", "))
                }
                fields[format.fields[field] ?? key] = value.trimmingCharacters(in: .whitespaces)
            }
            try body(record(line: index + 1, fields: fields, sourceName: sourceName))
        }
    }

    /// A row whose field count differs from the header's: every value after the difference would
    /// be read from the wrong column (an unquoted "1,500.00" makes a payment of 1.00), so none is.
    private func fieldCountError(line: Int, expected: Int, found: Int, delimiter: UnicodeScalar) -> Record {
        .error(RowError(line: line, column: "(row)", value: "\(found) fields",
                        reason: "the row has \(found) fields where the header has \(expected); a value with an unquoted '\(Character(delimiter))' "
                            + "(such as 1,500.00) shifts every column after it, so nothing from this row was applied"))
    }

    private var requiredColumns: [String] { [AgentMapping.UpdateField.contractNumber, .code].compactMap { format.fields[$0] } }

    private func expectedHeader(_ delimiter: UnicodeScalar) -> String {
        format.fields.values.sorted().joined(separator: String(Character(delimiter)))
    }

    private func xmlRecords(_ bytes: [UInt8], recordElement: String, sourceName: String) throws(AgentFileError) -> [(Int, [String: String])] {
        let reader = XMLStreamReader(limits: XMLLimits(maxDepth: 16, maxTextBytes: 64 * 1024, maxDocumentBytes: 256 << 20))
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
            .error(RowError(line: line, column: format.fields[field] ?? field.rawValue, value: value(field), reason: reason))
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
    let reader: XMLStreamReader
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
