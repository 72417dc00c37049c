import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping

/// Takes the bank's statements in and allocates the payments in them. A file is kept whole first
/// (named by its SHA-256) and read through once to check it: a statement that is malformed, does not
/// add up, or is for an account `mappings/bank` does not configure refuses the whole file before
/// anything is stored. Then each statement is stored (flagged when its opening balance does not
/// follow the account's last closing balance) and its entries are read again, matched by the
/// account's rules and stored in batches with their allocations (AllocatePayment queued in the
/// outbox) and the statement's cursor, so a crash repeats no entry and loses none. An entry the store
/// already holds (the same statement again, in the other format, or an overlapping one) is skipped.
///
/// ```swift
/// let desk = BankDesk(store: store, rules: mappings.bank, statementsDirectory: "data/statements")
/// let outcome = try await desk.importStatement(path: "in/camt053-20261201.xml", format: nil)
/// ```
public struct BankDesk: Sendable {
    /// Who allocations the matching rules make are recorded as made by.
    public static let rulesActor = "bank-rules"

    public struct Counts: Sendable, Equatable {
        public var allocated = 0
        public var toCheck = 0
        public var suspense = 0
        public var reversals = 0
        public var noAction = 0
        /// Entries the store held already: not counted again.
        public var alreadyStored = 0

        public init() {}

        /// Counts `batch` as the store stored it: an entry another import stored meanwhile is counted as
        /// stored already, one at a position another import had passed not at all, as it did not happen.
        mutating func record(_ batch: DecidedBatch, stored: BankBatchResult) {
            alreadyStored += batch.storedAlready + stored.alreadyStored
            for (outcome, id) in zip(batch.outcomes, stored.entryIds) where id != nil {
                switch outcome.decision {
                case .allocate: allocated += 1
                case .toCheck: toCheck += 1
                case .suspense: suspense += 1
                case .reverse: reversals += 1
                case .noAction: noAction += 1
                }
            }
        }
    }

    public struct ImportOutcome: Sendable {
        public var originalName: String
        public var keptAt: String
        public var statements: [StoredBankStatement]
        /// Every statement of the file was imported whole before: nothing was done this time.
        public var duplicate: Bool
        public var counts: Counts
    }

    public let store: any BankStore
    public let rules: BankRules
    let files: BankStatementFiles
    let now: CollectionsClock
    let batchSize: Int
    let limits: BankStatementLimits

    /// Entries decided and stored per transaction. Each commit writes every index page its batch
    /// touched, and a statement's payments touch pages all over the return and allocation indexes:
    /// 3,000 a batch (with the writer's larger cache) stored a 1,000,000-entry statement about a
    /// tenth faster than 1,000, holding about 10 MB more (BENCHMARKS.md, issue 17).
    public static let defaultBatchSize = 3_000

    public init(store: any BankStore, rules: BankRules, statementsDirectory: String, limits: BankStatementLimits = .default,
                batchSize: Int = BankDesk.defaultBatchSize, now: CollectionsClock = .system) {
        self.store = store
        self.rules = rules
        self.limits = limits
        // Absolute, as it is stored with each statement: a resume from another working directory finds the file.
        files = BankStatementFiles(directory: URL(fileURLWithPath: statementsDirectory).standardizedFileURL.path, maxBytes: limits.maxFileBytes)
        self.batchSize = batchSize
        self.now = now
    }

