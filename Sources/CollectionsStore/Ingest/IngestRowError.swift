import CollectionsDomain

public struct IngestRowError: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: String
    public var value: String
    public var reason: String

    public var description: String { "line \(line), \(column) '\(value)': \(reason)" }

    public init(line: Int, column: String, value: String, reason: String) {
        self.line = line
        self.column = column
        self.value = value
        self.reason = reason
    }
}
