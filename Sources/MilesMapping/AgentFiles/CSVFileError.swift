/// A CSV file as a whole could not be read; the message names the file and what was wrong.
public struct CSVFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
}
