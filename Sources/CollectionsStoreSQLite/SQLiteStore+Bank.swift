import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore: BankStore {
    public func lastClosingBalance(account: String) async throws -> BankBalance? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT id, closing_amount, currency AS closing_currency, closing_mark, closing_date FROM bank_statements WHERE account = ?
                ORDER BY closing_date DESC, id DESC LIMIT 1
                """, arguments: [account]).map { try Self.balance($0, "closing", of: "bank statement \($0["id"] as Int64)") }
        }
    }

    public func receiveBankStatement(_ statement: NewBankStatement, at: Timestamp) async throws -> (statement: StoredBankStatement, isNew: Bool) {
        try transaction { db in
            let header = statement.header
            let gap: BankBalance? = if case let .gap(lastClosing) = statement.continuity { lastClosing } else { nil }
            try db.execute(sql: """
                INSERT OR IGNORE INTO bank_statements (file_sha256, index_in_file, file_name, stored_path, format, account, currency, statement_ref,
                    sequence_number, opening_amount, opening_mark, opening_date, closing_amount, closing_mark, closing_date, entry_count,
                    first_position, positions_done, state, continuity, gap_amount, gap_currency, gap_mark, gap_date, received_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'importing', ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    statement.fileSha256, statement.indexInFile, statement.fileName, statement.storedPath, header.format.rawValue, header.account,
                    header.currency.code, header.statementId, header.sequenceNumber, header.opening.amount.minorUnits, header.opening.mark.rawValue,
                    header.opening.date.daysSinceEpoch, statement.closing.amount.minorUnits, statement.closing.mark.rawValue,
                    statement.closing.date.daysSinceEpoch, statement.entryCount, statement.firstPosition, statement.firstPosition - 1,
                    Self.continuityName(statement.continuity), gap?.amount.minorUnits, gap?.amount.currency.code, gap?.mark.rawValue,
                    gap?.date.daysSinceEpoch, at.millisecondsSinceEpoch,
                ])
            let isNew = db.changesCount == 1
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM bank_statements WHERE file_sha256 = ? AND index_in_file = ?",
                                             arguments: [statement.fileSha256, statement.indexInFile]) else {
                throw StoreError(.changedMeanwhile, input: "bank statement \(statement.fileName)",
                                 "statement \(statement.indexInFile) of \(statement.fileName) was neither stored nor found; import it again")
            }
            let stored = try Self.bankStatement(row)
            if isNew {
                try self.audit(db, at: at, actor: "bank-import", action: "bank.statement-received", subject: "bank-statement:\(stored.id)",
                               details: statement.auditDescription)
            } else {
                try self.audit(db, at: at, actor: "bank-import", action: "bank.statement-duplicate", subject: "bank-statement:\(stored.id)",
                               details: "\(statement.fileName) holds statement \(header.statementId) of \(header.account) again "
                                + "(\(stored.positionsDone - stored.statement.firstPosition + 1) of \(stored.statement.entryCount) entries done)")
            }
            return (stored, isNew)
        }
    }

    public func bankStatement(id: Int64) async throws -> StoredBankStatement? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM bank_statements WHERE id = ?", arguments: [id]).map(Self.bankStatement) }
    }

    public func bankStatements(account: String?, limit: Int) async throws -> [StoredBankStatement] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM bank_statements WHERE ?1 IS NULL OR account = ?1 ORDER BY id DESC LIMIT ?2",
                             arguments: [account, limit]).map(Self.bankStatement)
        }
    }

    /// On the side reader: the import asks while the writer stores its previous batch.
    public nonisolated func storedBankEntryIdentities(_ identities: [String]) async throws -> Set<String> {
        let given = JSONArguments.array(identities)
        return try await sideReader.read { db in
            Set(try String.fetchAll(db.cachedStatement(sql: """
                SELECT e.identity FROM json_each(?) j JOIN bank_entries e ON e.identity = j.value
                """), arguments: [given]))
        }
    }

    /// On the side reader: the import asks while the writer stores its previous batch.
    public nonisolated func bankMatchData(contractNumbers: Set<String>, invoiceNumbers: Set<String>,
                                          payerAccounts: Set<String>) async throws -> BankMatchData {
        let invoices = JSONArguments.array(invoiceNumbers.sorted())
        let payers = JSONArguments.array(payerAccounts.sorted())
        return try await sideReader.read { db in
            var data = BankMatchData()
            let ownerRows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT i.invoice_number, min(i.contract_number) AS contract_number FROM json_each(?) j
                JOIN invoices i ON i.invoice_number = j.value GROUP BY i.invoice_number
                """), arguments: [invoices])
            while let row = try ownerRows.next() {
                data.invoiceOwners[row[0]] = row[1] as String
            }
            let payerRows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT b.account, c.contract_number FROM json_each(?) j JOIN bank_payer_accounts b ON b.account = j.value
                JOIN contracts c ON c.partner_id = b.partner_id ORDER BY b.account, c.contract_number
                """), arguments: [payers])
            while let row = try payerRows.next() {
                data.payerContracts[row[0], default: []].append(row[1])
            }
            let wanted = contractNumbers.union(data.invoiceOwners.values).union(data.payerContracts.values.joined())
            data.contracts = try Self.matchContracts(JSONArguments.array(wanted.sorted()), db)
            return data
        }
    }

    /// The contracts named in `numbers` (a JSON array) as the matching sees them. Each contract is
    /// looked up once: the later queries go by contract number or partner straight to their own
    /// tables, given what they depend on of the contract (its last payment) beside its number.
    /// Columns are read by position: by name, GRDB looks each one up per row.
    private static func matchContracts(_ numbers: String, _ db: Database) throws -> [String: BankMatchContract] {
        var contracts: [String: BankMatchContract] = [:]
        var lastPayment: [(String, Int64?)] = [], partners: [String: [String]] = [:]
        let contractRows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT c.contract_number, c.currency, c.monthly_payment, c.arrears_amount, p.name, c.partner_id, c.last_payment_date
            FROM json_each(?) j JOIN contracts c ON c.contract_number = j.value JOIN customers p ON p.partner_id = c.partner_id
            """), arguments: [numbers])
        while let row = try contractRows.next() {
            let number: String = row[0]
            let currency = try CurrencyCode(row[1])
            contracts[number] = BankMatchContract(
                contractNumber: number, currency: currency, customerName: row[4],
                monthlyPayment: Money(minorUnits: row[2], currency: currency),
                arrears: Money(minorUnits: row[3], currency: currency), openInvoices: [], knownPayerAccounts: [],
                paymentsInTransit: [])
            partners[row[5], default: []].append(number)
            lastPayment.append((number, row[6]))
        }
        guard !contracts.isEmpty else { return contracts }
        let invoiceRows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT i.contract_number, i.invoice_number, i.issue_date, i.due_date, i.amount, i.open_amount FROM json_each(?) j
            JOIN invoices i ON i.contract_number = j.value ORDER BY i.contract_number, i.position
            """), arguments: [numbers])
        while let row = try invoiceRows.next() {
            let number: String = row[0]
            guard let currency = contracts[number]?.currency else { continue }
            contracts[number]?.openInvoices.append(Invoice(
                number: row[1], issueDate: LocalDate(daysSinceEpoch: row[2]), dueDate: LocalDate(daysSinceEpoch: row[3]),
                amount: Money(minorUnits: row[4], currency: currency), openAmount: Money(minorUnits: row[5], currency: currency)))
        }
        for (number, relief) in try reliefInFlight(numbers, awaitingApproval: false, db) {
            guard let contract = contracts[number] else { continue }
            contracts[number]?.openInvoices = ReliefInFlight.open(contract.openInvoices, less: relief)
            contracts[number]?.takenBy = Set(relief.compactMap(\.allocationIdentity))
        }
        let payerAccountRows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT b.partner_id, b.account FROM json_each(?) j JOIN bank_payer_accounts b ON b.partner_id = j.value
            """), arguments: [JSONArguments.array(partners.keys.sorted())])
        while let row = try payerAccountRows.next() {
            for number in partners[row[0]] ?? [] { contracts[number]?.knownPayerAccounts.insert(row[1]) }
        }
        // Paid to an agent after the last payment MILES shows (or with none shown): not yet in MILES, so still in transit.
        let transitRows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT u.contract_number, u.id, u.agent, u.amount, u.currency, u.paid_on, u.agent_reference FROM json_each(?) j
            JOIN third_party_updates u ON u.contract_number = json_extract(j.value, '$[0]')
            WHERE u.kind = 'paymentCollected' AND u.outcome = 'applied' AND u.bank_entry_id IS NULL AND u.paid_on IS NOT NULL
                AND (json_extract(j.value, '$[1]') IS NULL OR json_extract(j.value, '$[1]') < u.paid_on)
            ORDER BY u.id
            """), arguments: [JSONArguments.pairs(lastPayment)])
        while let row = try transitRows.next() {
            let number: String = row[0]
            contracts[number]?.paymentsInTransit.append(PaymentInTransit(
                updateId: row[1], agent: row[2], amount: Money(minorUnits: row[3], currency: try CurrencyCode(row[4])),
                paidOn: LocalDate(daysSinceEpoch: row[5]), agentReference: row[6]))
        }
        return contracts
    }

    public func bankEntryReversed(by reversal: BankEntry, account: String) async throws -> StoredBankEntry? {
        // The most specific reference the reversal carries decides which payment it undoes.
        let (match, arguments): (String, StatementArguments) =
            if let endToEndId = reversal.endToEndId { ("e.end_to_end_id = ?", [endToEndId]) }
            else if let bankReference = reversal.bankReference { ("e.bank_reference = ?", [bankReference]) }
            else { ("e.counterparty_account IS ? AND e.remittance = ?", [reversal.counterpartyAccount, reversal.remittance]) }
        return try read { db in
            try Row.fetchOne(db, sql: """
                SELECT e.* FROM bank_entries e
                WHERE e.account = ? AND e.amount = ? AND e.currency = ? AND e.mark = 'credit' AND e.is_reversal = 0 AND e.booking_date <= ?
                    AND NOT EXISTS (SELECT 1 FROM bank_entries r WHERE r.reverses_entry_id = e.id) AND \(match)
                ORDER BY e.booking_date DESC, e.id DESC LIMIT 1
                """, arguments: [account, reversal.amountReversed.minorUnits, reversal.amountReversed.currency.code, reversal.bookingDate.daysSinceEpoch] + arguments)
                .map { try self.bankEntry(from: $0, db) }
        }
    }

    public func applyBankBatch(statementId: Int64, throughPosition: Int, outcomes: [BankEntryOutcome], by actor: String,
                               at: Timestamp) async throws -> BankBatchResult {
        try transaction { db in
            guard let statement = try Row.fetchOne(db, sql: """
                SELECT account, positions_done FROM bank_statements WHERE id = ? AND state = 'importing'
                """, arguments: [statementId]) else {
                throw StoreError(.wrongState, input: "bank statement \(statementId)", "bank statement \(statementId) is not being imported")
            }
            let account: String = statement["account"]
            let done: Int = statement["positions_done"]
            let door = try OutboxDoor(db)
            let insertEntry = try BulkInsert(db, sql: """
                INSERT OR IGNORE INTO bank_entries (statement_id, account, identity, position, bank_reference, booking_date, value_date, amount,
                    currency, mark, is_reversal, return_reason, remittance, counterparty_name, counterparty_account, end_to_end_id,
                    instructed_amount, instructed_currency, state, reason, candidates, reverses_entry_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let insertAllocation = try AllocationInsert(db)
            let learnPayer = try BulkInsert(db, sql: """
                INSERT OR IGNORE INTO bank_payer_accounts (account, partner_id) SELECT ?, partner_id FROM contracts WHERE contract_number = ?
                """)
            var counts = BankBatchCounts()
            var entryIds = [Int64?](repeating: nil, count: outcomes.count)
            for (index, outcome) in outcomes.enumerated() where outcome.entry.position > done {
                let entry = outcome.entry
                let (state, reason, candidates, reverses) = outcome.decision.storedColumns
                insertEntry.bind(1, statementId)
                insertEntry.bind(2, account)
                insertEntry.bind(3, outcome.identity)
                insertEntry.bind(4, entry.position)
                insertEntry.bind(5, entry.bankReference)
                insertEntry.bind(6, Int(entry.bookingDate.daysSinceEpoch))
                insertEntry.bind(7, Int(entry.valueDate.daysSinceEpoch))
                insertEntry.bind(8, entry.amount.minorUnits)
                insertEntry.bind(9, entry.amount.currency.code)
                insertEntry.bind(10, entry.mark.rawValue)
                insertEntry.bind(11, entry.isReversal ? 1 : 0)
                insertEntry.bind(12, entry.returnReason)
                insertEntry.bind(13, entry.remittance)
                insertEntry.bind(14, entry.counterpartyName)
                insertEntry.bind(15, entry.counterpartyAccount)
                insertEntry.bind(16, entry.endToEndId)
                insertEntry.bind(17, entry.instructedAmount?.minorUnits)
                insertEntry.bind(18, entry.instructedAmount?.currency.code)
                insertEntry.bind(19, state.rawValue)
                insertEntry.bind(20, reason)
                insertEntry.bind(21, candidates)
                insertEntry.bind(22, reverses)
                try insertEntry.run()
                guard db.changesCount == 1 else {
                    counts.alreadyStored += 1
                    continue
                }
                let id = db.lastInsertedRowID
                entryIds[index] = id
                counts.count(state)
                switch outcome.decision {
                case let .allocate(contractNumber, lines, suspense, confidence, reason, paymentInTransit):
                    try insertAllocation.run(PaymentAllocation(
                        id: id, contractNumber: contractNumber, lines: lines, suspense: suspense, valueDate: entry.valueDate, account: account,
                        bankReference: entry.bankReference ?? outcome.identity, allocatedBy: actor, reason: reason, confidence: confidence,
                        state: .pending, milesAllocationId: nil), byHand: false, at: at)
                    try door.enqueue(.allocatePayment, subjectId: id, at: at)
                    if let payer = entry.payerAccount {
                        learnPayer.bind(1, payer)
                        learnPayer.bind(2, contractNumber)
                        try learnPayer.run()
                    }
                    if let update = paymentInTransit {
                        try db.cachedStatement(sql: "UPDATE third_party_updates SET bank_entry_id = ? WHERE id = ? AND bank_entry_id IS NULL")
                            .execute(arguments: [id, update])
                    }
                case let .reverse(originalEntryId, _):
                    try self.undoAllocation(of: originalEntryId, reversal: id, door: door, by: actor, at: at, db)
                case .toCheck, .suspense, .noAction:
                    break
                }
            }
            try db.execute(sql: "UPDATE bank_statements SET positions_done = ? WHERE id = ?", arguments: [throughPosition, statementId])
            try self.audit(db, at: at, actor: actor, action: "bank.batch", subject: "bank-statement:\(statementId)",
                           details: "positions \(done + 1)–\(throughPosition): \(counts)")
            return BankBatchResult(stored: counts.stored, alreadyStored: counts.alreadyStored, entryIds: entryIds)
        }
    }

    /// What undoing the entry `originalId` takes, inside the batch storing `reversal`: an allocation MILES
    /// was never sent is dropped with its outbox entry; one MILES has, or may have, is reversed there; an
    /// entry that was never allocated leaves the queue, as nothing is left to allocate.
    private func undoAllocation(of originalId: Int64, reversal: Int64, door: OutboxDoor, by actor: String, at: Timestamp,
                                _ db: Database) throws {
        let allocation = try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM payment_allocations WHERE id = ?"), arguments: [originalId])
            .flatMap(PaymentAllocation.State.init)
        switch allocation {
        case nil, .refused?:
            try db.cachedStatement(sql: "UPDATE bank_entries SET state = 'noAction', reason = ? WHERE id = ? AND state IN ('toCheck', 'suspense')")
                .execute(arguments: ["returned by bank entry \(reversal)", originalId])
        case .pending?:
            // Pending with no attempt made: no worker has marked it sending, so MILES has never seen it.
            let reference = OutboxKind.allocatePayment.clientReference(forSubject: originalId)
            if let unsent = try Int64.fetchOne(db, sql: "SELECT id FROM outbox WHERE client_reference = ? AND state = 'pending' AND attempts = 0",
                                               arguments: [reference]) {
                let why = "bank entry \(reversal) returned the payment before it was sent"
                try db.execute(sql: """
                    UPDATE outbox SET state = 'skipped', last_error = ?, updated_at = ?, fence = fence + 1, \(Self.noLease) WHERE id = ?
                    """, arguments: [why, at.millisecondsSinceEpoch, unsent])
                try db.execute(sql: "UPDATE payment_allocations SET state = 'reversed' WHERE id = ?", arguments: [originalId])
                try self.audit(db, at: at, actor: actor, action: "outbox.skipped", subject: "outbox:\(unsent)", details: why)
            } else {
                try self.queueReversal(of: originalId, door: door, at: at, db)
            }
        case .allocated?:
            try self.queueReversal(of: originalId, door: door, at: at, db)
        case .reversing?, .reversed?:
            break
        }
    }

    private func queueReversal(of allocationId: Int64, door: OutboxDoor, at: Timestamp, _ db: Database) throws {
        try db.execute(sql: "UPDATE payment_allocations SET state = 'reversing' WHERE id = ?", arguments: [allocationId])
        try door.enqueue(.reverseAllocation, subjectId: allocationId, at: at)
    }

    public func finishBankStatement(id: Int64, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: "UPDATE bank_statements SET state = 'imported', finished_at = ? WHERE id = ? AND state = 'importing'",
                           arguments: [at.millisecondsSinceEpoch, id])
            guard db.changesCount == 1 else {
                throw StoreError(.wrongState, input: "bank statement \(id)", "bank statement \(id) is not being imported")
            }
            try self.audit(db, at: at, actor: "bank-import", action: "bank.statement-imported", subject: "bank-statement:\(id)",
                           details: "every entry stored and decided")
        }
    }

    public func bankEntry(id: Int64) async throws -> StoredBankEntry? {
        try read { db in try self.bankEntry(id: id, db) }
    }

    func bankEntry(id: Int64, _ db: Database) throws -> StoredBankEntry? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM bank_entries WHERE id = ?"), arguments: [id]).map { try self.bankEntry(from: $0, db) }
    }

    public func bankEntries(state: BankEntryState, limit: Int) async throws -> [StoredBankEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM bank_entries WHERE state = ? ORDER BY booking_date, id LIMIT ?", arguments: [state.rawValue, limit])
                .map { try self.bankEntry(from: $0, db) }
        }
    }

    public func bankSuspense(limit: Int) async throws -> [StoredBankEntry] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT e.* FROM bank_entries e LEFT JOIN payment_allocations a ON a.id = e.id
                WHERE e.state = 'suspense' OR (e.state = 'allocated' AND a.suspense > 0 AND a.state IN ('pending', 'allocated'))
                ORDER BY e.booking_date, e.id LIMIT ?
                """, arguments: [limit]).map { try self.bankEntry(from: $0, db) }
        }
    }

    public func allocateBankEntry(id: Int64, contractNumber: String, lines: [AllocationLine], suspense: Money, reason: String, by actor: String,
                                  at: Timestamp) async throws -> PaymentAllocation {
        try transaction { db in
            try db.execute(sql: "UPDATE bank_entries SET state = 'allocated', reason = NULL WHERE id = ? AND state IN ('toCheck', 'suspense')",
                           arguments: [id])
            guard db.changesCount == 1 else {
                guard let state = try String.fetchOne(db, sql: "SELECT state FROM bank_entries WHERE id = ?", arguments: [id]) else {
                    throw StoreError(.notFound, input: "bank entry \(id)", "there is no bank entry \(id)")
                }
                throw StoreError(.wrongState, input: "bank entry \(id)",
                                 "bank entry \(id) is \(state), not waiting in the queue or in suspense: it cannot be allocated by hand")
            }
            guard let entry = try self.bankEntry(id: id, db) else {
                throw StoreError(.notFound, input: "bank entry \(id)", "there is no bank entry \(id)")
            }
            let reference = OutboxKind.allocatePayment.clientReference(forSubject: id)
            let earlier = try Row.fetchOne(db, sql: "SELECT id, state FROM outbox WHERE client_reference = ?", arguments: [reference])
            if let earlier, !["deadLetter", "skipped"].contains(earlier["state"] as String) {
                throw StoreError(.wrongState, input: "bank entry \(id)",
                                 "bank entry \(id)'s allocation is being sent to MILES again (outbox entry \(earlier["id"] as Int64)); wait for its answer")
            }
            // MILES refused the earlier allocation: this one replaces it, under the same client reference.
            try db.execute(sql: "DELETE FROM payment_allocations WHERE id = ? AND state = 'refused'", arguments: [id])
            let allocation = PaymentAllocation(
                id: id, contractNumber: contractNumber, lines: lines, suspense: suspense, valueDate: entry.entry.valueDate, account: entry.account,
                bankReference: entry.entry.bankReference ?? entry.identity, allocatedBy: actor, reason: reason, confidence: 100, state: .pending,
                milesAllocationId: nil)
            try AllocationInsert(db).run(allocation, byHand: true, at: at)
            if let earlier {
                try db.execute(sql: """
                    UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?, last_error = NULL, fence = fence + 1,
                        \(Self.noLease) WHERE id = ?
                    """, arguments: [at.millisecondsSinceEpoch, at.millisecondsSinceEpoch, earlier["id"] as Int64])
            } else {
                try OutboxDoor(db).enqueue(.allocatePayment, subjectId: id, at: at)
            }
            if let payer = entry.entry.payerAccount {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO bank_payer_accounts (account, partner_id) SELECT ?, partner_id FROM contracts WHERE contract_number = ?
                    """, arguments: [payer, contractNumber])
            }
            try self.audit(db, at: at, actor: actor, action: "bank.allocated", subject: "bank-entry:\(id)",
                           details: allocation.auditDescription(of: entry.entry.amount))
            return allocation
        }
    }

    public func bankDayReport(date: LocalDate) async throws -> [BankDayReport] {
        try read { db in
            var reports: [String: BankDayReport] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: """
                SELECT e.currency, CASE
                        WHEN e.is_reversal THEN 'reversals' WHEN e.mark = 'debit' THEN 'outgoing'
                        WHEN e.state = 'allocated' AND a.by_hand THEN 'allocatedByHand' WHEN e.state = 'allocated' THEN 'allocatedAutomatically'
                        WHEN e.state = 'toCheck' THEN 'waiting' WHEN e.state = 'suspense' THEN 'inSuspense' ELSE 'returned' END AS line,
                    count(*) AS n, sum(e.amount) AS total,
                    sum(CASE WHEN e.state = 'allocated' AND NOT e.is_reversal AND a.suspense > 0 THEN 1 ELSE 0 END) AS overpaid_n,
                    sum(CASE WHEN e.state = 'allocated' AND NOT e.is_reversal THEN coalesce(a.suspense, 0) ELSE 0 END) AS overpaid
                FROM bank_entries e LEFT JOIN payment_allocations a ON a.id = e.id WHERE e.booking_date = ?
                GROUP BY e.currency, line ORDER BY e.currency
                """), arguments: [date.daysSinceEpoch]) {
                let currency = try CurrencyCode(row["currency"])
                var report = reports[currency.code] ?? BankDayReport.empty(date: date, currency: currency)
                report.add(line: row["line"], count: row["n"], minorUnits: row["total"], overpaidCount: row["overpaid_n"],
                           overpaidMinorUnits: row["overpaid"])
                reports[currency.code] = report
            }
            return reports.keys.sorted().compactMap { reports[$0] }
        }
    }

    func paymentAllocation(id: Int64, _ db: Database) throws -> PaymentAllocation? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM payment_allocations WHERE id = ?"), arguments: [id]).map(Self.paymentAllocation)
    }

    public func recordAllocationPosted(_ entry: OutboxEntry, milesAllocationId: String, at: Timestamp) async throws {
        try transaction { db in
            let id = try self.markSent(entry, result: milesAllocationId, at: at, db)
            // A return stored while MILES was allocating it keeps the allocation reversing.
            try db.execute(sql: """
                UPDATE payment_allocations SET state = CASE WHEN state IN ('pending', 'refused') THEN 'allocated' ELSE state END,
                    miles_allocation_id = ?, failure_reason = NULL WHERE id = ?
                """, arguments: [milesAllocationId, id])
            // A refused allocation retried by a person takes its entry out of the queue once MILES has it.
            try db.execute(sql: "UPDATE bank_entries SET state = 'allocated', reason = NULL WHERE id = ? AND state = 'toCheck'", arguments: [id])
            try self.audit(db, at: at, actor: "outbox-relay", action: "allocation.posted", subject: "bank-entry:\(id)",
                           details: "MILES allocation \(milesAllocationId), reference \(entry.clientReference)")
        }
    }

    public func recordAllocationReversed(_ entry: OutboxEntry, at: Timestamp) async throws {
        try transaction { db in
            let id = try self.markSent(entry, result: "reversed", at: at, db)
            try db.execute(sql: "UPDATE payment_allocations SET state = 'reversed', failure_reason = NULL WHERE id = ?", arguments: [id])
            try self.audit(db, at: at, actor: "outbox-relay", action: "allocation.reversed", subject: "bank-entry:\(id)",
                           details: "reversed in MILES, reference \(entry.clientReference)")
        }
    }

    // MARK: - Rows and columns

    private func bankEntry(from row: Row, _ db: Database) throws -> StoredBankEntry {
        let id: Int64 = row["id"]
        let input = "bank entry \(id)"
        guard let mark = CreditDebit(rawValue: row["mark"]), let state = BankEntryState(rawValue: row["state"]) else {
            throw StoreError(.corruptRecord, input: input, "\(input) has an unknown mark or state in the store")
        }
        let currency = try CurrencyCode(row["currency"])
        let instructed: Money? = if let amount = row["instructed_amount"] as Int64?, let code = row["instructed_currency"] as String? {
            Money(minorUnits: amount, currency: try CurrencyCode(code))
        } else { nil }
        let entry = BankEntry(
            position: row["position"], bankReference: row["bank_reference"], bookingDate: LocalDate(daysSinceEpoch: row["booking_date"]),
            valueDate: LocalDate(daysSinceEpoch: row["value_date"]), amount: Money(minorUnits: row["amount"], currency: currency), mark: mark,
            isReversal: row["is_reversal"], returnReason: row["return_reason"], remittance: row["remittance"],
            counterpartyName: row["counterparty_name"], counterpartyAccount: row["counterparty_account"], endToEndId: row["end_to_end_id"],
            instructedAmount: instructed)
        return StoredBankEntry(
            id: id, statementId: row["statement_id"], account: row["account"], identity: row["identity"], entry: entry, state: state,
            reason: row["reason"], candidates: try StoredBankValues.candidates(row["candidates"], of: input),
            allocation: try paymentAllocation(id: id, db), reversesEntryId: row["reverses_entry_id"])
    }

    private static func paymentAllocation(_ row: Row) throws -> PaymentAllocation {
        let id: Int64 = row["id"]
        let input = "payment allocation \(id)"
        guard let state = PaymentAllocation.State(rawValue: row["state"]) else {
            throw StoreError(.corruptRecord, input: input, "\(input) has an unknown state in the store")
        }
        let currency = try CurrencyCode(row["currency"])
        return PaymentAllocation(
            id: id, contractNumber: row["contract_number"],
            lines: try StoredBankValues.lines(row["lines"], of: input)
                .map { AllocationLine(invoiceNumber: $0.invoice, amount: Money(minorUnits: $0.amount, currency: currency)) },
            suspense: Money(minorUnits: row["suspense"], currency: currency), valueDate: LocalDate(daysSinceEpoch: row["value_date"]),
            account: row["account"], bankReference: row["bank_reference"], allocatedBy: row["allocated_by"], reason: row["reason"],
            confidence: row["confidence"], state: state, milesAllocationId: row["miles_allocation_id"])
    }

    static func bankStatement(_ row: Row) throws -> StoredBankStatement {
        let id: Int64 = row["id"]
        let input = "bank statement \(id)"
        guard let format = BankStatementFormat(rawValue: row["format"]), let state = StoredBankStatement.State(rawValue: row["state"]) else {
            throw StoreError(.corruptRecord, input: input, "\(input) has an unknown format or state in the store")
        }
        let continuity: StatementContinuity
        switch row["continuity"] as String {
        case "first": continuity = .first
        case "follows": continuity = .follows
        case "gap": continuity = .gap(lastClosing: try balance(row, "gap", of: input))
        default: throw StoreError(.corruptRecord, input: input, "\(input) has an unknown continuity in the store")
        }
        let header = BankStatementHeader(
            format: format, account: row["account"], currency: try CurrencyCode(row["currency"]), statementId: row["statement_ref"],
            sequenceNumber: row["sequence_number"], opening: try balance(row, "opening", currency: row["currency"], of: input))
        return StoredBankStatement(
            id: id,
            statement: NewBankStatement(
                header: header, closing: try balance(row, "closing", currency: row["currency"], of: input), entryCount: row["entry_count"],
                firstPosition: row["first_position"], fileSha256: row["file_sha256"], indexInFile: row["index_in_file"],
                fileName: row["file_name"], storedPath: row["stored_path"], continuity: continuity),
            positionsDone: row["positions_done"], state: state, receivedAt: Timestamp(millisecondsSinceEpoch: row["received_at"]))
    }

    /// The balance in the columns `prefix`_amount, _mark and _date, in `currency` or the column `prefix`_currency.
    private static func balance(_ row: Row, _ prefix: String, currency: String? = nil, of input: String) throws -> BankBalance {
        guard let mark = CreditDebit(rawValue: row["\(prefix)_mark"]) else {
            throw StoreError(.corruptRecord, input: input, "\(input) has an unknown \(prefix) balance mark in the store")
        }
        return BankBalance(amount: Money(minorUnits: row["\(prefix)_amount"], currency: try CurrencyCode(currency ?? row["\(prefix)_currency"])),
                           mark: mark, date: LocalDate(daysSinceEpoch: row["\(prefix)_date"]))
    }

    private static func continuityName(_ continuity: StatementContinuity) -> String {
        switch continuity {
        case .first: "first"
        case .follows: "follows"
        case .gap: "gap"
        }
    }
}

/// A payment allocation's row, inserted as many times as a batch allocates.
private struct AllocationInsert {
    private let insert: BulkInsert

    init(_ db: Database) throws {
        insert = try BulkInsert(db, sql: """
            INSERT INTO payment_allocations (id, contract_number, lines, allocated, suspense, currency, value_date, account, bank_reference,
                allocated_by, by_hand, reason, confidence, state, allocated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
    }

    func run(_ allocation: PaymentAllocation, byHand: Bool, at: Timestamp) throws {
        insert.bind(1, allocation.id)
        insert.bind(2, allocation.contractNumber)
        insert.bind(3, StoredBankValues.join(allocation.lines))
        insert.bind(4, allocation.allocated.minorUnits)
        insert.bind(5, allocation.suspense.minorUnits)
        insert.bind(6, allocation.suspense.currency.code)
        insert.bind(7, Int(allocation.valueDate.daysSinceEpoch))
        insert.bind(8, allocation.account)
        insert.bind(9, allocation.bankReference)
        insert.bind(10, allocation.allocatedBy)
        insert.bind(11, byHand ? 1 : 0)
        insert.bind(12, allocation.reason)
        insert.bind(13, allocation.confidence)
        insert.bind(14, allocation.state.rawValue)
        insert.bind(15, at.millisecondsSinceEpoch)
        try insert.run()
    }
}
