import CollectionsDomain

/// A person's decision on an outbox entry was refused before the store was asked; `input` is the entry.
public typealias OutboxDeskError = CodedError<OutboxDeskErrorCode>

/// What went wrong, for `OutboxDeskError`.
public enum OutboxDeskErrorCode: String, Sendable {
    /// A skip without a reason: the audit log must say why a write to MILES was set aside.
    case reasonRequired
}
