import CollectionsDomain
import CollectionsStore

/// A credit note or a write-off reversal could not be raised, approved or rejected; `input` is the
/// contract, the write-off request, the record id, or the value typed.
public typealias CreditDeskError = CodedError<CreditDeskErrorCode>

/// What went wrong, for `CreditDeskError`.
public enum CreditDeskErrorCode: String, Sendable {
    /// The contract, write-off request or record named does not exist.
    case notFound
    /// What was asked breaks a rule (an amount, a reason code, an invoice); nothing was stored.
    case refused
    /// The authority matrix or maker-checker refused the approval.
    case approvalRefused
    /// Another decision on the record came first; look at it again.
    case changedMeanwhile
    /// The store refused the change or failed.
    case storeFailed
}

extension CodedError where Code == CreditDeskErrorCode {
    /// A store failure on the record named by `input`, keeping the store's own sentence.
    init(storeFailure error: any Error, input: String) {
        switch (error as? StoreError)?.code {
        case .changedMeanwhile?: self.init(.changedMeanwhile, input: input, "\(error)")
        case .wrongState?: self.init(.refused, input: input, "\(error)")
        case .notFound?: self.init(.notFound, input: input, "\(error)")
        default: self.init(.storeFailed, input: input, "\(error)")
        }
    }
}
