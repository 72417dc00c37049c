import CollectionsDomain

/// A delivery could not be taken in; `input` is the agent, the file or the inbox folder.
public typealias IngestError = CodedError<IngestErrorCode>

/// What went wrong, for `IngestError`.
public enum IngestErrorCode: String, Sendable {
    /// No mapping in mappings/third-party for the agent.
    case unknownAgent
    /// The agent's mapping has no `updates` section: it sends no updates.
    case noUpdatesSection
    /// The delivered file cannot be read.
    case unreadableDelivery
    /// The delivery is a symbolic link, a folder, a device or a pipe: only regular files are taken,
    /// so a link cannot make the adapter copy a file it was never given.
    case notARegularFile
    /// The delivery is larger than the agent's `updates.limits.maxFileBytes`: nothing of it was stored.
    case overLimit
    /// The inbox folder cannot be written.
    case inboxUnwritable
    /// A delivery the store records is no longer in the inbox.
    case lostDelivery
}
