import Foundation

/// Reads CSV records (RFC 4180: quoted fields, doubled quotes, line breaks inside quotes, LF or CR LF)
/// from a file in fixed-size chunks, or from bytes in memory, so a file of any size is read in
/// constant memory. Each record comes with the line it starts on; every field must be UTF-8.
/// Spaces and tabs around a field are dropped.
///
/// Written here rather than taken from CSV.swift, which on Linux reports a read error at the end
/// of every stream it reads and decodes one scalar at a time.
struct CSVRecordReader {
    private let handle: FileHandle?
    private let sourceName: String
    private let delimiter: UInt8
    private var buffer: [UInt8]
    private var position = 0
    private var atEnd: Bool
    private var line = 1
    private static let chunkSize = 1 << 20

    init(path: String, sourceName: String, delimiter: UInt8) throws(CSVFileError) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CSVFileError(path: sourceName, message: "cannot read the file") }
        self.handle = handle
        self.sourceName = sourceName
        self.delimiter = delimiter
        buffer = []
        atEnd = false
    }

    init(bytes: [UInt8], sourceName: String, delimiter: UInt8) {
        handle = nil
        self.sourceName = sourceName
        self.delimiter = delimiter
        buffer = bytes
        atEnd = true
    }

    /// The next record and the line it starts on; nil at the end of the input.
    mutating func next() throws(CSVFileError) -> (line: Int, fields: [String])? {
        guard try peek() != nil else { return nil }
        let startLine = line
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var wasQuoted = false
        while true {
            guard let byte = try peek() else {
                if quoted { throw CSVFileError(path: sourceName, message: "a quoted field opened on line \(startLine) is never closed") }
                fields.append(try text(field, wasQuoted: wasQuoted))
                return (startLine, fields)
            }
            position += 1
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if try peek() == UInt8(ascii: "\"") {
                        position += 1
                        field.append(byte)
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case delimiter:
                fields.append(try text(field, wasQuoted: wasQuoted))
                field.removeAll(keepingCapacity: true)
                wasQuoted = false
            case UInt8(ascii: "\n"):
                line += 1
                fields.append(try text(field, wasQuoted: wasQuoted))
                return (startLine, fields)
            case UInt8(ascii: "\r") where try peek() == UInt8(ascii: "\n"):
                continue
            case UInt8(ascii: "\"") where field.allSatisfy(Self.isBlank) && !wasQuoted:
                field.removeAll(keepingCapacity: true)
                quoted = true
                wasQuoted = true
            default:
                // Text after a closing quote other than blanks is kept, as most readers do.
                if wasQuoted, Self.isBlank(byte) { continue }
                field.append(byte)
            }
        }
    }

    private func text(_ bytes: [UInt8], wasQuoted: Bool) throws(CSVFileError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CSVFileError(path: sourceName, message: "the file is not UTF-8 text (line \(line))")
        }
        return wasQuoted ? text : text.trimmingCharacters(in: .whitespaces)
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    private mutating func peek() throws(CSVFileError) -> UInt8? {
        if position < buffer.count { return buffer[position] }
        guard !atEnd, let handle else { return nil }
        let chunk: Data?
        do {
            chunk = try handle.read(upToCount: Self.chunkSize)
        } catch {
            throw CSVFileError(path: sourceName, message: "cannot read the file: \(error)")
        }
        guard let chunk, !chunk.isEmpty else {
            atEnd = true
            try? handle.close()
            return nil
        }
        buffer = [UInt8](chunk)
        position = 0
        return buffer[0]
    }
}
