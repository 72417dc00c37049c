import Foundation

/// A CSV file with a header row, read whole: each row's fields by lower-cased column name, with the
/// line it came from. Files that cannot be read, are not UTF-8, or lack a required column fail as a whole.
///
/// ```swift
/// let table = try CSVTable(path: "writeoffs.csv", requiredColumns: ["contract_number"], expected: "contract_number,amount")
/// for row in table.rows { print(row.line, row["contract_number"]) }
/// ```
public struct CSVTable: Sendable {
    public struct Row: Sendable {
        public let line: Int
        public let fields: [String: String]
        /// How many fields the row had, to compare with the header's.
        public let fieldCount: Int

        init(line: Int, fields: [String: String], fieldCount: Int) {
            self.line = line
            self.fields = fields
            self.fieldCount = fieldCount
        }

        /// The field in `column`, or "" when the row has none.
        public subscript(column: String) -> String { fields[column] ?? "" }
    }

    public let rows: [Row]
    /// The header's column names.
    public let columns: [String]

    /// Reads the file at `path`, with column names lower-cased; `expected` is the header line to
    /// suggest when a required column is missing.
    public init(path: String, requiredColumns: [String], expected: String) throws(CSVFileError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw CSVFileError(path: path, message: "cannot read the file") }
        try self.init(bytes: [UInt8](data), sourceName: path, delimiter: ",", caseSensitive: false, requiredColumns: requiredColumns,
                      expected: expected)
    }

    /// Reads CSV held in memory; `sourceName` names it in errors. A field with a NUL refuses the file.
    init(bytes: [UInt8], sourceName path: String, delimiter: UnicodeScalar, caseSensitive: Bool, requiredColumns: [String],
         expected: String) throws(CSVFileError) {
        var reader = CSVRecordReader(bytes: bytes, sourceName: path, delimiter: UInt8(delimiter.value))
        var rows: [Row] = []
        var columns: [String] = []
        do {
            try Self.forEachRecord(of: &reader, sourceName: path, caseSensitive: caseSensitive, requiredColumns: requiredColumns,
                                   expected: expected) { header, record in
                columns = header
                if case let .nul(field, character) = record.problem {
                    throw CSVFileError(path: path, message: "line \(record.line), \(Self.name(ofField: field, in: header)): a NUL byte at "
                                       + "character \(character); the file is refused as a whole")
                }
                var byColumn: [String: String] = [:]
                for (index, name) in header.enumerated() where index < record.fields.count { byColumn[name] = record.fields[index] }
                rows.append(Row(line: record.line, fields: byColumn, fieldCount: record.fields.count))
            }
        } catch let error as CSVFileError {
            throw error
        } catch {
            throw CSVFileError(path: path, message: "\(error)")
        }
        self.rows = rows
        self.columns = columns
    }

    /// The column a field is in, as a person reads it: its header, or its position past the header.
    static func name(ofField index: Int, in header: [String]) -> String {
        index < header.count ? header[index] : "field \(index + 1)"
    }

    /// Reads `reader`'s input one record at a time, handing `body` the header and the record (its line,
    /// its fields by position, and any field not kept whole). Blank lines are skipped. A problem with the
    /// file as a whole (not in its encoding, a required column missing, an unclosed quote) throws
    /// `CSVFileError`, possibly after earlier records were handed over: read it once without acting to
    /// know it is whole.
    static func forEachRecord(of reader: inout CSVRecordReader, sourceName path: String, caseSensitive: Bool,
                              requiredColumns: [String], expected: String,
                              _ body: (_ header: [String], _ record: CSVRecordReader.Record) throws -> Void) throws {
        guard let first = try reader.next() else {
            throw CSVFileError(path: path, message: "the file is empty; expected a header row: \(expected)")
        }
        if first.problem != nil {
            throw CSVFileError(path: path, message: "the header row cannot be read (a NUL byte, or a column name longer than the limit); "
                               + "expected \(expected)")
        }
        let header = first.fields.map { caseSensitive ? $0 : $0.lowercased() }
        let missing = requiredColumns.filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw CSVFileError(path: path, message: "the header row lacks \(missing.joined(separator: ", ")); expected \(expected)")
        }
        while let record = try reader.next() {
            if record.problem == nil, record.fields.allSatisfy(\.isEmpty) { continue }
            try body(header, record)
        }
    }
}
