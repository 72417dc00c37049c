/// An agent's file was refused as a whole: nothing from it is applied. Callers match on `code`;
/// `file` names the delivery and `description` says what was wrong, as `file: message`.
public struct AgentFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CustomStringConvertible {
        /// The agent's mapping has no `updates` section: it sends no updates.
        case noUpdatesSection
        /// The file cannot be read as a whole: not in its encoding, a required column missing, an
        /// unclosed quote, XML that is not well-formed or is cut short.
        case unreadable
        /// A JSON post that is not `{"updates": [{…}]}` with the mapping's field names.
        case notAnUpdatesDocument

        public var description: String { rawValue }
    }

    public let code: Code
    public let file: String
    public let message: String

    public init(_ code: Code, file: String, _ message: String) {
        self.code = code
        self.file = file
        self.message = message
    }

    init(unreadable error: CSVFileError) {
        self.init(.unreadable, file: error.path, error.message)
    }

    public var description: String { "\(file): \(message)" }

    /// Runs `read`, turning the CSV reader's failures into this error; what else `read` throws
    /// (the caller's own errors, handed through the record callback) comes through unchanged.
    static func fromCSV(_ read: () throws -> Void) throws {
        do { try read() } catch let error as CSVFileError { throw AgentFileError(unreadable: error) }
    }
}
