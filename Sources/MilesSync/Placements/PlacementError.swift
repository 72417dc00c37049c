/// A placement or recall could not be made; nothing was written or queued. Callers match on
/// `code`; `input` is what caused it (the agent, the reason code or the file).
public struct PlacementError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CustomStringConvertible {
        /// No mapping in mappings/third-party for the agent.
        case unknownAgent
        /// The reason code is not one of status-codes.yaml's statusChangeReasons.
        case unknownReasonCode
        /// The placement or recall file could not be written.
        case fileNotWritten

        public var description: String { rawValue }
    }

    public let code: Code
    public let input: String
    public let description: String

    public init(_ code: Code, input: String, _ description: String) {
        self.code = code
        self.input = input
        self.description = description
    }
}