    /// Imports the file: keeps it, checks it whole, stores its statements and allocates their entries
    /// (or finishes doing so, after a crash). `format` nil: told by the file's first bytes.
    public func importStatement(path: String, format: BankStatementFormat?) async throws -> ImportOutcome {
        let kept = try await files.keep(path)
        do {
            let reader = BankStatementReader(format: try format ?? detectFormat(kept.path, name: path), limits: limits)
            let summaries = try await check(kept.path, reader: reader, name: path)
            var statements: [StoredBankStatement] = []
            var isNew = false
            for (index, summary) in summaries.enumerated() {
                let received = try await store.receiveBankStatement(
                    NewBankStatement(header: summary.header, closing: summary.closing, entryCount: summary.entryCount,
                                     firstPosition: summary.firstPosition, fileSha256: kept.sha256, indexInFile: index,
                                     fileName: kept.originalName, storedPath: kept.path,
                                     continuity: try await continuity(of: summary.header)),
                    at: now())
                statements.append(received.statement)
                isNew = isNew || received.isNew
            }
            if !isNew, statements.allSatisfy({ $0.state == .imported }) {
                return ImportOutcome(originalName: kept.originalName, keptAt: kept.path, statements: statements, duplicate: true, counts: Counts())
            }
            var counts = Counts()
            try await allocate(kept.path, reader: reader, statements: statements, counts: &counts)
            var finished: [StoredBankStatement] = []
            for statement in statements {
                finished.append(try await store.bankStatement(id: statement.id) ?? statement)
            }
            return ImportOutcome(originalName: kept.originalName, keptAt: kept.path, statements: finished, duplicate: false, counts: counts)
        } catch let error as BankImportError where error.code == .malformedStatement || error.code == .unknownAccount
                    || error.code == .currencyMismatch || error.code == .unknownFormat {
            // Refused whole before anything was stored: the copy is not kept either.
            try? FileManager.default.removeItem(atPath: kept.path)
            throw error
        }
    }

    private func detectFormat(_ kept: String, name: String) throws(BankImportError) -> BankStatementFormat {
        let head = FileHandle(forReadingAtPath: kept).flatMap { handle in
            defer { try? handle.close() }
            return try? handle.read(upToCount: 512)
        } ?? Data()
        guard let format = BankStatementReader.detectFormat(Array(head)) else {
            throw BankImportError(.unknownFormat, input: name,
                                  "\(name) is neither a camt.053 (XML) nor an MT940 statement by its first bytes; name it with --format camt053|mt940")
        }
        return format
    }

    /// What the first reading learns of each statement.
    struct Summary: Sendable {
        var header: BankStatementHeader
        var closing: BankBalance
        var entryCount: Int
        var firstPosition: Int
    }

    /// How a refusal before anything was stored ends, so the operator knows the file can be sent again whole.
    private static let nothingStored = "nothing of the file was stored"

    /// Reads the whole file once, holding no entries: every statement well formed and adding up (the
    /// reader checks), for a configured account in its currency.
    private func check(_ kept: String, reader: BankStatementReader, name: String) async throws -> [Summary] {
        let summaries = try await BlockingWork.run { () throws(BankImportError) -> [Summary] in
            var visitor = Summaries()
            do {
                try reader.read(fileAt: kept, into: &visitor)
            } catch {
                throw BankImportError(.malformedStatement, input: name, "\(name): \(error); \(Self.nothingStored)")
            }
            return visitor.summaries
        }
        for summary in summaries {
            let header = summary.header
            guard let account = rules.account(header.account) else {
                throw BankImportError(.unknownAccount, input: header.account,
                                      "\(name): statement \(header.statementId) is for account \(header.account), which no file in mappings/bank configures; \(Self.nothingStored)")
            }
            guard account.currency == header.currency else {
                throw BankImportError(.currencyMismatch, input: header.account,
                                      "\(name): statement \(header.statementId) for \(header.account) is in \(header.currency), but the account is configured in \(account.currency) (mappings/bank); \(Self.nothingStored)")
            }
        }
        return summaries
    }

    private func continuity(of header: BankStatementHeader) async throws -> StatementContinuity {
        guard let last = try await store.lastClosingBalance(account: header.account) else { return .first }
        return last.signedMinorUnits == header.opening.signedMinorUnits && last.amount.currency == header.opening.amount.currency
            ? .follows : .gap(lastClosing: last)
    }

