import CollectionsDomain

/// How a statement's opening balance stands to the last closing balance stored for its account.
public enum StatementContinuity: Hashable, Sendable {
    /// The first statement stored for the account.
    case first
    /// It opens with the balance the last statement closed with.
    case follows
    /// It does not: a statement is missing, or this one repeats or overlaps an earlier one. Flagged for a person.
    case gap(lastClosing: BankBalance)
}

/// A statement the desk has read whole and checked, ready to be stored before its entries.
public struct NewBankStatement: Sendable, Equatable {
    public var header: BankStatementHeader
    public var closing: BankBalance
    public var entryCount: Int
    /// The statement's entries are those with positions `firstPosition ..< firstPosition + entryCount` in its file.
    public var firstPosition: Int
    /// The file's SHA-256 (hex) and the statement's place in it (0-based): together the statement's
    /// identity, so the same file imported again finds the statements stored the first time.
    public var fileSha256: String
    public var indexInFile: Int
    public var fileName: String
    /// Where the imported file was kept (owner-only), so an interrupted import can be resumed from it.
    public var storedPath: String
    public var continuity: StatementContinuity

    public init(header: BankStatementHeader, closing: BankBalance, entryCount: Int, firstPosition: Int, fileSha256: String,
                indexInFile: Int, fileName: String, storedPath: String, continuity: StatementContinuity) {
        self.header = header
        self.closing = closing
        self.entryCount = entryCount
        self.firstPosition = firstPosition
        self.fileSha256 = fileSha256
        self.indexInFile = indexInFile
        self.fileName = fileName
        self.storedPath = storedPath
        self.continuity = continuity
    }
}

/// A statement as stored, with how far its import has come.
public struct StoredBankStatement: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Stored; its entries are being matched (`positionsDone` says how far).
        case importing
        /// Every entry stored and decided.
        case imported
    }

    public var id: Int64
    public var statement: NewBankStatement
    /// Entries up to this file position are stored and decided: where a restarted import resumes.
    public var positionsDone: Int
    public var state: State
    public var receivedAt: Timestamp

    public init(id: Int64, statement: NewBankStatement, positionsDone: Int, state: State, receivedAt: Timestamp) {
        self.id = id
        self.statement = statement
        self.positionsDone = positionsDone
        self.state = state
        self.receivedAt = receivedAt
    }
}

/// What became of a bank entry.
public enum BankEntryState: String, Sendable, CaseIterable {
    /// Allocated to a contract (by the rules or by a person); the allocation says how far MILES has it.
    case allocated
    /// Waiting for a person: the candidates and the reason are stored with it.
    case toCheck
    /// The whole amount is held in suspense (nothing open to allocate it to).
    case suspense
    /// A return or reversal of an earlier entry; that entry's allocation is undone.
    case reversal
    /// Money out of the account, or a return of nothing allocated: nothing for collections to do.
    case noAction
}

/// What the desk decided for one entry of a batch.
public enum BankEntryDecision: Sendable, Equatable {
    /// Allocate to `contractNumber`'s invoices; `suspense` is the overpayment. `allocatedBy` is `auto` for the rules.
    case allocate(contractNumber: String, lines: [AllocationLine], suspense: Money, confidence: Int, reason: String,
                  paymentInTransit: Int64?)
    case toCheck(reason: String, candidates: [BankMatchCandidate])
    case suspense(reason: String)
    /// Undo the allocation of the entry with this id (queue ReverseAllocation if MILES has or may have it).
    case reverse(originalEntryId: Int64, reason: String)
    case noAction(reason: String)
}

/// One entry of a batch with what the desk decided for it.
public struct BankEntryOutcome: Sendable, Equatable {
    public var entry: BankEntry
    /// `BankEntry.identity(account:statementKey:)`: unique in the store.
    public var identity: String
    public var decision: BankEntryDecision

    public init(entry: BankEntry, identity: String, decision: BankEntryDecision) {
        self.entry = entry
        self.identity = identity
        self.decision = decision
    }
}

/// A bank entry as stored, with its fate.
public struct StoredBankEntry: Sendable, Equatable {
    public var id: Int64
    public var statementId: Int64
    public var account: String
    public var identity: String
    public var entry: BankEntry
    public var state: BankEntryState
    /// Why it waits, why it is in suspense, or what it reversed.
    public var reason: String?
    public var candidates: [BankMatchCandidate]
    public var allocation: PaymentAllocation?
    /// For a reversal: the entry it undid.
    public var reversesEntryId: Int64?

    public init(id: Int64, statementId: Int64, account: String, identity: String, entry: BankEntry, state: BankEntryState,
                reason: String?, candidates: [BankMatchCandidate], allocation: PaymentAllocation?, reversesEntryId: Int64?) {
        self.id = id
        self.statementId = statementId
        self.account = account
        self.identity = identity
        self.entry = entry
        self.state = state
        self.reason = reason
        self.candidates = candidates
        self.allocation = allocation
        self.reversesEntryId = reversesEntryId
    }
}

/// What a batch stored: entries new to the store, and those already stored from another statement or format.
public struct BankBatchResult: Sendable, Equatable {
    public var stored: Int
    public var alreadyStored: Int
    /// The id each outcome's entry was stored under, in the order given: nil for one the store held
    /// already, or at a position the statement's cursor had passed.
    public var entryIds: [Int64?]

