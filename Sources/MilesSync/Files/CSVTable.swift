import CSV
import Foundation

/// A CSV file with a header row, read whole: each row's fields by lower-cased column name, with the
/// line it came from. Files that cannot be read, are not UTF-8, or lack a required column fail as a whole.
struct CSVTable {
    struct Row {
        let line: Int
        private let fields: [String: String]

        init(line: Int, fields: [String: String]) {
            self.line = line
            self.fields = fields
        }

        /// The field in `column`, or "" when the row has none.
        subscript(column: String) -> String { fields[column] ?? "" }
    }

    let rows: [Row]

    /// `expected` is the header line to suggest when a required column is missing.
    init(path: String, requiredColumns: [String], expected: String) throws(CSVFileError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw CSVFileError(path: path, message: "cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { throw CSVFileError(path: path, message: "the file is not UTF-8 text") }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: true, trimFields: true)
        } catch {
            throw CSVFileError(path: path, message: "not CSV: \(error)")
        }
        let header = (reader.headerRow ?? []).map { $0.lowercased() }
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