    /// Reads the file again and stores each statement's entries not yet stored, with what the rules
    /// decide. A decided batch is stored while the next batch's matching data is read and the next
    /// batch decided (the store's writer, a reader and the rules work side by side); each batch sees
    /// every earlier entry as if the batches had run one after the other. An entry is counted once
    /// its batch is stored, as the store stored it.
    private func allocate(_ kept: String, reader: BankStatementReader, statements: [StoredBankStatement], counts: inout Counts) async throws {
        let stream = RecordStream<StatementEvent>(chunkSize: Self.readAhead) { body in
            try withoutActuallyEscaping(body) { body in
                var forwarder = EventForwarder(body: body)
                try reader.read(fileAt: kept, into: &forwarder)
            }
        }
        var index = -1
        var pending: [BankEntry] = []
        var decided: DecidedBatch?
        for try await chunk in stream {
            for event in chunk {
                switch event {
                case .begin:
                    index += 1
                case let .entry(entry):
                    let statement = statements[index]
                    guard entry.position > statement.positionsDone else { continue }
                    // A return is matched against what the store holds: what came before it goes in first.
                    if isReturn(entry), !pending.isEmpty {
                        decided = try await decide(pending, of: statement, through: pending[pending.count - 1].position,
                                                   storingFirst: decided, counts: &counts)
                        pending.removeAll(keepingCapacity: true)
                    }
                    pending.append(entry)
                    if pending.count >= batchSize {
                        decided = try await decide(pending, of: statement, through: entry.position, storingFirst: decided, counts: &counts)
                        pending.removeAll(keepingCapacity: true)
                    }
                case .end:
                    let statement = statements[index]
                    guard statement.state != .imported else { continue }
                    let last = statement.statement.firstPosition + statement.statement.entryCount - 1
                    if !pending.isEmpty || statement.positionsDone < last {
                        decided = try await decide(pending, of: statement, through: max(last, statement.positionsDone),
                                                   storingFirst: decided, counts: &counts)
                        pending.removeAll(keepingCapacity: true)
                    }
                    if let batch = decided {
                        counts.record(batch, stored: try await store(batch))
                        decided = nil
                    }
                    try await store.finishBankStatement(id: statement.id, at: now())
                }
            }
        }
    }

    /// Entries the file reader hands over at a time (at most two chunks wait): enough to keep its
    /// thread ahead of the matching, independent of the batch size, so a larger batch does not
    /// hold four times its entries in memory.
    private static let readAhead = 500

    private func isReturn(_ entry: BankEntry) -> Bool {
        entry.mark == .debit && (entry.isReversal || entry.returnReason != nil)
    }

    /// Decides a batch's entries, storing the `previous` batch meanwhile: what the rules need of the
    /// store is read beside the storing, brought up to date with what storing `previous` will change,
    /// and the batch decided while the storing goes on, so the writer does not wait for the rules.
    /// Where that cannot be foreseen (`previous` returns a payment or learns a payer's account this
    /// batch pays from, this batch holds a return, or the store did not store all of `previous`),
    /// the batch is read and decided again once `previous` is stored.
    private func decide(_ entries: [BankEntry], of statement: StoredBankStatement, through position: Int,
                        storingFirst previous: DecidedBatch?, counts: inout Counts) async throws -> DecidedBatch {
        let header = statement.statement.header
        guard let rules = rules.account(header.account) else {
            throw BankImportError(.unknownAccount, input: header.account, "account \(header.account) is no longer configured in mappings/bank")
        }
        let statementKey = header.statementId + "/" + (header.sequenceNumber ?? "")
        let identities = entries.map { $0.identity(account: header.account, statementKey: statementKey) }
        let batch = PendingBatch(entries: entries, identities: identities, statementId: statement.id, throughPosition: position)
        guard let previous else {
            return try await decide(batch, account: header.account, rules: rules, reading: try await storeReading(batch, rules: rules))
        }
        async let storing = store(previous)
        var reading = try await storeReading(batch, rules: rules)
        var foreseen: DecidedBatch?
        if !previous.changesMoreThanItCarries(toEntriesPaying: reading.payers), !entries.contains(where: isReturn) {
            previous.carry(into: &reading, identities: identities)
            foreseen = try await decide(batch, account: header.account, rules: rules, reading: reading)
        }
        let stored = try await storing
        counts.record(previous, stored: stored)
        if let foreseen, !stored.entryIds.contains(nil) { return foreseen }
        return try await decide(batch, account: header.account, rules: rules, reading: try await storeReading(batch, rules: rules))
    }

