/// What storing a new request did.
public enum WriteOffCreation: Sendable, Equatable {
    case created(id: Int64)
    /// The same write-off was already requested: nothing new was stored.
    case alreadyRequested(id: Int64)
}
