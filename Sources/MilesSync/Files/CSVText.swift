import CSV
import Foundation

/// CSV written in memory with CSV.swift: a header row, then the rows, fields quoted where they need it.
enum CSVText {
    static func render(header: [String], rows: [[String]]) -> String {
        let stream = OutputStream(toMemory: ())
        // Writing to memory cannot fail.
        let writer = try! CSVWriter(stream: stream)
        try! writer.write(row: header)
        for row in rows { try! writer.write(row: row) }
        writer.stream.close()
        let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
