import CollectionsDomain

/// A change the store refused or a record it could not find; `input` is the record, as a person
/// names it (`write-off request 12`, `outbox entry 7`).
///
/// ```swift
/// catch let error as StoreError where error.code == .changedMeanwhile { … read it again … }
/// ```
public typealias StoreError = CodedError<StoreErrorCode>

/// What went wrong, for `StoreError`.
public enum StoreErrorCode: String, Sendable {
    /// The record does not exist.
    case notFound
    /// The record is not in a state that allows the change.
    case wrongState
    /// The record changed since the caller read it; read it again and decide again.
    case changedMeanwhile
    /// The stored record holds a value this version of the adapter does not know.
    case corruptRecord
    /// A record with the same name or key already exists.
    case duplicate
    /// Another push worker took the outbox entry over after this one's lease expired: its result stands.
    case leaseLost
    /// The store cannot be opened where the configuration says it is (a bad URL, no server, a refused login).
    case unusableLocation
}

extension StoreError {
    /// A person's retry of an AllocatePayment whose payment the bank has since returned: allocating it
    /// would allocate money that was taken back.
    public static func returnedPayment(outboxId: Int64, returnedBy: Int64) -> StoreError {
        StoreError(.wrongState, input: "outbox entry \(outboxId)",
                   "outbox entry \(outboxId) allocates a payment the bank has since returned (bank entry \(returnedBy)): allocating it "
                       + "now would allocate money that was taken back, so it stays as it is")
    }

    /// A person's retry of a failed write-off reversal when, with the reversals raised since, more would be
    /// reversed than was written off.
    public static func reversalBeyondWriteOff(reversal: Int64, amount: Money, writeOffRequest: Int64, writtenOff: Money, others: Money) -> StoreError {
        StoreError(.wrongState, input: "reversal \(reversal)",
                   "reversal \(reversal) (\(amount)) queued again would reverse more than the \(writtenOff) written off by write-off request "
                       + "\(writeOffRequest): \(others) is already reversed or waiting, so it stays as it is")
    }

    /// A person's retry of a failed credit note when it is more than is open, less the relief in flight since (`ReliefStore`).
    public static func creditBeyondOpen(creditNote: Int64, amount: Money, contractNumber: String, open: Money, takenOff: Money) -> StoreError {
        StoreError(.wrongState, input: "credit note \(creditNote)",
                   "credit note \(creditNote) (\(amount)) queued again would be more than the \(open) open on \(contractNumber) once the "
                       + "\(takenOff) of credit notes waiting and payments allocated and write-offs MILES does not show yet is taken off, "
                       + "so it stays as it is")
    }

    /// A hold set while one of its kind is active on the contract (another person's, set a moment before).
    public static func holdActive(_ kind: ContractHold.Kind, on contractNumber: String, setOn: LocalDate, by person: String, reason: String) -> StoreError {
        StoreError(.duplicate, input: "contract \(contractNumber)",
                   "a \(kind.rawValue) hold is already active on \(contractNumber), set on \(setOn) by \(person) (\(reason)); nothing was changed")
    }

    /// A person's retry of a failed write-off while another on its contract is on its way or was posted since.
    public static func anotherWriteOff(request: Int64, contractNumber: String, other: Int64, state: String) -> StoreError {
        StoreError(.wrongState, input: "write-off request \(request)",
                   "write-off request \(request) queued again would write off \(contractNumber) twice: write-off request \(other) is \(state), "
                       + "so it stays as it is")
    }

    /// A person's retry of a ReverseAllocation whose allocation is already undone (MILES refused it, so
    /// it never held it): MILES would refuse the reversal.
    public static func nothingToReverse(outboxId: Int64) -> StoreError {
        StoreError(.wrongState, input: "outbox entry \(outboxId)",
                   "outbox entry \(outboxId) reverses an allocation already undone (MILES never held it, or reversed it): nothing is left to reverse")
    }
}
