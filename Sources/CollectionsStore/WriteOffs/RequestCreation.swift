/// What storing a new request (a write-off, a credit note, a reversal) did.
public enum RequestCreation: Sendable, Equatable {
    case created(id: Int64)
    /// The same request was already open: nothing new was stored.
    case alreadyRequested(id: Int64)
}
