import CollectionsDomain

/// Reads a bank statement file, camt.053 or MT940, and reports each statement's header, entries and
/// closing balance to a `BankStatementVisitor` as it goes: memory does not grow with the file.
///
/// A file is refused whole (`BankStatementError`, naming the line or the element path) when any
/// statement in it is malformed or does not add up; the visitor must therefore keep what it is told
/// provisional until `read` returns.
///
/// ```swift
/// let format = BankStatementReader.detectFormat(firstBytes) ?? .camt053
/// try BankStatementReader(format: format).read(fileAt: path, into: &importer)
/// ```
public struct BankStatementReader: Sendable {
    public let format: BankStatementFormat
    public let limits: BankStatementLimits

    public init(format: BankStatementFormat, limits: BankStatementLimits = .default) {
        self.format = format
        self.limits = limits
    }

    /// The format the file's first bytes say it is in: `<?xml` or `<Document` is camt.053, an MT940
    /// tag (`:20:`) or a SWIFT block header (`{1:`) is MT940; nil when it is neither.
    public static func detectFormat(_ firstBytes: some Collection<UInt8>) -> BankStatementFormat? {
        var bytes = firstBytes.prefix(64)[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        let head = Array(bytes.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D })
        if head.starts(with: Array("<?xml".utf8)) || head.starts(with: Array("<Document".utf8)) { return .camt053 }
        if head.starts(with: Array(":20:".utf8)) || head.starts(with: Array("{1:".utf8)) { return .mt940 }
        return nil
    }

    /// Streams the file at `path` in 64 KiB reads.
    public func read<V: BankStatementVisitor>(fileAt path: String, into visitor: inout V) throws {
        try read(into: &visitor) { body in try StatementFileChunks.forEach(fileAt: path, format: format, limits: limits, body) }
    }

    public func read<V: BankStatementVisitor>(_ bytes: [UInt8], into visitor: inout V) throws {
        try read(into: &visitor) { body in try StatementFileChunks.forEach(bytes, format: format, limits: limits, body) }
    }

    private func read<V: BankStatementVisitor>(
        into visitor: inout V, chunks: ((UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Void
    ) throws {
        switch format {
        case .mt940:
            var parser = MT940StatementParser(limits: limits)
            try chunks { chunk in try parser.feed(chunk, into: &visitor) }
            try parser.finish(into: &visitor)
        case .camt053:
            let parser = CamtStatementParser(limits: limits)
            try chunks { chunk in try parser.feed(chunk, into: &visitor) }
            try parser.finish(into: &visitor)
        }
    }
}
