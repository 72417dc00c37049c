import CollectionsDomain

/// A placement or recall could not be made, and nothing was written or queued; `input` is the
/// agent, the reason code or the file.
public typealias PlacementError = CodedError<PlacementErrorCode>

/// What went wrong, for `PlacementError`.
public enum PlacementErrorCode: String, Sendable {
    /// No mapping in mappings/third-party for the agent.
    case unknownAgent
    /// The reason code is not one of status-codes.yaml's statusChangeReasons.
    case unknownReasonCode
    /// The placement or recall file could not be written.
    case fileNotWritten
}
