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

    /// Reads CSV held in memory; `sourceName` names it in errors.
    init(bytes: [UInt8], sourceName path: String, delimiter: UnicodeScalar, encoding: AgentMapping.TextEncoding = .utf8, caseSensitive: Bool,
         requiredColumns: [String], expected: String) throws(CSVFileError) {
        var reader = CSVRecordReader(bytes: bytes, sourceName: path, delimiter: UInt8(delimiter.value), encoding: encoding)
        var rows: [Row] = []
        var columns: [String] = []
        do {
            try Self.forEachRecord(of: &reader, sourceName: path, caseSensitive: caseSensitive, requiredColumns: requiredColumns,
                                   expected: expected) { header, line, fields in
                columns = header
                var byColumn: [String: String] = [:]
                for (index, name) in header.enumerated() where index < fields.count { byColumn[name] = fields[index] }
                rows.append(Row(line: line, fields: byColumn, fieldCount: fields.count))
            }
        } catch let error as CSVFileError {
            throw error
        } catch {
            throw CSVFileError(path: path, message: "\(error)")
        }
        self.rows = rows
        self.columns = columns
    }

    /// Reads a file of any size one record at a time, handing `body` the header, the record's line and
    /// its fields by position. Blank lines are skipped. A problem with the file as a whole (not UTF-8, a
    /// required column missing, an unclosed quote) throws `CSVFileError`, possibly after earlier records
    /// were handed over: read it once without acting to know it is whole.
    static func forEachRecord(path: String, sourceName: String, delimiter: UnicodeScalar, encoding: AgentMapping.TextEncoding,
                              caseSensitive: Bool, requiredColumns: [String], expected: String,
                              _ body: (_ header: [String], _ line: Int, _ fields: [String]) throws -> Void) throws {
        var reader = try CSVRecordReader(path: path, sourceName: sourceName, delimiter: UInt8(delimiter.value), encoding: encoding)
        try forEachRecord(of: &reader, sourceName: sourceName, caseSensitive: caseSensitive, requiredColumns: requiredColumns,
                          expected: expected, body)
    }

    private static func forEachRecord(of reader: inout CSVRecordReader, sourceName path: String, caseSensitive: Bool,
                                      requiredColumns: [String], expected: String,
                                      _ body: (_ header: [String], _ line: Int, _ fields: [String]) throws -> Void) throws {
        let header = (try reader.next()?.fields ?? []).map { caseSensitive ? $0 : $0.lowercased() }
        let missing = requiredColumns.filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw CSVFileError(path: path, message: "the header row lacks \(missing.joined(separator: ", ")); expected \(expected)")
        }
        while let (line, fields) = try reader.next() {
            if fields.allSatisfy(\.isEmpty) { continue }
            try body(header, line, fields)
        }
    }
}
