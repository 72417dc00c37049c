import CollectionsDomain

/// A file (or HTTP post) an agent delivered, kept whole in the inbox and processed from there.
public struct InboxFile: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Stored; rows up to `linesDone` are applied. A crash leaves it here and the next run resumes.
        case received
        case processed
        /// Refused as a whole (encoding, header, truncated XML); nothing from it was applied.
        case failed
    }

    public var id: Int64
    public var agent: String
    public var sha256: String
    public var originalName: String
    public var storedPath: String
    public var size: Int64
    /// `file`, `watch` or `http`.
    public var channel: String
    public var receivedAt: Timestamp
    public var state: State
    public var linesDone: Int
    public var applied: Int
    public var refused: Int
    public var rejected: Int
    public var failureReason: String?
    public var finishedAt: Timestamp?
}

/// A delivery about to be recorded in the inbox.
public struct NewInboxFile: Sendable {
    public var agent: String
    public var sha256: String
    public var originalName: String
    public var storedPath: String
    public var size: Int64
    public var channel: String
    public var receivedAt: Timestamp

    public init(agent: String, sha256: String, originalName: String, storedPath: String, size: Int64, channel: String, receivedAt: Timestamp) {
        self.agent = agent
        self.sha256 = sha256
        self.originalName = originalName
        self.storedPath = storedPath
        self.size = size
        self.channel = channel
        self.receivedAt = receivedAt
    }
}

/// What an accepted update does: at most one of each, or a refusal that keeps it for the team.
public struct IngestEffects: Sendable {
    public var statusChange: StatusChange?
    public var hold: ContractHold?
    public var contactChange: ContactChange?
    public var note: ContractNote?
    /// Why a guard refused the update; the update is kept and nothing else happens.
    public var refusal: String?

    public init(statusChange: StatusChange? = nil, hold: ContractHold? = nil, contactChange: ContactChange? = nil, note: ContractNote? = nil,
                refusal: String? = nil) {
        self.statusChange = statusChange
        self.hold = hold
        self.contactChange = contactChange
        self.note = note
        self.refusal = refusal
    }
}

/// One row of a delivery, decided: a row-level error, or an update (with `details`, its summary
/// in words, worked out once by whoever decided it) and its effects.
public enum IngestRow: Sendable {
    case rejected(line: Int, column: String, value: String, reason: String)
    case update(ThirdPartyUpdate, line: Int, details: String, effects: IngestEffects)
}

/// An update as the store keeps it.
public struct StoredThirdPartyUpdate: Sendable, Equatable {
    public var id: Int64
    public var inboxFileId: Int64
    public var line: Int
    public var agent: String
    public var contractNumber: String
    public var kind: String
    public var details: String
    /// `applied` or `refused`.
    public var outcome: String
    public var refusal: String?
}

public struct IngestRowError: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: String
    public var value: String
    public var reason: String

    public var description: String { "line \(line), \(column) '\(value)': \(reason)" }
}

/// A payment an agent says it collected.
public struct PaymentNotification: Sendable, Equatable {
    public var contractNumber: String
    public var agent: String
    public var amount: Money
    public var paidOn: LocalDate
    public var agentReference: String
}

/// The inbox of agents' deliveries and what came of each row.
public protocol IngestStore: Sendable {
    /// Records a delivery already copied to `storedPath`. The same content from the same agent is the
    /// same delivery: the existing record comes back with `isNew` false.
    func receiveInboxFile(_ file: NewInboxFile) throws -> (file: InboxFile, isNew: Bool)

    func inboxFile(id: Int64) throws -> InboxFile?

    /// Newest first; `state` nil for all.
    func inboxFiles(agent: String?, state: InboxFile.State?, limit: Int) throws -> [InboxFile]

    /// Stores a batch of a delivery's rows with all their effects (outbox entries, holds, payments) and
    /// moves the delivery's cursor to `throughLine`, in one transaction: a crash repeats no row and loses none.
    func applyIngestBatch(fileId: Int64, throughLine: Int, rows: [IngestRow], by actor: String, at: Timestamp) throws

    /// Marks the delivery processed, or failed as a whole with the reason.
    func finishInboxFile(id: Int64, failure: String?, at: Timestamp) throws

    func ingestRowErrors(fileId: Int64) throws -> [IngestRowError]

    func thirdPartyUpdates(fileId: Int64) throws -> [StoredThirdPartyUpdate]

    /// Updates a guard refused, for the team to act on; newest first.
    func refusedUpdates(limit: Int) throws -> [StoredThirdPartyUpdate]

    /// The contracts placed with the agent now.
    func placedContracts(agent: String) throws -> Set<String>

    func contactChange(id: Int64) throws -> ContactChange?

    /// After a version conflict the change is re-sent against the partner version MILES has now.
    func updateContactChangeVersion(id: Int64, to version: Int64) throws

    /// MILES applied the change: the entry is sent and the customer in the store updated, in one transaction.
    func recordContactChangeApplied(entryId: Int64, milesVersion: Int64, at: Timestamp) throws

    /// Payments agents reported that MILES does not show yet (no MILES payment on or after their date).
    func paymentsInTransit(contractNumber: String) throws -> [PaymentNotification]

    /// Totals for monitoring: updates stored, and rows rejected or refused.
    func ingestTotals() throws -> (received: Int, rejected: Int, refused: Int)
}
