import CollectionsDomain
import CollectionsStore

/// A write-off could not be prepared, approved or rejected; `input` is the user name, the role,
/// the request id, or the file and line of a row.
public typealias WriteOffDeskError = CodedError<WriteOffDeskErrorCode>

/// What went wrong, for `WriteOffDeskError`.
public enum WriteOffDeskErrorCode: String, Sendable {
    /// The acting user has no role in the configuration.
    case unknownUser
    /// The user's role is not one of the authority matrix.
    case unknownRole
    /// A row of a write-off file broke a rule; nothing was stored for it.
    case rowRefused
    case noSuchRequest
    /// The authority matrix or maker-checker refused the approval, or the rejection.
    case approvalRefused
    /// A rejection without a reason.
    case reasonRequired
    /// Another decision on the request came first; look at it again.
    case changedMeanwhile
    /// The store refused the change or failed.
    case storeFailed
}

extension CodedError where Code == WriteOffDeskErrorCode {
    /// A store failure on the request named by `input`, keeping the store's own sentence.
    init(storeFailure error: any Error, input: String) {
        let changed = (error as? StoreError)?.code == .changedMeanwhile
        self.init(changed ? .changedMeanwhile : .storeFailed, input: input, "\(error)")
    }
}
