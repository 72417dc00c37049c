/// A delivery could not be taken in. Callers match on `code`; `input` is what caused it (the
/// agent, the file or the inbox folder) and `description` says why.
public struct IngestError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CustomStringConvertible {
        /// No mapping in mappings/third-party for the agent.
        case unknownAgent
        /// The agent's mapping has no `updates` section: it sends no updates.
        case noUpdatesSection
        /// The delivered file cannot be read.
        case unreadableDelivery
        /// The inbox folder cannot be written.
        case inboxUnwritable
        /// A delivery the store records is no longer in the inbox.
        case lostDelivery

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
