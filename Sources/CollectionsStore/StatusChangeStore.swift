import CollectionsDomain

/// Status changes, holds, and single contracts read back from MILES.
public protocol StatusChangeStore: Sendable {
    /// Stores a status change that passed its guards (or had them overridden) and queues its
    /// UpdateContractStatus in the outbox, in one transaction, audited with any overrides.
    func queueStatusChange(_ change: StatusChange) throws -> Int64

    func statusChange(id: Int64) throws -> StatusChange?

    /// After a version conflict the change is re-sent against the version MILES has now.
    func updateExpectedVersion(statusChangeId: Int64, to version: Int64) throws

    /// MILES made the new version: the entry is sent and the change applied, in one transaction.
    func recordStatusApplied(entryId: Int64, milesVersion: Int64, at: Timestamp) throws

    /// Replaces one contract with what MILES sent for it (GetContract after a version conflict).
    func upsertContract(_ contract: Contract) throws

    func holds(contractNumber: String) throws -> [ContractHold]

    func setHold(contractNumber: String, hold: ContractHold, at: Timestamp) throws

    func notices(contractNumber: String) throws -> ContractNotices

    /// Records a notice of sums in arrears (s.86B) sent, or a default notice (s.87) served with its remedy date.
    func recordNotice(contractNumber: String, arrearsNoticeSentOn: LocalDate?, defaultNotice: ContractNotices.DefaultNotice?,
                      by actor: String, at: Timestamp) throws

    /// Queues a note for the contract file in MILES, audited.
    func queueNote(_ note: ContractNote) throws -> Int64

    func note(id: Int64) throws -> ContractNote?

    /// MILES filed the note: the entry is sent and the note recorded with MILES's id.
    func recordNoteAdded(entryId: Int64, milesNoteId: String, at: Timestamp) throws

    /// The agent the contract is placed with now, if any.
    func activePlacement(contractNumber: String) throws -> String?

    /// Records the contracts of a placement file and queues, for each, the status change that tells
    /// MILES: all in one transaction, so a crash can never leave a change without its placement.
    func queuePlacement(agent: String, fileName: String, changes: [StatusChange], by actor: String, at: Timestamp) throws

    /// Marks the placements of these contracts with the agent as recalled, audited.
    func recordRecall(agent: String, contractNumbers: [String], forced: Bool, by actor: String, at: Timestamp) throws

    /// Instructions to agents (e.g. pause a placed account that now has a hold), oldest first.
    func agentInstructions(agent: String) throws -> [(contractNumber: String, kind: String, reason: String)]

    func liftHold(contractNumber: String, kind: ContractHold.Kind, by actor: String, on date: LocalDate, at: Timestamp) throws
}
