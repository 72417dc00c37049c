import Foundation

/// Reads CSV records (RFC 4180: quoted fields, doubled quotes, line breaks inside quotes, LF or CR LF)
/// from a file in fixed-size chunks, or from bytes in memory, so a file of any size is read in
/// constant memory. Each record comes with the line it starts on; every field must be valid text in
/// the file's encoding (UTF-8 unless the agent's mapping says otherwise).
/// Spaces and tabs around an unquoted field are dropped.
///
/// Written here rather than taken from CSV.swift, which on Linux reports a read error at the end
/// of every stream it reads, and decodes one scalar at a time (about 8 MB/s).
struct CSVRecordReader {
    private let handle: FileHandle?
    private let sourceName: String
    private let delimiter: UInt8
    private let encoding: AgentMapping.TextEncoding
    private var buffer: [UInt8]
    private var position = 0
    private var atEnd: Bool
    private var line = 1
    private var field: [UInt8] = []
    private static let chunkSize = 1 << 20
    private static let quote = UInt8(ascii: "\""), newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")

    init(path: String, sourceName: String, delimiter: UInt8, encoding: AgentMapping.TextEncoding = .utf8) throws(CSVFileError) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CSVFileError(path: sourceName, message: "cannot read the file") }
        self.handle = handle
        self.sourceName = sourceName
        self.delimiter = delimiter
        self.encoding = encoding
        buffer = []
        atEnd = false
    }

    init(bytes: [UInt8], sourceName: String, delimiter: UInt8, encoding: AgentMapping.TextEncoding = .utf8) {
        handle = nil
        self.sourceName = sourceName
        self.delimiter = delimiter
        self.encoding = encoding
        buffer = bytes
        atEnd = true
    }

    /// The next record and the line it starts on; nil at the end of the input.
    mutating func next() throws(CSVFileError) -> (line: Int, fields: [String])? {
        guard try fill() else { return nil }
        let startLine = line
        var fields: [String] = []
        fields.reserveCapacity(8)
        while true {
            let (text, last) = try nextField(startLine: startLine)
            fields.append(text)
            if last { return (startLine, fields) }
        }
    }

    /// One field, and whether it ended its record.
    private mutating func nextField(startLine: Int) throws(CSVFileError) -> (String, Bool) {
        field.removeAll(keepingCapacity: true)
        // Unquoted, the common case: copy up to the delimiter or the end of the line.
        while try fill() {
            let (stop, found) = buffer.withUnsafeBufferPointer { bytes -> (Int, UInt8?) in
                var index = position
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == delimiter || byte == Self.newline || byte == Self.quote { return (index, byte) }
                    index += 1
                }
                return (index, nil)
            }
            field.append(contentsOf: buffer[position..<stop])
            position = stop
            guard let found else { continue }
            position += 1
            switch found {
            case delimiter:
                return (try text(trimmed: true), false)
            case Self.newline:
                line += 1
                if field.last == Self.carriageReturn { field.removeLast() }
                return (try text(trimmed: true), true)
            default:
                guard field.allSatisfy(Self.isBlank) else {
                    // A quote inside unquoted text is kept as text, as most readers do.
                    field.append(Self.quote)
                    continue
                }
                return try quotedField(startLine: startLine)
            }
        }
        return (try text(trimmed: true), true)
    }

    private mutating func quotedField(startLine: Int) throws(CSVFileError) -> (String, Bool) {
        field.removeAll(keepingCapacity: true)
        while true {
            guard try fill() else {
                throw CSVFileError(path: sourceName, message: "a quoted field opened on line \(startLine) is never closed")
            }
            let byte = buffer[position]
            position += 1
            if byte == Self.quote {
                if try fill(), buffer[position] == Self.quote {
                    position += 1
                    field.append(Self.quote)
                    continue
                }
                break
            }
            if byte == Self.newline { line += 1 }
            field.append(byte)
        }
        let quoted = try text(trimmed: false)
        // After the closing quote: blanks, then the delimiter or the end of the line.
        while try fill() {
            let byte = buffer[position]
            position += 1
            switch byte {
            case delimiter: return (quoted, false)
            case Self.newline:
                line += 1
                return (quoted, true)
            case Self.carriageReturn, UInt8(ascii: " "), UInt8(ascii: "\t"): continue
            default:
                throw CSVFileError(path: sourceName, message: "line \(line): text after a closing quote")
            }
        }
        return (quoted, true)
    }

    private func text(trimmed: Bool) throws(CSVFileError) -> String {
        var start = 0, end = field.count
        if trimmed {
            while start < end, Self.isBlank(field[start]) { start += 1 }
            while end > start, Self.isBlank(field[end - 1]) { end -= 1 }
        }
        let text: String?
        switch encoding {
        case .utf8: text = field.withUnsafeBufferPointer { String(validating: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }
        case .latin1: text = String(String.UnicodeScalarView(field[start..<end].map { Unicode.Scalar($0) }))
        case .windows1252: text = String(bytes: field[start..<end], encoding: .windowsCP1252)
        }
        guard let text else { throw CSVFileError(path: sourceName, message: "the file is not \(encoding.rawValue) text (line \(line))") }
        return text
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    /// Whether a byte is available at `position`, reading the next chunk when the buffer is used up.
    private mutating func fill() throws(CSVFileError) -> Bool {
        if position < buffer.count { return true }
        guard !atEnd, let handle else { return false }
        let chunk: Data?
        do {
            chunk = try handle.read(upToCount: Self.chunkSize)
        } catch {
            throw CSVFileError(path: sourceName, message: "cannot read the file: \(error)")
        }
        guard let chunk, !chunk.isEmpty else {
            atEnd = true
            try? handle.close()
            return false
        }
        buffer = [UInt8](chunk)
        position = 0
        return true
    }
}