    public init(stored: Int, alreadyStored: Int, entryIds: [Int64?]) {
        self.stored = stored
        self.alreadyStored = alreadyStored
        self.entryIds = entryIds
    }
}

/// A day's bank work by booking date, for `bank report`: counts and amounts that add up.
public struct BankDayReport: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public var count: Int
        public var minorUnits: Int64

        public init(count: Int, minorUnits: Int64) {
            self.count = count
            self.minorUnits = minorUnits
        }
    }

    public var date: LocalDate
    public var currency: CurrencyCode
    /// Payments in (credits that are not reversals) booked that day.
    public var received: Line
    /// Of `received`: allocated by the rules, allocated by a person, waiting in the queue, all in suspense.
    /// `received` = allocated (both) + waiting + suspense; the overpayments of allocated entries are in `overpaid`.
    public var allocatedAutomatically: Line
    public var allocatedByHand: Line
    public var waiting: Line
    public var inSuspense: Line
    /// Overpayments of allocated entries held in suspense (part of the allocated entries' amounts).
    public var overpaid: Line
    /// Returns and reversals booked that day, and money out.
    public var reversals: Line
    public var outgoing: Line

    public init(date: LocalDate, currency: CurrencyCode, received: Line, allocatedAutomatically: Line, allocatedByHand: Line,
                waiting: Line, inSuspense: Line, overpaid: Line, reversals: Line, outgoing: Line) {
        self.date = date
        self.currency = currency
        self.received = received
        self.allocatedAutomatically = allocatedAutomatically
        self.allocatedByHand = allocatedByHand
        self.waiting = waiting
        self.inSuspense = inSuspense
        self.overpaid = overpaid
        self.reversals = reversals
        self.outgoing = outgoing
    }
}

/// Bank statements, their entries and what became of each. Each method is one transaction; every
/// allocation, by the rules or by a person, is audited in it with who made it, and queues
/// AllocatePayment (or ReverseAllocation) in the outbox in the same transaction.
public protocol BankStore: Sendable {
    /// The closing balance of the statement for `account` stored last (by closing date, then id); nil for none.
    func lastClosingBalance(account: String) async throws -> BankBalance?

    /// Stores a statement unless the same one (file hash, index in file) is stored: then the stored
    /// one comes back with `isNew` false, with how far its import came.
    func receiveBankStatement(_ statement: NewBankStatement, at: Timestamp) async throws -> (statement: StoredBankStatement, isNew: Bool)

    func bankStatement(id: Int64) async throws -> StoredBankStatement?

    /// Newest first; `account` nil for all.
    func bankStatements(account: String?, limit: Int) async throws -> [StoredBankStatement]

    /// Which of `identities` are stored already.
    func storedBankEntryIdentities(_ identities: [String]) async throws -> Set<String>

    /// Everything the matching needs for a batch, read together: the contracts named, the contracts
    /// the invoices named are on, and the contracts of customers the payer accounts paid for before.
    func bankMatchData(contractNumbers: Set<String>, invoiceNumbers: Set<String>, payerAccounts: Set<String>) async throws -> BankMatchData

    /// The stored payment in that a return or reversal undoes: on the same account, of the amount the
    /// return reverses (`BankEntry.amountReversed`: without the bank's charges on a returned debit), a
    /// credit that is not itself a reversal and not yet reversed; with the same end-to-end id when the
    /// reversal has one, otherwise the same bank reference, otherwise the same counterparty account and
    /// remittance. The latest such entry booked on or before the reversal.
    func bankEntryReversed(by reversal: BankEntry, account: String) async throws -> StoredBankEntry?

    /// Stores a batch of a statement's entries with what the desk decided for each (allocations and
    /// their outbox entries, to-check candidates, suspense, reversals and theirs), remembers the payer
    /// account of each allocated entry for its customer, and moves the statement's cursor to
    /// `throughPosition`, in one transaction: a crash repeats no entry and loses none. An entry whose
    /// identity is stored already is skipped with its decision (counted in `alreadyStored`).
    func applyBankBatch(statementId: Int64, throughPosition: Int, outcomes: [BankEntryOutcome], by actor: String,
                        at: Timestamp) async throws -> BankBatchResult

    /// Marks the statement imported.
    func finishBankStatement(id: Int64, at: Timestamp) async throws

    func bankEntry(id: Int64) async throws -> StoredBankEntry?

    /// Entries in one state, oldest first (booking date, id), at most `limit`.
    func bankEntries(state: BankEntryState, limit: Int) async throws -> [StoredBankEntry]

    /// Entries holding money in suspense: those in suspense and the allocated ones with an overpayment; oldest first.
    func bankSuspense(limit: Int) async throws -> [StoredBankEntry]

    /// A person allocates a waiting (to-check or suspense) entry: stored as allocated by them, audited,
    /// AllocatePayment queued. Throws `StoreError.wrongState` for an entry in any other state, and
    /// `.notFound` for an unknown entry.
    func allocateBankEntry(id: Int64, contractNumber: String, lines: [AllocationLine], suspense: Money, reason: String,
                           by actor: String, at: Timestamp) async throws -> PaymentAllocation

    /// The day's figures for each currency booked that day.
    func bankDayReport(date: LocalDate) async throws -> [BankDayReport]
}
