import Foundation

/// Reads CSV records (RFC 4180: quoted fields, doubled quotes, line breaks inside quotes, LF or CR LF)
/// from a file in fixed-size chunks, or from bytes in memory, so a file of any size is read in
/// constant memory: a field longer than `maxFieldBytes` is not kept, only reported. Each record comes
/// with the line it starts on; every field must be valid text in the file's encoding (UTF-8 unless
/// the agent's mapping says otherwise), and a UTF-8 byte-order mark at the start is skipped.
/// Spaces and tabs around an unquoted field are dropped.
///
/// Written here rather than taken from CSV.swift, which on Linux reports a read error at the end
/// of every stream it reads, and decodes one scalar at a time (about 8 MB/s).
struct CSVRecordReader {
    /// One record: its fields by position, and the first field that could not be kept whole.
    struct Record {
        var line: Int
        var fields: [String]
        var problem: FieldProblem?
    }

    /// Why a field's value was not kept; the record it is in must not be applied.
    enum FieldProblem: Equatable {
        /// The field (0-based) is longer than the limit, in bytes; its value was dropped while reading.
        case tooLong(field: Int, limit: Int)
        /// The field (0-based) holds a NUL at this character: text after it would be cut off downstream.
        case nul(field: Int, character: Int)
    }

    private let handle: FileHandle?
    private let sourceName: String
    private let delimiter: UInt8
    private let encoding: AgentMapping.TextEncoding
    /// Whether an agent's mapping chose the encoding (so a file in another one is mended there), or the
    /// file must be UTF-8 whoever sends it (so it is saved again as UTF-8).
    private let encodingFromMapping: Bool
    private let maxFieldBytes: Int
    private var buffer: [UInt8]
    private var position = 0
    private var atEnd: Bool
    private var atStart = true
    private var line = 1
    private var field: [UInt8] = []
    /// The current field's length, counted on when its bytes are no longer kept.
    private var fieldLength = 0
    private var fieldIndex = 0
    /// The line the current record starts on.
    private var recordLine = 1
    private var problem: FieldProblem?
    private static let chunkSize = 1 << 20
    private static let quote = UInt8(ascii: "\""), newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")

