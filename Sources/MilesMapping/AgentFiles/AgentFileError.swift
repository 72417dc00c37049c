import CollectionsDomain

/// An agent's file was refused as a whole: nothing from it is applied. `input` names the delivery;
/// the description reads `file: what was wrong`.
public typealias AgentFileError = CodedError<AgentFileErrorCode>

/// What went wrong, for `AgentFileError`.
public enum AgentFileErrorCode: String, Sendable {
    /// The agent's mapping has no `updates` section: it sends no updates.
    case noUpdatesSection
    /// The file cannot be read as a whole: not in its encoding, a required column missing, an
    /// unclosed quote, XML that is not well-formed or is cut short.
    case unreadable
    /// The delivery is over one of the agent's limits (`updates.limits`): too many bytes or rows.
    case overLimit
    /// A JSON post that is not `{"updates": [{…}]}` with the mapping's field names.
    case notAnUpdatesDocument
}

extension CodedError where Code == AgentFileErrorCode {
    init(_ code: AgentFileErrorCode, file: String, _ message: String) {
        self.init(code, input: file, "\(file): \(message)")
    }

    init(unreadable error: CSVFileError) {
        self.init(.unreadable, file: error.path, error.message)
    }

    /// Runs `read`, turning the CSV reader's failures into this error; what else `read` throws
    /// (the caller's own errors, handed through the record callback) comes through unchanged.
    static func fromCSV<T>(_ read: () throws -> T) throws -> T {
        do { return try read() } catch let error as CSVFileError { throw AgentFileError(unreadable: error) }
    }
}
