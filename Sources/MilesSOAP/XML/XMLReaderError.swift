/// Why a document was refused by `XMLStreamReader`. Every case is final: a refused document
/// is never partly delivered as if it were complete.
public enum XMLReaderError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The document has a DOCTYPE; DTDs (and with them entity expansion) are never accepted from MILES.
    case doctypeRefused(line: Int)
    /// An entity reference other than the five predefined ones.
    case entityRefused(name: String, line: Int)
    /// Elements nested deeper than the limit.
    case tooDeep(limit: Int, line: Int)
    /// One element's text is longer than the limit.
    case textTooLong(limit: Int, line: Int)
    /// The whole document is larger than the limit.
    case documentTooLarge(limit: Int)
    /// Bytes that are not valid in the declared encoding (UTF-8 unless declared otherwise).
    case invalidEncoding(line: Int, message: String)
    /// The input ended before the document did.
    case truncated(line: Int)
    /// Not well-formed XML.
    case malformed(line: Int, column: Int, message: String)
    /// The handler refused the content (wrong element, bad value); the message names it.
    case rejected(String)

    public var description: String {
        switch self {
        case let .doctypeRefused(line): return "XML refused at line \(line): a DOCTYPE is not accepted"
        case let .entityRefused(name, line): return "XML refused at line \(line): entity '\(name)' is not accepted"
        case let .tooDeep(limit, line): return "XML refused at line \(line): elements nested deeper than \(limit)"
        case let .textTooLong(limit, line): return "XML refused at line \(line): text longer than \(limit) bytes"
        case let .documentTooLarge(limit): return "XML refused: document larger than \(limit) bytes"
        case let .invalidEncoding(line, message): return "XML refused at line \(line): invalid encoding (\(message))"
        case let .truncated(line): return "XML refused: the document ends early, at line \(line)"
        case let .malformed(line, column, message): return "XML refused at line \(line), column \(column): \(message)"
        case let .rejected(message): return message
        }
    }
}
