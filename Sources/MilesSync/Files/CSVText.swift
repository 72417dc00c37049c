import CSV
import Foundation

/// CSV written in memory with CSV.swift: a header row, then the rows, fields quoted where they need
/// it. Every CSV the adapter writes (placement and recall files, drop-folder error reports, write-off
/// exports, the workspace's downloads) goes through here, so every one neutralises spreadsheet formulas.
public enum CSVText {
    public static func render(header: [String], rows: [[String]]) -> String {
        let stream = OutputStream(toMemory: ())
        // Writing to memory cannot fail.
        let writer = try! CSVWriter(stream: stream)
        try! writer.write(row: header.map(neutralised))
        for row in rows { try! writer.write(row: row.map(neutralised)) }
        writer.stream.close()
        let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// A value a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
    /// carriage return) gets a leading `'`, so it is shown as text (CWE-1236, as OWASP recommends).
    /// Plain numbers such as `-12.50` are left alone: they are not formulas.
    static func neutralised(_ value: String) -> String {
        guard let first = value.unicodeScalars.first, formulaStarts.contains(first), !isPlainNumber(value) else { return value }
        return "'" + value
    }

    private static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    private static func isPlainNumber(_ value: String) -> Bool {
        var digits = value.utf8.dropFirst()
        guard let sign = value.utf8.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+"), !digits.isEmpty else { return false }
        var seenPoint = false
        while let byte = digits.popFirst() {
            if byte == UInt8(ascii: ".") {
                guard !seenPoint, !digits.isEmpty else { return false }
                seenPoint = true
            } else if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                return false
            }
        }
        return true
    }
}