    /// Decides each entry of `batch` the store does not hold, given what the store held for it.
    private func decide(_ batch: PendingBatch, account: String, rules: BankAccountRules, reading: StoreReading) async throws -> DecidedBatch {
        var data = reading.data
        var outcomes: [BankEntryOutcome] = []
        outcomes.reserveCapacity(batch.entries.count)
        for (var entry, identity) in zip(batch.entries, batch.identities) where !reading.known.contains(identity) {
            let decision = try await decide(entry, account: account, rules: rules, data: &data)
            // Stored, and so sent to MILES, in the mapping's vocabulary.
            if isReturn(entry), let code = entry.returnReason { entry.returnReason = rules.milesReturnReason(code) }
            outcomes.append(BankEntryOutcome(entry: entry, identity: identity, decision: decision))
        }
        return DecidedBatch(statementId: batch.statementId, throughPosition: batch.throughPosition, outcomes: outcomes,
                            storedAlready: batch.entries.count - outcomes.count, at: now())
    }

    /// Stores a decided batch with the statement's cursor, in one store call.
    private func store(_ batch: DecidedBatch) async throws -> BankBatchResult {
        try await store.applyBankBatch(statementId: batch.statementId, throughPosition: batch.throughPosition, outcomes: batch.outcomes,
                                       by: Self.rulesActor, at: batch.at)
    }

    /// Which of the entries the store holds already, and what the rules need to decide the payments among the others.
    private func storeReading(_ batch: PendingBatch, rules: BankAccountRules) async throws -> StoreReading {
        let known = batch.entries.isEmpty ? [] : try await store.storedBankEntryIdentities(batch.identities)
        var contracts = Set<String>(), invoices = Set<String>(), payers = Set<String>()
        for (entry, identity) in zip(batch.entries, batch.identities) where entry.isPaymentIn && !known.contains(identity) {
            let lookup = rules.lookup(for: entry)
            contracts.formUnion(lookup.contractNumbers)
            invoices.formUnion(lookup.invoiceNumbers)
            if let payer = lookup.payerAccount { payers.insert(payer) }
        }
        guard !(contracts.isEmpty && invoices.isEmpty && payers.isEmpty) else {
            return StoreReading(known: known, data: BankMatchData(), payers: [])
        }
        let data = try await store.bankMatchData(contractNumbers: contracts, invoiceNumbers: invoices, payerAccounts: payers)
        return StoreReading(known: known, data: data, payers: payers)
    }

    private func decide(_ entry: BankEntry, account: String, rules: BankAccountRules,
                        data: inout BankMatchData) async throws -> BankEntryDecision {
        if isReturn(entry) {
            // The bank's own code is kept in the reason: the entry stores the code MILES is sent.
            let code = entry.returnReason.map { code in
                let miles = rules.milesReturnReason(code)
                return miles == code ? " (reason \(code))" : " (reason \(miles), the bank's \(code))"
            } ?? ""
            guard let original = try await store.bankEntryReversed(by: entry, account: account) else {
                return .noAction(reason: "a return or reversal of no payment stored for \(account)" + code)
            }
            let charges = entry.amount.minorUnits - entry.amountReversed.minorUnits
            return .reverse(originalEntryId: original.id,
                            reason: "the bank returned it" + code
                                + (charges > 0 ? "; \(Money(minorUnits: charges, currency: entry.amount.currency)) of it the bank's charges" : ""))
        }
        guard entry.isPaymentIn else {
            return .noAction(reason: entry.mark == .debit ? "money out of the account" : "a reversal of money out")
        }
        switch rules.decide(entry, data: data) {
        case let .allocate(candidate, lines, suspense, paymentInTransit):
            data.take(lines, from: candidate.contractNumber, paymentInTransit: paymentInTransit)
            return .allocate(contractNumber: candidate.contractNumber, lines: lines, suspense: suspense, confidence: candidate.confidence,
                             reason: candidate.reasons.joined(separator: "; "), paymentInTransit: paymentInTransit)
        case let .toCheck(reason, candidates):
            return .toCheck(reason: reason, candidates: candidates)
        }
    }

