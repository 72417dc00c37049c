import CollectionsStore

/// A write-off could not be prepared, approved or rejected. Callers match on `code`; `input` is
/// what caused it (the user name, the role, the request id, or the file and line of a row), and
/// `description` says why and what would do.
public struct WriteOffDeskError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unknownUser, unknownRole, rowRefused, noSuchRequest, approvalRefused, changedMeanwhile, storeFailed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The acting user has no role in the configuration.
        public static let unknownUser = Code(.unknownUser)
        /// The user's role is not one of the authority matrix.
        public static let unknownRole = Code(.unknownRole)
        /// A row of a write-off file broke a rule; nothing was stored for it.
        public static let rowRefused = Code(.rowRefused)
        public static let noSuchRequest = Code(.noSuchRequest)
        /// The authority matrix or maker-checker refused the approval.
        public static let approvalRefused = Code(.approvalRefused)
        /// Another decision on the request came first; look at it again.
        public static let changedMeanwhile = Code(.changedMeanwhile)
        /// The store refused the change or failed.
        public static let storeFailed = Code(.storeFailed)

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

    /// A store failure on the request named by `input`, keeping the store's own sentence.
    init(storeFailure error: any Error, input: String) {
        let changed = (error as? StoreError)?.code == .changedMeanwhile
        self.init(changed ? .changedMeanwhile : .storeFailed, input: input, "\(error)")
    }
}
