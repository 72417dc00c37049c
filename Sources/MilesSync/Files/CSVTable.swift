import CSV
import Foundation

/// A CSV file with a header row, read whole: each row's fields by lower-cased column name, with the
/// line it came from. Files that cannot be read, are not UTF-8, or lack a required column fail as a whole.
struct CSVTable {
    struct Row {
        let line: Int
        let fields: [String: String]

        init(line: Int, fields: [String: String]) {
            self.line = line
            self.fields = fields
        }

        /// The field in `column`, or "" when the row has none.
        subscript(column: String) -> String { fields[column] ?? "" }
    }

    let rows: [Row]

    /// Reads the file at `path`, with column names lower-cased; `expected` is the header line to
    /// suggest when a required column is missing.
    init(path: String, requiredColumns: [String], expected: String) throws(CSVFileError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw CSVFileError(path: path, message: "cannot read the file") }
        try self.init(bytes: [UInt8](data), sourceName: path, delimiter: ",", caseSensitive: false, requiredColumns: requiredColumns,
                      expected: expected)
    }

    /// Reads CSV held in memory; `sourceName` names it in errors.
    init(bytes: [UInt8], sourceName path: String, delimiter: UnicodeScalar, caseSensitive: Bool, requiredColumns: [String],
         expected: String) throws(CSVFileError) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw CSVFileError(path: path, message: "the file is not UTF-8 text") }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: true, trimFields: true, delimiter: delimiter)
        } catch {
            throw CSVFileError(path: path, message: "not CSV: \(error)")
        }
        let header = (reader.headerRow ?? []).map { caseSensitive ? $0 : $0.lowercased() }
        let missing = requiredColumns.filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw CSVFileError(path: path, message: "the header row lacks \(missing.joined(separator: ", ")); expected \(expected)")
        }
        var rows: [Row] = []
        var line = 1
        while let fields = reader.next() {
            line += 1
            if fields.allSatisfy(\.isEmpty) { continue }
            var byColumn: [String: String] = [:]
            for (index, name) in header.enumerated() where index < fields.count { byColumn[name] = fields[index] }
            rows.append(Row(line: line, fields: byColumn))
        }
        if let error = reader.error { throw CSVFileError(path: path, message: "CSV error after line \(line): \(error)") }
        self.rows = rows
    }
}

/// A CSV file as a whole could not be read; the message names the file and what was wrong.
public struct CSVFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}
