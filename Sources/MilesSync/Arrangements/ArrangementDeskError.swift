import CollectionsDomain
import CollectionsStore

/// A payment arrangement could not be proposed, approved, rejected, cancelled or closed; `input` is
/// the contract, the arrangement id, or the value typed.
public typealias ArrangementDeskError = CodedError<ArrangementDeskErrorCode>

/// What went wrong, for `ArrangementDeskError`.
public enum ArrangementDeskErrorCode: String, Sendable {
    /// The contract or arrangement named does not exist.
    case notFound
    /// The plan breaks a rule (affordability, breathing space, its shape) or is not a plan; nothing was stored.
    case refused
    /// The authority matrix or maker-checker refused the approval.
    case approvalRefused
    /// Another decision on the arrangement came first, or it is not in a state that allows this.
    case wrongState
    /// The store failed.
    case storeFailed
}

extension CodedError where Code == ArrangementDeskErrorCode {
    init(storeFailure error: any Error, input: String) {
        switch (error as? StoreError)?.code {
        case .changedMeanwhile?, .wrongState?, .duplicate?: self.init(.wrongState, input: input, "\(error)")
        case .notFound?: self.init(.notFound, input: input, "\(error)")
        default: self.init(.storeFailed, input: input, "\(error)")
        }
    }
}
