/// A delivery could not be taken in. Callers match on `code`; `input` is what caused it (the
/// agent, the file or the inbox folder) and `description` says why.
public struct IngestError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unknownAgent, noUpdatesSection, unreadableDelivery, inboxUnwritable, lostDelivery
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No mapping in mappings/third-party for the agent.
        public static let unknownAgent = Code(.unknownAgent)
        /// The agent's mapping has no `updates` section: it sends no updates.
        public static let noUpdatesSection = Code(.noUpdatesSection)
        /// The delivered file cannot be read.
        public static let unreadableDelivery = Code(.unreadableDelivery)
        /// The inbox folder cannot be written.
        public static let inboxUnwritable = Code(.inboxUnwritable)
        /// A delivery the store records is no longer in the inbox.
        public static let lostDelivery = Code(.lostDelivery)

        public var description: String { base.rawValue }
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