    /// A person allocates a waiting entry to a contract: to the invoices named (oldest first), or to
    /// all its open invoices oldest first; what is left over is held in suspense.
    public func allocate(entryId: Int64, contractNumber: String, invoiceNumbers: [String], note: String?,
                         by person: String) async throws -> PaymentAllocation {
        guard let stored = try await store.bankEntry(id: entryId) else {
            throw BankImportError(.unknownEntry, input: "bank entry \(entryId)", "there is no bank entry \(entryId); `bank queue` lists those waiting")
        }
        guard stored.state == .toCheck || stored.state == .suspense else {
            throw BankImportError(.notWaiting, input: "bank entry \(entryId)",
                                  "bank entry \(entryId) is \(stored.state.rawValue), not waiting for a person; only entries in `bank queue` or `bank suspense` can be allocated")
        }
        guard !contractNumber.isEmpty else {
            throw BankImportError(.unknownContract, input: "bank entry \(entryId)", "name the contract to allocate bank entry \(entryId) to")
        }
        let data = try await store.bankMatchData(contractNumbers: Set(TypedNumber.forms(of: contractNumber)), invoiceNumbers: [], payerAccounts: [])
        guard let contract = TypedNumber.match(contractNumber, in: data.contracts.keys).flatMap({ data.contracts[$0] }) else {
            throw BankImportError(.unknownContract, input: contractNumber, "there is no contract \(contractNumber) in the store; run `sync contracts` if it is new")
        }
        let contractNumber = contract.contractNumber
        let amount = stored.entry.amount
        guard contract.currency == amount.currency else {
            throw BankImportError(.contractCurrencyMismatch, input: contractNumber,
                                  "contract \(contractNumber) is in \(contract.currency) but bank entry \(entryId) is \(amount); allocate it to a contract in \(amount.currency)")
        }
        var invoices = contract.openInvoices
        if !invoiceNumbers.isEmpty {
            var named: [String] = []
            for typed in invoiceNumbers {
                guard let number = TypedNumber.match(typed, in: invoices.map(\.number)) else {
                    throw BankImportError(.unknownInvoice, input: typed,
                                          "invoice \(typed) is not open on contract \(contractNumber); open: \(invoices.map(\.number).sorted().joined(separator: ", "))")
                }
                named.append(number)
            }
            invoices = invoices.filter { named.contains($0.number) }
        }
        let (lines, remainder) = allocateOldestFirst(amount, over: invoices)
        // MILES takes an allocation of at least one invoice line: with nothing open, the entry stays where it waits.
        guard !lines.isEmpty else {
            throw BankImportError(.nothingOpen, input: contractNumber,
                                  "nothing is open on \(invoiceNumbers.isEmpty ? "contract \(contractNumber)" : invoiceNumbers.joined(separator: ", ")) "
                                    + "(paid, or covered by allocations, credit notes or write-offs MILES does not show yet), so bank entry \(entryId) would only go to suspense; "
                                    + "it stays where it waits: allocate it to another contract, or leave it for the next sync")
        }
        return try await store.allocateBankEntry(id: entryId, contractNumber: contractNumber, lines: lines, suspense: remainder,
                                                 reason: note ?? "allocated by hand", by: person, at: now())
    }

    /// Statements a killed import left part done, oldest first.
    public func unfinished() async throws -> [StoredBankStatement] {
        try await store.bankStatements(account: nil, limit: .max).filter { $0.state == .importing }.reversed()
    }

    /// Finishes what killed imports left part done, from the files they kept: one import per file.
    public func resumeUnfinished() async throws -> [ImportOutcome] {
        var outcomes: [ImportOutcome] = []
        var files = Set<String>()
        for statement in try await unfinished() where files.insert(statement.statement.storedPath).inserted {
            outcomes.append(try await importStatement(path: statement.statement.storedPath, format: statement.statement.header.format))
        }
        return outcomes
    }

    /// Entries waiting for a person, oldest first.
    public func queue(limit: Int) async throws -> [StoredBankEntry] {
        try await store.bankEntries(state: .toCheck, limit: limit)
    }

    /// Entries holding money in suspense, oldest first.
    public func suspense(limit: Int) async throws -> [StoredBankEntry] {
        try await store.bankSuspense(limit: limit)
    }

    public func report(date: LocalDate) async throws -> [BankDayReport] {
        try await store.bankDayReport(date: date)
    }
}

/// What the second reading hands on, in file order.
enum StatementEvent: Sendable {
    case begin(BankStatementHeader)
    case entry(BankEntry)
    case end(BankBalance)
}

private struct EventForwarder: BankStatementVisitor {
    let body: (StatementEvent) throws -> Void

