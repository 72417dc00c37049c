import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: BankStore {
    public func lastClosingBalance(account: String) async throws -> BankBalance? {
        try await read { [self] connection in
            try await rows("""
                SELECT id, closing_amount, currency AS closing_currency, closing_mark, closing_date FROM bank_statements WHERE account = \(account)
                ORDER BY closing_date DESC, id DESC LIMIT 1
                """, on: connection).first.map { try Self.balance($0, "closing", of: "bank statement \(try $0.value("id", as: Int64.self))") }
        }
    }

    public func receiveBankStatement(_ statement: NewBankStatement, at: Timestamp) async throws -> (statement: StoredBankStatement, isNew: Bool) {
        try await transaction { [self] connection in
            let header = statement.header
            let gap: BankBalance? = if case let .gap(lastClosing) = statement.continuity { lastClosing } else { nil }
            // The unique (file_sha256, index_in_file) decides which of two processes importing the same file stores the statement.
            let inserted = try await rows("""
                INSERT INTO bank_statements (file_sha256, index_in_file, file_name, stored_path, format, account, currency, statement_ref,
                    sequence_number, opening_amount, opening_mark, opening_date, closing_amount, closing_mark, closing_date, entry_count,
                    first_position, positions_done, state, continuity, gap_amount, gap_currency, gap_mark, gap_date, received_at)
                VALUES (\(statement.fileSha256), \(statement.indexInFile), \(statement.fileName), \(statement.storedPath), \(header.format.rawValue),
                    \(header.account), \(header.currency.code), \(header.statementId), \(header.sequenceNumber), \(header.opening.amount.minorUnits),
                    \(header.opening.mark.rawValue), \(header.opening.date.daysSinceEpoch), \(statement.closing.amount.minorUnits),
                    \(statement.closing.mark.rawValue), \(statement.closing.date.daysSinceEpoch), \(statement.entryCount), \(statement.firstPosition),
                    \(statement.firstPosition - 1), 'importing', \(Self.continuityName(statement.continuity)), \(gap?.amount.minorUnits),
                    \(gap?.amount.currency.code), \(gap?.mark.rawValue), \(gap?.date.daysSinceEpoch), \(at.millisecondsSinceEpoch))
                ON CONFLICT (file_sha256, index_in_file) DO NOTHING RETURNING *
                """, on: connection)
            if let row = inserted.first {
                let stored = try Self.bankStatement(row)
                try await audit(connection, at: at, actor: "bank-import", action: "bank.statement-received", subject: "bank-statement:\(stored.id)",
                                details: statement.auditDescription)
                return (stored, true)
            }
            guard let row = try await rows("""
                SELECT * FROM bank_statements WHERE file_sha256 = \(statement.fileSha256) AND index_in_file = \(statement.indexInFile)
                """, on: connection).first else {
                throw StoreError(.changedMeanwhile, input: "bank statement \(statement.fileName)",
                                 "statement \(statement.indexInFile) of \(statement.fileName) was neither stored nor found; import it again")
            }
            let stored = try Self.bankStatement(row)
            try await audit(connection, at: at, actor: "bank-import", action: "bank.statement-duplicate", subject: "bank-statement:\(stored.id)",
                            details: "\(statement.fileName) holds statement \(header.statementId) of \(header.account) again "
                              + "(\(stored.positionsDone - stored.statement.firstPosition + 1) of \(stored.statement.entryCount) entries done)")
            return (stored, false)
        }
    }

    public func bankStatement(id: Int64) async throws -> StoredBankStatement? {
        try await read { [self] connection in
            try await rows("SELECT * FROM bank_statements WHERE id = \(id)", on: connection).first.map(Self.bankStatement)
        }
    }

    public func bankStatements(account: String?, limit: Int) async throws -> [StoredBankStatement] {
        try await read { [self] connection in
            try await rows("""
                SELECT * FROM bank_statements WHERE \(account)::text IS NULL OR account = \(account) ORDER BY id DESC LIMIT \(limit)
                """, on: connection).map(Self.bankStatement)
        }
    }

    public func storedBankEntryIdentities(_ identities: [String]) async throws -> Set<String> {
        guard !identities.isEmpty else { return [] }
        return try await read { [self] connection in
            Set(try await rows("SELECT identity FROM bank_entries WHERE identity = ANY(\(identities))", on: connection)
                .map { try $0.value("identity", as: String.self) })
        }
    }

    public func bankMatchData(contractNumbers: Set<String>, invoiceNumbers: Set<String>, payerAccounts: Set<String>) async throws -> BankMatchData {
        try await snapshot { [self] connection in
            var data = BankMatchData()
            for row in try await rows("""
                SELECT invoice_number, min(contract_number) AS contract_number FROM invoices WHERE invoice_number = ANY(\(invoiceNumbers.sorted()))
                GROUP BY invoice_number
                """, on: connection) {
                data.invoiceOwners[try row.value("invoice_number")] = try row.value("contract_number", as: String.self)
            }
            for row in try await rows("""
                SELECT b.account, c.contract_number FROM bank_payer_accounts b JOIN contracts c ON c.partner_id = b.partner_id
                WHERE b.account = ANY(\(payerAccounts.sorted())) ORDER BY b.account, c.contract_number
                """, on: connection) {
                data.payerContracts[try row.value("account"), default: []].append(try row.value("contract_number"))
            }
            let wanted = contractNumbers.union(data.invoiceOwners.values).union(data.payerContracts.values.joined())
            data.contracts = try await matchContracts(wanted.sorted(), on: connection)
            return data
        }
    }

    /// The contracts `numbers` as the matching sees them.
    private func matchContracts(_ numbers: [String], on connection: PostgresConnection) async throws -> [String: BankMatchContract] {
        var contracts: [String: BankMatchContract] = [:]
        for row in try await rows("""
            SELECT c.contract_number, c.currency, c.monthly_payment, c.arrears_amount, p.name FROM contracts c
            JOIN customers p ON p.partner_id = c.partner_id WHERE c.contract_number = ANY(\(numbers))
            """, on: connection) {
            let currency = try CurrencyCode(try row.value("currency", as: String.self))
            contracts[try row.value("contract_number")] = BankMatchContract(
                contractNumber: try row.value("contract_number"), currency: currency, customerName: try row.value("name"),
                monthlyPayment: Money(minorUnits: try row.value("monthly_payment"), currency: currency),
                arrears: Money(minorUnits: try row.value("arrears_amount"), currency: currency), openInvoices: [], knownPayerAccounts: [],
                paymentsInTransit: [])
        }
        for row in try await rows("SELECT * FROM invoices WHERE contract_number = ANY(\(numbers)) ORDER BY contract_number, position", on: connection) {
            let number = try row.value("contract_number", as: String.self)
            guard let currency = contracts[number]?.currency else { continue }
            contracts[number]?.openInvoices.append(try Self.invoice(row, currency: currency))
        }
        for (number, relief) in try await reliefInFlight(numbers, awaitingApproval: false, on: connection) {
            guard let contract = contracts[number] else { continue }
            contracts[number]?.openInvoices = ReliefInFlight.open(contract.openInvoices, less: relief)
            contracts[number]?.takenBy = Set(relief.compactMap(\.allocationIdentity))
        }
        for row in try await rows("""
            SELECT c.contract_number, b.account FROM contracts c JOIN bank_payer_accounts b ON b.partner_id = c.partner_id
            WHERE c.contract_number = ANY(\(numbers))
            """, on: connection) {
            contracts[try row.value("contract_number")]?.knownPayerAccounts.insert(try row.value("account"))
        }
        for row in try await rows("""
            SELECT u.* FROM third_party_updates u JOIN contracts c ON c.contract_number = u.contract_number
            WHERE u.contract_number = ANY(\(numbers)) AND u.kind = 'paymentCollected' AND u.outcome = 'applied' AND u.bank_entry_id IS NULL
                AND (c.last_payment_date IS NULL OR c.last_payment_date < u.paid_on)
            ORDER BY u.id
            """, on: connection) {
            contracts[try row.value("contract_number")]?.paymentsInTransit.append(PaymentInTransit(
                updateId: try row.value("id"), agent: try row.value("agent"),
                amount: Money(minorUnits: try row.value("amount"), currency: try CurrencyCode(try row.value("currency", as: String.self))),
                paidOn: try row.date("paid_on"), agentReference: try row.value("agent_reference")))
        }
        return contracts
    }

    public func bankEntryReversed(by reversal: BankEntry, account: String) async throws -> StoredBankEntry? {
        // The most specific reference the reversal carries decides which payment it undoes.
        var query: PostgresQuery = """
            SELECT e.* FROM bank_entries e
            WHERE e.account = \(account) AND e.amount = \(reversal.amountReversed.minorUnits) AND e.currency = \(reversal.amount.currency.code)
                AND e.mark = 'credit' AND NOT e.is_reversal AND e.booking_date <= \(reversal.bookingDate.daysSinceEpoch)
                AND NOT EXISTS (SELECT 1 FROM bank_entries r WHERE r.reverses_entry_id = e.id)
            """
        if let endToEndId = reversal.endToEndId {
            query.sql += " AND e.end_to_end_id = $\(query.binds.count + 1)"
            query.binds.append(endToEndId)
        } else if let bankReference = reversal.bankReference {
            query.sql += " AND e.bank_reference = $\(query.binds.count + 1)"
            query.binds.append(bankReference)
        } else {
            query.sql += " AND e.counterparty_account IS NOT DISTINCT FROM $\(query.binds.count + 1)::text AND e.remittance = $\(query.binds.count + 2)"
            query.binds.append(reversal.counterpartyAccount)
            query.binds.append(reversal.remittance)
        }
        query.sql += " ORDER BY e.booking_date DESC, e.id DESC LIMIT 1"
        let found = query
        return try await read { [self] connection in
            guard let row = try await rows(found, on: connection).first else { return nil }
            return try await bankEntries([row], on: connection).first
        }
    }

    public func applyBankBatch(statementId: Int64, throughPosition: Int, outcomes: [BankEntryOutcome], by actor: String,
                               at: Timestamp) async throws -> BankBatchResult {
        try await transaction { [self] connection in
            // The statement's row stays locked until the batch commits: a second process applying the
            // same batch waits, then finds its positions done.
            guard let statement = try await rows("""
                SELECT account, positions_done FROM bank_statements WHERE id = \(statementId) AND state = 'importing' FOR UPDATE
                """, on: connection).first else {
                throw StoreError(.wrongState, input: "bank statement \(statementId)", "bank statement \(statementId) is not being imported")
            }
            let account = try statement.value("account", as: String.self)
            let done = try statement.value("positions_done", as: Int.self)
            let batch = outcomes.filter { $0.entry.position > done }
            let ids = try await insertEntries(batch, statementId: statementId, account: account, on: connection)
            var counts = BankBatchCounts()
            var allocations = AllocationColumns()
            var reversals: [(original: Int64, reversal: Int64)] = []
            var entryIds = [Int64?](repeating: nil, count: outcomes.count)
            var taken: Set<String> = []
            for (index, outcome) in outcomes.enumerated() where outcome.entry.position > done {
                // An identity twice in one batch is stored once, with the first decision.
                guard let id = ids[outcome.identity], taken.insert(outcome.identity).inserted else {
                    counts.alreadyStored += 1
                    continue
                }
                entryIds[index] = id
                let entry = outcome.entry
                counts.count(Self.stored(outcome.decision).state)
                switch outcome.decision {
                case let .allocate(contractNumber, lines, suspense, confidence, reason, paymentInTransit):
                    allocations.append(PaymentAllocation(
                        id: id, contractNumber: contractNumber, lines: lines, suspense: suspense, valueDate: entry.valueDate, account: account,
                        bankReference: entry.bankReference ?? outcome.identity, allocatedBy: actor, reason: reason, confidence: confidence,
                        state: .pending, milesAllocationId: nil), payer: entry.payerAccount, paymentInTransit: paymentInTransit)
                case let .reverse(originalEntryId, _):
                    reversals.append((originalEntryId, id))
                case .toCheck, .suspense, .noAction:
                    break
                }
            }
            try await insert(allocations, byHand: false, queueing: true, at: at, on: connection)
            for (original, reversal) in reversals {
                try await undoAllocation(of: original, reversal: reversal, by: actor, at: at, on: connection)
            }
            try await connection.query("UPDATE bank_statements SET positions_done = \(throughPosition) WHERE id = \(statementId)", logger: logger)
            try await audit(connection, at: at, actor: actor, action: "bank.batch", subject: "bank-statement:\(statementId)",
                            details: "positions \(done + 1)–\(throughPosition): \(counts)")
            return BankBatchResult(stored: counts.stored, alreadyStored: counts.alreadyStored, entryIds: entryIds)
        }
    }

    /// The batch's entries in one statement; an identity stored already is left as it is. Returns the id of each entry stored now, by identity.
    private func insertEntries(_ outcomes: [BankEntryOutcome], statementId: Int64, account: String,
                               on connection: PostgresConnection) async throws -> [String: Int64] {
        guard !outcomes.isEmpty else { return [:] }
        let columns = EntryColumns(outcomes)
        var ids: [String: Int64] = [:]
        for row in try await rows("""
            INSERT INTO bank_entries (statement_id, account, identity, position, bank_reference, booking_date, value_date, amount, currency, mark,
                is_reversal, return_reason, remittance, counterparty_name, counterparty_account, end_to_end_id, instructed_amount,
                instructed_currency, state, reason, candidates, reverses_entry_id)
            SELECT \(statementId), \(account), identity, position, nullif(bank_reference, ''), booking_date, value_date, amount, currency, mark,
                is_reversal, nullif(return_reason, ''), remittance, nullif(counterparty_name, ''), nullif(counterparty_account, ''),
                nullif(end_to_end_id, ''), CASE WHEN instructed_currency <> '' THEN instructed_amount END, nullif(instructed_currency, ''),
                state, nullif(reason, ''), candidates, nullif(reverses_entry_id, 0)
            FROM unnest(\(columns.identities), \(columns.positions), \(columns.bankReferences), \(columns.bookingDates), \(columns.valueDates),
                        \(columns.amounts), \(columns.currencies), \(columns.marks), \(columns.isReversal), \(columns.returnReasons),
                        \(columns.remittances), \(columns.counterpartyNames), \(columns.counterpartyAccounts), \(columns.endToEndIds),
                        \(columns.instructedAmounts), \(columns.instructedCurrencies), \(columns.states), \(columns.reasons), \(columns.candidates),
                        \(columns.reverses))
                WITH ORDINALITY AS given (identity, position, bank_reference, booking_date, value_date, amount, currency, mark, is_reversal,
                    return_reason, remittance, counterparty_name, counterparty_account, end_to_end_id, instructed_amount, instructed_currency,
                    state, reason, candidates, reverses_entry_id, ordinal)
            ORDER BY ordinal
            ON CONFLICT (identity) DO NOTHING RETURNING id, identity
            """, on: connection) {
            ids[try row.value("identity")] = try row.value("id", as: Int64.self)
        }
        return ids
    }

    /// The allocations (with their outbox entries when `queueing`), the payer accounts they teach and the payments in transit they
    /// matched, a statement each.
    private func insert(_ allocations: AllocationColumns, byHand: Bool, queueing: Bool, at: Timestamp, on connection: PostgresConnection) async throws {
        guard !allocations.ids.isEmpty else { return }
        try await connection.query("""
            INSERT INTO payment_allocations (id, contract_number, lines, allocated, suspense, currency, value_date, account, bank_reference,
                allocated_by, by_hand, reason, confidence, state, allocated_at)
            SELECT id, contract_number, lines, allocated, suspense, currency, value_date, account, bank_reference, allocated_by, \(byHand), reason,
                confidence, 'pending', \(at.millisecondsSinceEpoch)
            FROM unnest(\(allocations.ids), \(allocations.contractNumbers), \(allocations.lines), \(allocations.allocated), \(allocations.suspense),
                        \(allocations.currencies), \(allocations.valueDates), \(allocations.accounts), \(allocations.bankReferences),
                        \(allocations.allocatedBy), \(allocations.reasons), \(allocations.confidences))
                AS given (id, contract_number, lines, allocated, suspense, currency, value_date, account, bank_reference, allocated_by, reason,
                          confidence)
            """, logger: logger)
        let kind = OutboxKind.allocatePayment
        if queueing {
            try await connection.query("""
                INSERT INTO outbox (kind, client_reference, subject_id, state, next_attempt_at, created_at, updated_at)
                SELECT \(kind.rawValue), reference, id, 'pending', \(at.millisecondsSinceEpoch), \(at.millisecondsSinceEpoch), \(at.millisecondsSinceEpoch)
                FROM unnest(\(allocations.ids), \(allocations.ids.map(kind.clientReference(forSubject:)))) WITH ORDINALITY AS given (id, reference, ordinal)
                ORDER BY ordinal
                """, logger: logger)
        }
        if !allocations.payers.isEmpty {
            try await connection.query("""
                INSERT INTO bank_payer_accounts (account, partner_id)
                SELECT DISTINCT given.account, c.partner_id
                FROM unnest(\(allocations.payers), \(allocations.payerContracts)) AS given (account, contract_number), contracts c
                WHERE c.contract_number = given.contract_number
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        if !allocations.transitEntries.isEmpty {
            try await connection.query("""
                UPDATE third_party_updates u SET bank_entry_id = given.entry
                FROM unnest(\(allocations.transitEntries), \(allocations.transitUpdates)) AS given (entry, update_id)
                WHERE u.id = given.update_id AND u.bank_entry_id IS NULL
                """, logger: logger)
        }
    }

    /// What undoing the entry `originalId` takes, inside the batch storing `reversal`: an allocation MILES
    /// was never sent is dropped with its outbox entry; one MILES has, or may have, is reversed there; an
    /// entry that was never allocated leaves the queue, as nothing is left to allocate.
    private func undoAllocation(of originalId: Int64, reversal: Int64, by actor: String, at: Timestamp, on connection: PostgresConnection) async throws {
        let state = try await rows("SELECT state FROM payment_allocations WHERE id = \(originalId) FOR UPDATE", on: connection)
            .first.map { try $0.value("state", as: String.self) }.flatMap(PaymentAllocation.State.init)
        switch state {
        case nil, .refused?:
            try await connection.query("""
                UPDATE bank_entries SET state = 'noAction', reason = \("returned by bank entry \(reversal)")
                WHERE id = \(originalId) AND state IN ('toCheck', 'suspense')
                """, logger: logger)
        case .pending?:
            // Pending with no attempt made: no worker has marked it sending (the row is locked until this commits), so MILES has never seen it.
            let why = "bank entry \(reversal) returned the payment before it was sent"
            if let unsent = try await rows("""
                UPDATE outbox SET state = 'skipped', last_error = \(why), updated_at = \(at.millisecondsSinceEpoch), fence = fence + 1,
                    \(unescaped: Self.noLease)
                WHERE client_reference = \(OutboxKind.allocatePayment.clientReference(forSubject: originalId)) AND state = 'pending' AND attempts = 0
                RETURNING id
                """, on: connection).first {
                try await connection.query("UPDATE payment_allocations SET state = 'reversed' WHERE id = \(originalId)", logger: logger)
                try await audit(connection, at: at, actor: actor, action: "outbox.skipped", subject: "outbox:\(try unsent.value("id", as: Int64.self))",
                                details: why)
            } else {
                try await queueReversal(of: originalId, at: at, on: connection)
            }
        case .allocated?:
            try await queueReversal(of: originalId, at: at, on: connection)
        case .reversing?, .reversed?:
            break
        }
    }

    private func queueReversal(of allocationId: Int64, at: Timestamp, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE payment_allocations SET state = 'reversing' WHERE id = \(allocationId)", logger: logger)
        _ = try await enqueue(.reverseAllocation, subjectId: allocationId, at: at, on: connection)
    }

    public func finishBankStatement(id: Int64, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let finished = try await rows("""
                UPDATE bank_statements SET state = 'imported', finished_at = \(at.millisecondsSinceEpoch) WHERE id = \(id) AND state = 'importing'
                RETURNING id
                """, on: connection)
            guard !finished.isEmpty else {
                throw StoreError(.wrongState, input: "bank statement \(id)", "bank statement \(id) is not being imported")
            }
            try await audit(connection, at: at, actor: "bank-import", action: "bank.statement-imported", subject: "bank-statement:\(id)",
                            details: "every entry stored and decided")
        }
    }

    public func bankEntry(id: Int64) async throws -> StoredBankEntry? {
        try await read { [self] connection in
            try await bankEntries(rows("SELECT * FROM bank_entries WHERE id = \(id)", on: connection), on: connection).first
        }
    }

    public func bankEntries(state: BankEntryState, limit: Int) async throws -> [StoredBankEntry] {
        try await read { [self] connection in
            try await bankEntries(rows("""
                SELECT * FROM bank_entries WHERE state = \(state.rawValue) ORDER BY booking_date, id LIMIT \(limit)
                """, on: connection), on: connection)
        }
    }

    public func bankSuspense(limit: Int) async throws -> [StoredBankEntry] {
        try await read { [self] connection in
            try await bankEntries(rows("""
                SELECT e.* FROM bank_entries e LEFT JOIN payment_allocations a ON a.id = e.id
                WHERE e.state = 'suspense' OR (e.state = 'allocated' AND a.suspense > 0 AND a.state IN ('pending', 'allocated'))
                ORDER BY e.booking_date, e.id LIMIT \(limit)
                """, on: connection), on: connection)
        }
    }

    public func allocateBankEntry(id: Int64, contractNumber: String, lines: [AllocationLine], suspense: Money, reason: String, by actor: String,
                                  at: Timestamp) async throws -> PaymentAllocation {
        try await transaction { [self] connection in
            guard let row = try await rows("""
                UPDATE bank_entries SET state = 'allocated', reason = NULL WHERE id = \(id) AND state IN ('toCheck', 'suspense') RETURNING *
                """, on: connection).first, let entry = try await bankEntries([row], on: connection).first else {
                guard let state = try await rows("SELECT state FROM bank_entries WHERE id = \(id)", on: connection).first else {
                    throw StoreError(.notFound, input: "bank entry \(id)", "there is no bank entry \(id)")
                }
                throw StoreError(.wrongState, input: "bank entry \(id)",
                                 "bank entry \(id) is \(try state.value("state", as: String.self)), not waiting in the queue or in suspense: "
                                    + "it cannot be allocated by hand")
            }
            let reference = OutboxKind.allocatePayment.clientReference(forSubject: id)
            let earlier = try await rows("SELECT id, state FROM outbox WHERE client_reference = \(reference) FOR UPDATE", on: connection).first
            if let earlier, !["deadLetter", "skipped"].contains(try earlier.value("state", as: String.self)) {
                throw StoreError(.wrongState, input: "bank entry \(id)",
                                 "bank entry \(id)'s allocation is being sent to MILES again (outbox entry \(try earlier.value("id", as: Int64.self))); "
                                    + "wait for its answer")
            }
            // MILES refused the earlier allocation: this one replaces it, under the same client reference.
            try await connection.query("DELETE FROM payment_allocations WHERE id = \(id) AND state = 'refused'", logger: logger)
            let allocation = PaymentAllocation(
                id: id, contractNumber: contractNumber, lines: lines, suspense: suspense, valueDate: entry.entry.valueDate, account: entry.account,
                bankReference: entry.entry.bankReference ?? entry.identity, allocatedBy: actor, reason: reason, confidence: 100, state: .pending,
                milesAllocationId: nil)
            var columns = AllocationColumns()
            columns.append(allocation, payer: entry.entry.payerAccount, paymentInTransit: nil)
            try await insert(columns, byHand: true, queueing: earlier == nil, at: at, on: connection)
            if let earlier {
                try await connection.query("""
                    UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = \(at.millisecondsSinceEpoch),
                        updated_at = \(at.millisecondsSinceEpoch), last_error = NULL, fence = fence + 1, \(unescaped: Self.noLease)
                    WHERE id = \(try earlier.value("id", as: Int64.self))
                    """, logger: logger)
            }
            try await audit(connection, at: at, actor: actor, action: "bank.allocated", subject: "bank-entry:\(id)",
                            details: allocation.auditDescription(of: entry.entry.amount))
            return allocation
        }
    }

    public func bankDayReport(date: LocalDate) async throws -> [BankDayReport] {
        try await read { [self] connection in
            var reports: [String: BankDayReport] = [:]
            for row in try await rows("""
                SELECT e.currency, CASE
                        WHEN e.is_reversal THEN 'reversals' WHEN e.mark = 'debit' THEN 'outgoing'
                        WHEN e.state = 'allocated' AND a.by_hand THEN 'allocatedByHand' WHEN e.state = 'allocated' THEN 'allocatedAutomatically'
                        WHEN e.state = 'toCheck' THEN 'waiting' WHEN e.state = 'suspense' THEN 'inSuspense' ELSE 'returned' END AS line,
                    count(*) AS n, sum(e.amount)::BIGINT AS total,
                    count(*) FILTER (WHERE e.state = 'allocated' AND NOT e.is_reversal AND a.suspense > 0) AS overpaid_n,
                    coalesce(sum(a.suspense) FILTER (WHERE e.state = 'allocated' AND NOT e.is_reversal), 0)::BIGINT AS overpaid
                FROM bank_entries e LEFT JOIN payment_allocations a ON a.id = e.id WHERE e.booking_date = \(date.daysSinceEpoch)
                GROUP BY e.currency, line
                """, on: connection) {
                let currency = try CurrencyCode(try row.value("currency", as: String.self))
                var report = reports[currency.code] ?? BankDayReport.empty(date: date, currency: currency)
                report.add(line: try row.value("line"), count: try row.value("n"), minorUnits: try row.value("total"),
                           overpaidCount: try row.value("overpaid_n"), overpaidMinorUnits: try row.value("overpaid"))
                reports[currency.code] = report
            }
            return reports.keys.sorted().compactMap { reports[$0] }
        }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func paymentAllocation(id: Int64, on connection: PostgresConnection) async throws -> PaymentAllocation? {
        try await rows("SELECT * FROM payment_allocations WHERE id = \(id)", on: connection).first.map(Self.paymentAllocation)
    }

    public func recordAllocationPosted(_ entry: OutboxEntry, milesAllocationId: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let id = try await markSent(entry, result: milesAllocationId, at: at, on: connection)
            // A return stored while MILES was allocating it keeps the allocation reversing.
            try await connection.query("""
                UPDATE payment_allocations SET state = CASE WHEN state IN ('pending', 'refused') THEN 'allocated' ELSE state END,
                    miles_allocation_id = \(milesAllocationId), failure_reason = NULL WHERE id = \(id)
                """, logger: logger)
            // A refused allocation retried by a person takes its entry out of the queue once MILES has it.
            try await connection.query("UPDATE bank_entries SET state = 'allocated', reason = NULL WHERE id = \(id) AND state = 'toCheck'",
                                       logger: logger)
            try await audit(connection, at: at, actor: "outbox-relay", action: "allocation.posted", subject: "bank-entry:\(id)",
                            details: "MILES allocation \(milesAllocationId), reference \(entry.clientReference)")
        }
    }

    public func recordAllocationReversed(_ entry: OutboxEntry, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let id = try await markSent(entry, result: "reversed", at: at, on: connection)
            try await connection.query("UPDATE payment_allocations SET state = 'reversed', failure_reason = NULL WHERE id = \(id)", logger: logger)
            try await audit(connection, at: at, actor: "outbox-relay", action: "allocation.reversed", subject: "bank-entry:\(id)",
                            details: "reversed in MILES, reference \(entry.clientReference)")
        }
    }

    // MARK: - Rows and columns

    /// The entries of `found`, each with its allocation.
    private func bankEntries(_ found: [PostgresRandomAccessRow], on connection: PostgresConnection) async throws -> [StoredBankEntry] {
        guard !found.isEmpty else { return [] }
        let ids = try found.map { try $0.value("id", as: Int64.self) }
        var allocations: [Int64: PaymentAllocation] = [:]
        for row in try await rows("SELECT * FROM payment_allocations WHERE id = ANY(\(ids))", on: connection) {
            let allocation = try Self.paymentAllocation(row)
            allocations[allocation.id] = allocation
        }
        return try found.map { row in
            let id = try row.value("id", as: Int64.self)
            let input = "bank entry \(id)"
            guard let mark = CreditDebit(rawValue: try row.value("mark")), let state = BankEntryState(rawValue: try row.value("state")) else {
                throw StoreError(.corruptRecord, input: input, "\(input) has an unknown mark or state in the store")
            }
            let currency = try CurrencyCode(try row.value("currency", as: String.self))
            let instructed: Money? = if let amount = try row.value("instructed_amount", as: Int64?.self),
                                        let code = try row.value("instructed_currency", as: String?.self) {
                Money(minorUnits: amount, currency: try CurrencyCode(code))
            } else { nil }
            let entry = BankEntry(
                position: try row.value("position"), bankReference: try row.value("bank_reference"), bookingDate: try row.date("booking_date"),
                valueDate: try row.date("value_date"), amount: Money(minorUnits: try row.value("amount"), currency: currency), mark: mark,
                isReversal: try row.value("is_reversal"), returnReason: try row.value("return_reason"), remittance: try row.value("remittance"),
                counterpartyName: try row.value("counterparty_name"), counterpartyAccount: try row.value("counterparty_account"),
                endToEndId: try row.value("end_to_end_id"), instructedAmount: instructed)
            return StoredBankEntry(
                id: id, statementId: try row.value("statement_id"), account: try row.value("account"), identity: try row.value("identity"),
                entry: entry, state: state, reason: try row.value("reason"),
                candidates: try StoredBankValues.candidates(try row.value("candidates"), of: input), allocation: allocations[id],
                reversesEntryId: try row.value("reverses_entry_id"))
        }
    }

    private static func paymentAllocation(_ row: PostgresRandomAccessRow) throws -> PaymentAllocation {
        let id = try row.value("id", as: Int64.self)
        let input = "payment allocation \(id)"
        guard let state = PaymentAllocation.State(rawValue: try row.value("state")) else {
            throw StoreError(.corruptRecord, input: input, "\(input) has an unknown state in the store")
        }
        let currency = try CurrencyCode(try row.value("currency", as: String.self))
        return PaymentAllocation(
            id: id, contractNumber: try row.value("contract_number"),
            lines: try StoredBankValues.lines(try row.value("lines"), of: input)
                .map { AllocationLine(invoiceNumber: $0.invoice, amount: Money(minorUnits: $0.amount, currency: currency)) },
            suspense: Money(minorUnits: try row.value("suspense"), currency: currency), valueDate: try row.date("value_date"),
            account: try row.value("account"), bankReference: try row.value("bank_reference"), allocatedBy: try row.value("allocated_by"),
            reason: try row.value("reason"), confidence: try row.value("confidence"), state: state,
            milesAllocationId: try row.value("miles_allocation_id"))
    }

    static func bankStatement(_ row: PostgresRandomAccessRow) throws -> StoredBankStatement {
        let id = try row.value("id", as: Int64.self)
        let input = "bank statement \(id)"
        guard let format = BankStatementFormat(rawValue: try row.value("format")),
              let state = StoredBankStatement.State(rawValue: try row.value("state")) else {
            throw StoreError(.corruptRecord, input: input, "\(input) has an unknown format or state in the store")
        }
        let continuity: StatementContinuity
        switch try row.value("continuity", as: String.self) {
        case "first": continuity = .first
        case "follows": continuity = .follows
        case "gap": continuity = .gap(lastClosing: try balance(row, "gap", of: input))
        default: throw StoreError(.corruptRecord, input: input, "\(input) has an unknown continuity in the store")
        }
        let currency = try row.value("currency", as: String.self)
        let header = BankStatementHeader(
            format: format, account: try row.value("account"), currency: try CurrencyCode(currency), statementId: try row.value("statement_ref"),
            sequenceNumber: try row.value("sequence_number"), opening: try balance(row, "opening", currency: currency, of: input))
        return StoredBankStatement(
            id: id,
            statement: NewBankStatement(
                header: header, closing: try balance(row, "closing", currency: currency, of: input), entryCount: try row.value("entry_count"),
                firstPosition: try row.value("first_position"), fileSha256: try row.value("file_sha256"), indexInFile: try row.value("index_in_file"),
                fileName: try row.value("file_name"), storedPath: try row.value("stored_path"), continuity: continuity),
            positionsDone: try row.value("positions_done"), state: state, receivedAt: try row.timestamp("received_at"))
    }

    /// The balance in the columns `prefix`_amount, _mark and _date, in `currency` or the column `prefix`_currency.
    private static func balance(_ row: PostgresRandomAccessRow, _ prefix: String, currency: String? = nil, of input: String) throws -> BankBalance {
        guard let mark = CreditDebit(rawValue: try row.value("\(prefix)_mark")) else {
            throw StoreError(.corruptRecord, input: input, "\(input) has an unknown \(prefix) balance mark in the store")
        }
        let code = try currency ?? row.value("\(prefix)_currency", as: String.self)
        return BankBalance(amount: Money(minorUnits: try row.value("\(prefix)_amount"), currency: try CurrencyCode(code)), mark: mark,
                           date: try row.date("\(prefix)_date"))
    }

    private static func continuityName(_ continuity: StatementContinuity) -> String {
        switch continuity {
        case .first: "first"
        case .follows: "follows"
        case .gap: "gap"
        }
    }

    /// The entry's columns for what the desk decided, with no optionals: PostgresNIO binds no arrays of them.
    fileprivate static func stored(_ decision: BankEntryDecision) -> (state: BankEntryState, reason: String, candidates: String, reverses: Int64) {
        let columns = decision.storedColumns
        return (columns.state, columns.reason ?? "", columns.candidates, columns.reverses ?? 0)
    }
}

/// A batch's entries as the columns of `bank_entries`, inserted with one statement. PostgresNIO binds
/// no arrays of optionals: an absent text is empty, an absent entry id 0, and an absent instructed
/// amount has no currency.
private struct EntryColumns {
    var identities: [String] = [], positions: [Int] = [], bankReferences: [String] = [], bookingDates: [Int32] = [], valueDates: [Int32] = []
    var amounts: [Int64] = [], currencies: [String] = [], marks: [String] = [], isReversal: [Bool] = [], returnReasons: [String] = []
    var remittances: [String] = [], counterpartyNames: [String] = [], counterpartyAccounts: [String] = [], endToEndIds: [String] = []
    var instructedAmounts: [Int64] = [], instructedCurrencies: [String] = [], states: [String] = [], reasons: [String] = []
    var candidates: [String] = [], reverses: [Int64] = []

    init(_ outcomes: [BankEntryOutcome]) {
        for outcome in outcomes {
            let entry = outcome.entry
            let stored = PostgresStore.stored(outcome.decision)
            identities.append(outcome.identity)
            positions.append(entry.position)
            bankReferences.append(entry.bankReference ?? "")
            bookingDates.append(entry.bookingDate.daysSinceEpoch)
            valueDates.append(entry.valueDate.daysSinceEpoch)
            amounts.append(entry.amount.minorUnits)
            currencies.append(entry.amount.currency.code)
            marks.append(entry.mark.rawValue)
            isReversal.append(entry.isReversal)
            returnReasons.append(entry.returnReason ?? "")
            remittances.append(entry.remittance)
            counterpartyNames.append(entry.counterpartyName ?? "")
            counterpartyAccounts.append(entry.counterpartyAccount ?? "")
            endToEndIds.append(entry.endToEndId ?? "")
            instructedAmounts.append(entry.instructedAmount?.minorUnits ?? 0)
            instructedCurrencies.append(entry.instructedAmount?.currency.code ?? "")
            states.append(stored.state.rawValue)
            reasons.append(stored.reason)
            candidates.append(stored.candidates)
            reverses.append(stored.reverses)
        }
    }
}

/// Allocations as the columns of `payment_allocations`, with the payer accounts they teach and the payments in transit they matched.
private struct AllocationColumns {
    var ids: [Int64] = [], contractNumbers: [String] = [], lines: [String] = [], allocated: [Int64] = [], suspense: [Int64] = []
    var currencies: [String] = [], valueDates: [Int32] = [], accounts: [String] = [], bankReferences: [String] = [], allocatedBy: [String] = []
    var reasons: [String] = [], confidences: [Int] = []
    var payers: [String] = [], payerContracts: [String] = []
    var transitEntries: [Int64] = [], transitUpdates: [Int64] = []

    mutating func append(_ allocation: PaymentAllocation, payer: String?, paymentInTransit: Int64?) {
        ids.append(allocation.id)
        contractNumbers.append(allocation.contractNumber)
        lines.append(StoredBankValues.join(allocation.lines))
        allocated.append(allocation.allocated.minorUnits)
        suspense.append(allocation.suspense.minorUnits)
        currencies.append(allocation.suspense.currency.code)
        valueDates.append(allocation.valueDate.daysSinceEpoch)
        accounts.append(allocation.account)
        bankReferences.append(allocation.bankReference)
        allocatedBy.append(allocation.allocatedBy)
        reasons.append(allocation.reason)
        confidences.append(allocation.confidence)
        if let payer {
            payers.append(payer)
            payerContracts.append(allocation.contractNumber)
        }
        if let paymentInTransit {
            transitEntries.append(allocation.id)
            transitUpdates.append(paymentInTransit)
        }
    }
}
