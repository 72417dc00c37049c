import CollectionsDomain

/// What agents and team leaders do to a contract: holds, notices, status changes, notes, and
/// contact-detail changes. Each method is one transaction with its audit entries; a status change,
/// note or contact change is queued in the outbox in the same transaction.
public protocol ContractActionStore: Sendable {
    func holds(contractNumber: String) async throws -> [ContractHold]

    /// Stores the hold and, when the desk decided one is due, the instruction to the agent the
    /// account is placed with, in one transaction. `placedWith` is the placement the desk decided
    /// on: if the contract's active placement is different now (placed or recalled meanwhile), the
    /// store changes nothing and throws `StoreError` `.changedMeanwhile`. A hold of the same kind
    /// already active on the hold's day (set by another person a moment before) changes nothing
    /// either: `StoreError` `.duplicate`, naming it.
    func recordHold(_ hold: ContractHold, contractNumber: String, placedWith: String?, instruction: AgentInstruction?,
                    at: Timestamp) async throws

    /// Throws `StoreError.notFound` when the contract has no active hold of that kind.
    func liftHold(contractNumber: String, kind: ContractHold.Kind, by actor: String, on date: LocalDate, at: Timestamp) async throws

    func notices(contractNumber: String) async throws -> ContractNotices

    /// Records a notice of sums in arrears (s.86B) sent, or a default notice (s.87) served with its remedy date.
    func recordNotice(contractNumber: String, arrearsNoticeSentOn: LocalDate?, defaultNotice: ContractNotices.DefaultNotice?,
                      by actor: String, at: Timestamp) async throws

    /// Stores a status change that passed its guards (or had them overridden) and queues its
    /// UpdateContractStatus, audited with any overrides.
    func queueStatusChange(_ change: StatusChange) async throws -> Int64

    func statusChange(id: Int64) async throws -> StatusChange?

    /// Queues a note for the contract file in MILES, audited.
    func queueNote(_ note: ContractNote) async throws -> Int64

    func note(id: Int64) async throws -> ContractNote?

    func contactChange(id: Int64) async throws -> ContactChange?

    /// Queues a RequestCustomerLetter, audited, unless a letter of that type is already queued for
    /// the contract (then nothing new is stored): each letter is asked of MILES once.
    func queueLetter(contractNumber: String, type: LetterType, by actor: String, at: Timestamp) async throws -> RequestCreation

    func letterRequest(id: Int64) async throws -> LetterRequest?

    /// The contract's letter requests, oldest first.
    func letterRequests(contractNumber: String) async throws -> [LetterRequest]

    /// What the contract's letters about decisions need: an arrangement active in MILES, a write-off posted
    /// (and not wholly reversed) whose customer must be told the rest of the debt still exists.
    func letterBacking(contractNumber: String) async throws -> LetterBacking
}