    mutating func beginStatement(_ header: BankStatementHeader) throws { try body(.begin(header)) }
    mutating func entry(_ entry: BankEntry) throws { try body(.entry(entry)) }
    mutating func endStatement(closing: BankBalance) throws { try body(.end(closing)) }
}

/// Each statement's header, closing balance and the positions of its entries, holding no entry.
private struct Summaries: BankStatementVisitor {
    var summaries: [BankDesk.Summary] = []
    private var current: BankStatementHeader?
    private var count = 0
    private var lastPosition = 0
    private var firstPosition = 1

    mutating func beginStatement(_ header: BankStatementHeader) throws {
        current = header
        count = 0
        firstPosition = lastPosition + 1
    }

    mutating func entry(_ entry: BankEntry) throws {
        count += 1
        lastPosition = entry.position
    }

    mutating func endStatement(closing: BankBalance) throws {
        guard let header = current else { return }
        summaries.append(BankDesk.Summary(header: header, closing: closing, entryCount: count, firstPosition: firstPosition))
        current = nil
    }
}

extension BankMatchData {
    /// What an allocation took from the contract: the invoices' open amounts and the agent's payment
    /// in transit it matched. The next entry sees them gone.
    mutating func take(_ lines: [AllocationLine], from contractNumber: String, paymentInTransit: Int64?) {
        guard var contract = contracts[contractNumber] else { return }
        for line in lines {
            guard let index = contract.openInvoices.firstIndex(where: { $0.number == line.invoiceNumber }) else { continue }
            contract.openInvoices[index].openAmount.minorUnits -= line.amount.minorUnits
        }
        if let paymentInTransit { contract.paymentsInTransit.removeAll { $0.updateId == paymentInTransit } }
        contracts[contractNumber] = contract
    }
}

/// What the store holds for a batch, read before it is decided.
struct StoreReading: Sendable {
    /// Identities of the batch's entries stored already.
    var known: Set<String>
    var data: BankMatchData
    /// The payers' accounts the reading looked up (normalised, as the rules look them up).
    var payers: Set<String>
}

/// A batch's entries read from the file, not yet decided.
struct PendingBatch {
    var entries: [BankEntry]
    var identities: [String]
    var statementId: Int64
    var throughPosition: Int
}

/// A batch decided and not yet stored, and what storing it changes of what the next batch reads.
struct DecidedBatch: Sendable {
    var statementId: Int64
    var throughPosition: Int
    var outcomes: [BankEntryOutcome]
    /// Entries of the batch the store held when it was read: not decided.
    var storedAlready = 0
    /// When its allocations are recorded.
    var at: Timestamp

    /// Whether storing this batch will change what the next one read in a way `carry` cannot foresee,
    /// so the next is read again once this one is stored: a return (it gives an earlier allocation
    /// back), or a payer's account learnt that a payment of the next batch pays from (the customers
    /// it is known for).
    func changesMoreThanItCarries(toEntriesPaying payers: Set<String>) -> Bool {
        for outcome in outcomes {
            switch outcome.decision {
            case .reverse:
                return true
            case .allocate:
                if let payer = outcome.entry.payerAccount, payers.contains(payer) { return true }
            case .toCheck, .suspense, .noAction:
                continue
            }
        }
        return false
    }

    /// Brings the next batch's reading, made while this batch is being stored, up to date as if
    /// every entry of this batch were stored (the store's answer says whether they were): its
    /// allocations take from their contracts as the store counts them (not yet sent to MILES, each
    /// counts). The reading may have been made before or after the batch was committed; an allocation
    /// it counted already (by its entry's identity) is not taken twice.
    func carry(into reading: inout StoreReading, identities: [String]) {
        for outcome in outcomes {
            guard case let .allocate(contractNumber, lines, _, _, _, paymentInTransit) = outcome.decision,
                  let contract = reading.data.contracts[contractNumber] else { continue }
            // The payment in transit it matched is marked whatever MILES shows; its lines count once.
            let counted = contract.takenBy.contains(outcome.identity)
            reading.data.take(counted ? [] : lines, from: contractNumber, paymentInTransit: paymentInTransit)
            if !counted { reading.data.contracts[contractNumber]?.takenBy.insert(outcome.identity) }
        }
        let stored = Set(outcomes.map(\.identity))
        reading.known.formUnion(identities.filter(stored.contains))
    }
}