    init(path: String, sourceName: String, delimiter: UInt8, encoding: AgentMapping.TextEncoding = .utf8, encodingFromMapping: Bool = false,
         maxFieldBytes: Int = .max) throws(CSVFileError) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CSVFileError(path: sourceName, message: "cannot read the file") }
        self.handle = handle
        self.sourceName = sourceName
        self.delimiter = delimiter
        self.encoding = encoding
        self.encodingFromMapping = encodingFromMapping
        self.maxFieldBytes = maxFieldBytes
        buffer = []
        atEnd = false
    }

    init(bytes: [UInt8], sourceName: String, delimiter: UInt8, encoding: AgentMapping.TextEncoding = .utf8, encodingFromMapping: Bool = false,
         maxFieldBytes: Int = .max) {
        handle = nil
        self.sourceName = sourceName
        self.delimiter = delimiter
        self.encoding = encoding
        self.encodingFromMapping = encodingFromMapping
        self.maxFieldBytes = maxFieldBytes
        buffer = bytes
        atEnd = true
    }

    /// The next record; nil at the end of the input.
    mutating func next() throws(CSVFileError) -> Record? {
        if atStart { try skipByteOrderMark() }
        guard try fill() else { return nil }
        let startLine = line
        recordLine = line
        var fields: [String] = []
        fields.reserveCapacity(8)
        fieldIndex = 0
        problem = nil
        while true {
            let (text, last) = try nextField(startLine: startLine)
            fields.append(text)
            fieldIndex += 1
            if last { return Record(line: startLine, fields: fields, problem: problem) }
        }
    }

    /// A UTF-8 byte-order mark is what spreadsheets on Windows write first: skipped in a UTF-8 file;
    /// in a file declared otherwise, or a UTF-16 one, it says the declared encoding is wrong.
    private mutating func skipByteOrderMark() throws(CSVFileError) {
        atStart = false
        guard try fill() else { return }
        // The first chunk holds at least three bytes unless the file is shorter.
        let head = Array(buffer[position..<min(buffer.count, position + 3)])
        if head == [0xEF, 0xBB, 0xBF] {
            guard encoding == .utf8 else {
                throw CSVFileError(path: sourceName, message: "the file starts with a UTF-8 byte-order mark, so it is UTF-8 text, but the agent's "
                                   + "mapping declares \(encoding.rawValue): set updates.encoding to utf-8, or have it saved as \(encoding.rawValue)")
            }
            position += 3
        } else if head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0xFE, 0xFF]) {
            throw CSVFileError(path: sourceName, message: "the file is UTF-16 text (it starts with a UTF-16 byte-order mark); "
                               + "have it saved as \(encoding.rawValue)")
        }
    }

    /// One field, and whether it ended its record.
    private mutating func nextField(startLine: Int) throws(CSVFileError) -> (String, Bool) {
        field.removeAll(keepingCapacity: true)
        fieldLength = 0
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
            keep(buffer[position..<stop])
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
                guard fieldLength == field.count, field.allSatisfy(Self.isBlank) else {
                    // A quote inside unquoted text is kept as text, as most readers do.
                    keep(CollectionOfOne(Self.quote))
                    continue
                }
                return try quotedField(startLine: startLine)
            }
        }
        return (try text(trimmed: true), true)
    }

    private mutating func quotedField(startLine: Int) throws(CSVFileError) -> (String, Bool) {
        field.removeAll(keepingCapacity: true)
        fieldLength = 0
        while true {
            guard try fill() else {
                throw CSVFileError(path: sourceName, message: "a quoted field opened on line \(startLine) is never closed")
            }
            let byte = buffer[position]
            position += 1
            if byte == Self.quote {
                if try fill(), buffer[position] == Self.quote {
                    position += 1
                    keep(CollectionOfOne(Self.quote))
                    continue
                }
                break
            }
            if byte == Self.newline { line += 1 }
            keep(CollectionOfOne(byte))
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

    /// Appends to the field while it is within the limit; past it, only counts.
    private mutating func keep(_ bytes: some Collection<UInt8>) {
        fieldLength += bytes.count
        if fieldLength <= maxFieldBytes {
            field.append(contentsOf: bytes)
        } else if !field.isEmpty {
            field.removeAll()
        }
    }

    private mutating func text(trimmed: Bool) throws(CSVFileError) -> String {
        if fieldLength > maxFieldBytes {
            if problem == nil { problem = .tooLong(field: fieldIndex, limit: maxFieldBytes) }
            return ""
        }
        var start = 0, end = field.count
        if trimmed {
            while start < end, Self.isBlank(field[start]) { start += 1 }
            while end > start, Self.isBlank(field[end - 1]) { end -= 1 }
        }
        let bytes = field[start..<end]
        let text: String?
        switch encoding {
        case .utf8: text = bytes.withUnsafeBufferPointer { String(validating: $0, as: UTF8.self) }
        case .latin1: text = String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        case .windows1252: text = String(bytes: bytes, encoding: .windowsCP1252)
        }
        guard let text else {
            let advice = encodingFromMapping
                ? "if the agent sends another encoding (windows-1252 from a spreadsheet on Windows, say), set updates.encoding in its mapping"
                : "save it as UTF-8 text (a spreadsheet's \"CSV UTF-8\") and try again"
            throw CSVFileError(path: sourceName, message: "line \(recordLine), field \(fieldIndex + 1): \(Self.invalidByte(in: bytes, encoding: encoding)) "
                               + "is not \(encoding.rawValue) text, so the file is refused as a whole; " + advice)
        }
        if problem == nil, bytes.contains(0), let nul = text.firstIndex(of: "\u{0}") {
            problem = .nul(field: fieldIndex, character: text.distance(from: text.startIndex, to: nul) + 1)
        }
        return text
    }

    /// The first byte that does not decode, as "byte 0xE9 (the 12th of the field)".
    private static func invalidByte(in bytes: ArraySlice<UInt8>, encoding: AgentMapping.TextEncoding) -> String {
        var offset = 0
        if encoding == .utf8 {
            var parser = Unicode.UTF8.ForwardParser()
            var iterator = bytes.makeIterator()
            parsing: while true {
                switch parser.parseScalar(from: &iterator) {
                case let .valid(scalar): offset += scalar.count
                case .error, .emptyInput: break parsing
                }
            }
        } else {
            offset = bytes.firstIndex { String(bytes: [$0], encoding: .windowsCP1252) == nil }.map { $0 - bytes.startIndex } ?? 0
        }
        guard offset < bytes.count else { return "a byte" }
        return "byte " + String(format: "0x%02X", bytes[bytes.startIndex + offset]) + " (byte \(offset + 1) of the field)"
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
