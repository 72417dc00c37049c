import CollectionsStore

/// A write-off could not be prepared, approved or rejected. Callers match on `code`; `input` is
/// what caused it (the user name, the role, the request id, or the file and line of a row), and
/// `description` says why and what would do.
public struct WriteOffDeskError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CustomStringConvertible {
        /// The acting user has no role in the configuration.
        case unknownUser
        /// The user's role is not one of the authority matrix.
        case unknownRole
        /// A row of a write-off file broke a rule; nothing was stored for it.
        case rowRefused
        case noSuchRequest
        /// The authority matrix or maker-checker refused the approval.
        case approvalRefused
        /// Another decision on the request came first; look at it again.
        case changedMeanwhile
        /// The store refused the change or failed.
        case storeFailed

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

    /// A store failure on the request named by `input`, keeping the store's own sentence.
    init(storeFailure error: any Error, input: String) {
        let changed = (error as? StoreError)?.code == .changedMeanwhile
        self.init(changed ? .changedMeanwhile : .storeFailed, input: input, "\(error)")
    }
}
