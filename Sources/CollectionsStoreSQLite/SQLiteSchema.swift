import CollectionsDomain
import CollectionsStore
import GRDB

/// The SQLite schema, its migrations, and how rows become model values.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: contracts, customers, invoices, checkpoints, run ledger") { db in
            try db.execute(sql: """
                CREATE TABLE customers (
                    partner_id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
                    line1 TEXT NOT NULL, line2 TEXT, town TEXT NOT NULL, postcode TEXT NOT NULL, country TEXT NOT NULL,
                    phones TEXT NOT NULL, email TEXT, vulnerable INTEGER NOT NULL
                );
                CREATE TABLE contracts (
                    contract_number TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, status_code TEXT NOT NULL,
                    agreement_type TEXT NOT NULL, start_date INTEGER NOT NULL, end_date INTEGER, currency TEXT NOT NULL,
                    total_price INTEGER NOT NULL, paid_to_date INTEGER NOT NULL, monthly_payment INTEGER NOT NULL,
                    arrears_amount INTEGER NOT NULL, arrears_oldest_due INTEGER, missed_payments INTEGER NOT NULL,
                    partner_id TEXT NOT NULL REFERENCES customers(partner_id),
                    vehicle_registration TEXT NOT NULL, vehicle_vin TEXT NOT NULL, vehicle_make TEXT NOT NULL,
                    vehicle_model TEXT NOT NULL, last_modified INTEGER NOT NULL
                );
                CREATE INDEX contracts_partner ON contracts(partner_id);
                CREATE TABLE invoices (
                    contract_number TEXT NOT NULL REFERENCES contracts(contract_number), position INTEGER NOT NULL,
                    invoice_number TEXT NOT NULL, issue_date INTEGER NOT NULL, due_date INTEGER NOT NULL,
                    amount INTEGER NOT NULL, open_amount INTEGER NOT NULL,
                    PRIMARY KEY (contract_number, position)
                );
                CREATE TABLE sync_checkpoints (
                    job TEXT PRIMARY KEY NOT NULL, next_changed_since INTEGER, high_water_mark INTEGER,
                    query_since INTEGER, query_as_of INTEGER, query_cursor TEXT,
                    query_pages INTEGER NOT NULL DEFAULT 0, query_received INTEGER NOT NULL DEFAULT 0,
                    query_total INTEGER NOT NULL DEFAULT 0
                );
                CREATE TABLE sync_runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, mode TEXT NOT NULL,
                    started_at INTEGER NOT NULL, ended_at INTEGER, pages INTEGER NOT NULL DEFAULT 0,
                    records INTEGER NOT NULL DEFAULT 0, written INTEGER NOT NULL DEFAULT 0, outcome TEXT NOT NULL,
                    message TEXT, miles_total INTEGER, stored_total INTEGER
                );
                """)
        }
        migrator.registerMigration("v2: write-off requests, approvals, outbox, audit log") { db in
            try db.execute(sql: """
                CREATE TABLE writeoff_requests (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_number TEXT NOT NULL, invoice_numbers TEXT NOT NULL,
                    amount INTEGER NOT NULL, currency TEXT NOT NULL, reason TEXT NOT NULL, comment TEXT NOT NULL,
                    requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL, state TEXT NOT NULL,
                    required_role TEXT NOT NULL, approvals_needed INTEGER NOT NULL, matrix_version INTEGER NOT NULL,
                    customer_must_be_told INTEGER NOT NULL, miles_writeoff_id TEXT, failure_reason TEXT,
                    decided_at INTEGER, rejection TEXT, fingerprint TEXT NOT NULL UNIQUE, source TEXT NOT NULL
                );
                CREATE INDEX writeoff_requests_contract ON writeoff_requests(contract_number, state);
                CREATE TABLE writeoff_approvals (
                    request_id INTEGER NOT NULL REFERENCES writeoff_requests(id), approver TEXT NOT NULL, role TEXT NOT NULL,
                    matrix_version INTEGER NOT NULL, at INTEGER NOT NULL, comment TEXT,
                    PRIMARY KEY (request_id, approver)
                );
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, client_reference TEXT NOT NULL UNIQUE,
                    subject_id INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL, last_error TEXT, result_reference TEXT,
                    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
                );
                CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
                CREATE TABLE audit_log (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
                    action TEXT NOT NULL, subject TEXT NOT NULL, details TEXT NOT NULL,
                    previous_hash TEXT NOT NULL, hash TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3: status changes and holds") { db in
            try db.execute(sql: """
                CREATE TABLE status_changes (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_number TEXT NOT NULL, to_status TEXT NOT NULL,
                    reason_code TEXT NOT NULL, effective_date INTEGER NOT NULL, court_order_reference TEXT,
                    expected_version INTEGER NOT NULL, requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL,
                    state TEXT NOT NULL, overrides TEXT NOT NULL, miles_version INTEGER, failure_reason TEXT
                );
                CREATE TABLE holds (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_number TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
                    set_by TEXT NOT NULL, set_on INTEGER NOT NULL, lifted_on INTEGER, lifted_by TEXT
                );
                CREATE INDEX holds_contract ON holds(contract_number);
                CREATE TABLE notices (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_number TEXT NOT NULL, kind TEXT NOT NULL,
                    sent_on INTEGER NOT NULL, remedy_date INTEGER, recorded_by TEXT NOT NULL
                );
                CREATE INDEX notices_contract ON notices(contract_number);
                CREATE TABLE contract_notes (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_number TEXT NOT NULL, category TEXT NOT NULL, text TEXT NOT NULL,
                    source TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL, state TEXT NOT NULL,
                    miles_note_id TEXT, failure_reason TEXT
                );
                """)
        }
        migrator.registerMigration("v4: last payment date") { db in
            try db.execute(sql: "ALTER TABLE contracts ADD COLUMN last_payment_date INTEGER")
        }
        migrator.registerMigration("v5: placements with agents and instructions to them") { db in
            try db.execute(sql: """
                CREATE TABLE placements (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, agent TEXT NOT NULL, contract_number TEXT NOT NULL,
                    file_name TEXT NOT NULL, status_change_id INTEGER NOT NULL, placed_at INTEGER NOT NULL, recalled_at INTEGER
                );
                CREATE UNIQUE INDEX placements_open ON placements(contract_number) WHERE recalled_at IS NULL;
                CREATE TABLE agent_instructions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, agent TEXT NOT NULL, contract_number TEXT NOT NULL, kind TEXT NOT NULL,
                    reason TEXT NOT NULL, created_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v6: agents' updates: inbox, updates (payments among them), contact changes") { db in
            try db.execute(sql: """
                ALTER TABLE customers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
                CREATE TABLE inbox_files (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, agent TEXT NOT NULL, sha256 TEXT NOT NULL, original_name TEXT NOT NULL,
                    stored_path TEXT NOT NULL, size INTEGER NOT NULL, channel TEXT NOT NULL, received_at INTEGER NOT NULL,
                    state TEXT NOT NULL, lines_done INTEGER NOT NULL DEFAULT 0, applied INTEGER NOT NULL DEFAULT 0,
                    refused INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0, failure_reason TEXT, finished_at INTEGER,
                    UNIQUE (agent, sha256)
                );
                CREATE TABLE third_party_updates (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, inbox_file_id INTEGER NOT NULL REFERENCES inbox_files(id), line INTEGER NOT NULL,
                    agent TEXT NOT NULL, contract_number TEXT NOT NULL, kind TEXT NOT NULL, details TEXT NOT NULL,
                    outcome TEXT NOT NULL, refusal TEXT, received_at INTEGER NOT NULL,
                    amount INTEGER, currency TEXT, paid_on INTEGER, agent_reference TEXT,
                    UNIQUE (inbox_file_id, line)
                );
                CREATE INDEX third_party_updates_contract ON third_party_updates(contract_number);
                CREATE TABLE ingest_row_errors (
                    inbox_file_id INTEGER NOT NULL REFERENCES inbox_files(id), line INTEGER NOT NULL, column_name TEXT NOT NULL,
                    value TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (inbox_file_id, line)
                );
                CREATE TABLE contact_changes (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_number TEXT NOT NULL, partner_id TEXT NOT NULL,
                    expected_version INTEGER NOT NULL, line1 TEXT, line2 TEXT, town TEXT, postcode TEXT, country TEXT, phone TEXT,
                    email TEXT, source TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL, state TEXT NOT NULL,
                    miles_version INTEGER, failure_reason TEXT
                );
                """)
        }
        migrator.registerMigration("v7: consent and abandonment evidence for a status change (CCA s.90)") { db in
            try db.execute(sql: "ALTER TABLE status_changes ADD COLUMN customer_consent TEXT")
            try db.execute(sql: "ALTER TABLE status_changes ADD COLUMN abandonment TEXT")
        }
        migrator.registerMigration("v8: people who sign in, and their personal tokens") { db in
            try db.execute(sql: """
                CREATE TABLE users (
                    name TEXT PRIMARY KEY, display_name TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT NOT NULL,
                    enabled INTEGER NOT NULL DEFAULT 1, failed_sign_ins INTEGER NOT NULL DEFAULT 0, locked INTEGER NOT NULL DEFAULT 0
                );
                CREATE TABLE personal_tokens (
                    token_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users(name), created_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v9: the workspace's look-ups: audit trail by subject") { db in
            try db.execute(sql: "CREATE INDEX audit_log_subject ON audit_log(subject)")
        }
        migrator.registerMigration("v10: a one-time password must be changed") { db in
            try db.execute(sql: "ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v11: the workspace over a million contracts: customer-name index, number and postcode look-ups, contracts' revision") { db in
            // Customers get an INTEGER PRIMARY KEY so the name index's rowids survive a VACUUM
            // (an implicit rowid may change in one); the table is rebuilt as SQLite's ALTER TABLE
            // cannot add one. GRDB runs migrations with foreign keys off and checks them after.
            // Triggers only note which names changed; `indexCustomerNames` brings the index up to
            // date once per transaction, as FTS5 written row by row from a trigger cost a sync of
            // 100,000 contracts half as much again (each statement flushed a segment of its own).
            try db.execute(sql: """
                CREATE TABLE customers_v11 (
                    id INTEGER PRIMARY KEY, partner_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, kind TEXT NOT NULL,
                    line1 TEXT NOT NULL, line2 TEXT, town TEXT NOT NULL, postcode TEXT NOT NULL, country TEXT NOT NULL,
                    phones TEXT NOT NULL, email TEXT, vulnerable INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1
                );
                INSERT INTO customers_v11 (partner_id, name, kind, line1, line2, town, postcode, country, phones, email, vulnerable, version)
                    SELECT partner_id, name, kind, line1, line2, town, postcode, country, phones, email, vulnerable, version FROM customers;
                DROP TABLE customers;
                ALTER TABLE customers_v11 RENAME TO customers;
                CREATE INDEX customers_postcode ON customers(replace(postcode, ' ', '') COLLATE NOCASE);
                CREATE INDEX contracts_number_nocase ON contracts(contract_number COLLATE NOCASE);
                CREATE VIRTUAL TABLE customer_names USING fts5(
                    name, content = 'customers', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
                );
                INSERT INTO customer_names(customer_names) VALUES ('rebuild');
                CREATE TABLE customer_name_changes (customer_id INTEGER NOT NULL, old_name TEXT);
                CREATE TRIGGER customer_named AFTER INSERT ON customers BEGIN
                    INSERT INTO customer_name_changes (customer_id, old_name) VALUES (new.id, NULL);
                END;
                CREATE TRIGGER customer_renamed AFTER UPDATE OF name ON customers WHEN old.name IS NOT new.name BEGIN
                    INSERT INTO customer_name_changes (customer_id, old_name) VALUES (old.id, old.name);
                END;
                -- No path deletes a customer today; a future one must not leave its name in the index.
                CREATE TRIGGER customer_removed AFTER DELETE ON customers BEGIN
                    INSERT INTO customer_name_changes (customer_id, old_name) VALUES (old.id, old.name);
                END;
                CREATE TABLE contracts_revision (revision INTEGER NOT NULL);
                INSERT INTO contracts_revision (revision) VALUES (0);
                """)
        }
        migrator.registerMigration("v12: risky customers: the arrears each change replaced, alerts") { db in
            // A trigger keeps the arrears a sync replaced, only when they changed: a first sync of a
            // million contracts writes none, a night's changes a row each.
            try db.execute(sql: """
                CREATE TABLE arrears_history (
                    id INTEGER PRIMARY KEY, contract_number TEXT NOT NULL, amount INTEGER NOT NULL
                );
                CREATE INDEX arrears_history_contract ON arrears_history(contract_number, id);
                CREATE TRIGGER arrears_changed AFTER UPDATE OF arrears_amount ON contracts
                    WHEN old.arrears_amount IS NOT new.arrears_amount BEGIN
                    INSERT INTO arrears_history (contract_number, amount) VALUES (old.contract_number, old.arrears_amount);
                END;
                CREATE TABLE risk_alerts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_number TEXT NOT NULL, rule TEXT NOT NULL, facts TEXT NOT NULL,
                    raised_at INTEGER NOT NULL, run_id INTEGER, acknowledged_by TEXT, acknowledged_at INTEGER, comment TEXT
                );
                CREATE INDEX risk_alerts_open ON risk_alerts(contract_number, rule) WHERE acknowledged_at IS NULL;
                """)
        }
        migrator.registerMigration("v13: credit notes, write-off reversals and their approvals") { db in
            let trail = """
                amount INTEGER NOT NULL, currency TEXT NOT NULL, reason_code TEXT NOT NULL, comment TEXT NOT NULL,
                requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL, state TEXT NOT NULL, required_role TEXT NOT NULL,
                approvals_needed INTEGER NOT NULL, matrix_version INTEGER NOT NULL, miles_reference TEXT, failure_reason TEXT,
                decided_at INTEGER, rejection TEXT
                """
            try db.execute(sql: """
                CREATE TABLE credit_notes (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_number TEXT NOT NULL, invoice_numbers TEXT NOT NULL, \(trail)
                );
                CREATE INDEX credit_notes_contract ON credit_notes(contract_number, state);
                CREATE TABLE writeoff_reversals (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, writeoff_request_id INTEGER NOT NULL REFERENCES writeoff_requests(id),
                    miles_writeoff_id TEXT NOT NULL, contract_number TEXT NOT NULL, \(trail)
                );
                CREATE INDEX writeoff_reversals_writeoff ON writeoff_reversals(writeoff_request_id, state);
                CREATE TABLE decision_approvals (
                    kind TEXT NOT NULL, record_id INTEGER NOT NULL, approver TEXT NOT NULL, role TEXT NOT NULL,
                    matrix_version INTEGER NOT NULL, at INTEGER NOT NULL, comment TEXT,
                    PRIMARY KEY (kind, record_id, approver)
                );
                """)
        }
        migrator.registerMigration("v14: letters MILES issues to customers") { db in
            try db.execute(sql: """
                CREATE TABLE letter_requests (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_number TEXT NOT NULL, letter_type TEXT NOT NULL,
                    requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL, state TEXT NOT NULL, miles_letter_id TEXT,
                    serve_date INTEGER, remedy_date INTEGER, failure_reason TEXT
                );
                CREATE INDEX letter_requests_contract ON letter_requests(contract_number, letter_type, state);
                """)
        }
        migrator.registerMigration("v15: payment arrangements and their instalments") { db in
            try db.execute(sql: """
                CREATE TABLE arrangements (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_number TEXT NOT NULL, frequency TEXT NOT NULL,
                    is_settlement INTEGER NOT NULL, currency TEXT NOT NULL, proposed_by TEXT NOT NULL, proposed_at INTEGER NOT NULL,
                    state TEXT NOT NULL, required_role TEXT NOT NULL, required_rank INTEGER NOT NULL, approvals_needed INTEGER NOT NULL,
                    matrix_version INTEGER NOT NULL, reduction INTEGER NOT NULL, term_months INTEGER NOT NULL, is_token INTEGER NOT NULL,
                    monthly_income INTEGER NOT NULL, monthly_expenditure INTEGER NOT NULL, income_recorded_on INTEGER NOT NULL,
                    income_recorded_by TEXT NOT NULL, miles_reference TEXT, paid_before INTEGER, cancel_reason TEXT, outcome TEXT,
                    failure_reason TEXT, closing_status_change INTEGER, decided_at INTEGER
                );
                CREATE INDEX arrangements_contract ON arrangements(contract_number, state);
                CREATE TABLE arrangement_instalments (
                    arrangement_id INTEGER NOT NULL REFERENCES arrangements(id), position INTEGER NOT NULL, due_date INTEGER NOT NULL,
                    amount INTEGER NOT NULL, PRIMARY KEY (arrangement_id, position)
                );
                """)
        }
        migrator.registerMigration("v16: the day an arrangement broke, for the broken-arrangements risk rule") { db in
            try db.execute(sql: "ALTER TABLE arrangements ADD COLUMN broken_on INTEGER")
        }
        migrator.registerMigration("v17: arrangements agents report, for the team to propose") { db in
            try db.execute(sql: """
                CREATE TABLE reported_arrangements (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_number TEXT NOT NULL, agent TEXT NOT NULL, reported_on INTEGER NOT NULL,
                    details TEXT NOT NULL, source TEXT NOT NULL, arrangement_id INTEGER REFERENCES arrangements(id)
                );
                CREATE INDEX reported_arrangements_open ON reported_arrangements(contract_number) WHERE arrangement_id IS NULL;
                """)
        }
        migrator.registerMigration("v18: who asked for an arrangement's cancellation") { db in
            try db.execute(sql: "ALTER TABLE arrangements ADD COLUMN cancel_requested_by TEXT")
        }
        migrator.registerMigration("v19: one run of a job at a time") { db in
            try db.execute(sql: """
                CREATE TABLE job_locks (job TEXT PRIMARY KEY, process_id INTEGER NOT NULL, host TEXT NOT NULL, since INTEGER NOT NULL)
                """)
        }
        migrator.registerMigration("v20: push workers claim outbox entries with a lease and a fence") { db in
            try db.execute(sql: """
                ALTER TABLE outbox ADD COLUMN lease_worker TEXT;
                ALTER TABLE outbox ADD COLUMN lease_host TEXT;
                ALTER TABLE outbox ADD COLUMN lease_pid INTEGER;
                ALTER TABLE outbox ADD COLUMN lease_expires_at INTEGER;
                ALTER TABLE outbox ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX outbox_unsettled ON outbox(id) WHERE state IN ('pending', 'sending');
                """)
        }
        migrator.registerMigration("v21: rate limits shared by every serve process") { db in
            try db.execute(sql: "CREATE TABLE rate_buckets (bucket TEXT PRIMARY KEY, tokens REAL NOT NULL, at INTEGER NOT NULL)")
        }
        migrator.registerMigration("v22: bank statements, their entries, payment allocations and the accounts customers pay from") { db in
            // An allocation's id is its bank entry's (at most one each): the outbox's subject and client reference.
            // A payment in transit an allocation matched is marked on the agent's update, so it is not matched twice.
            try db.execute(sql: """
                CREATE TABLE bank_statements (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, file_sha256 TEXT NOT NULL, index_in_file INTEGER NOT NULL, file_name TEXT NOT NULL,
                    stored_path TEXT NOT NULL, format TEXT NOT NULL, account TEXT NOT NULL, currency TEXT NOT NULL, statement_ref TEXT NOT NULL,
                    sequence_number TEXT, opening_amount INTEGER NOT NULL, opening_mark TEXT NOT NULL, opening_date INTEGER NOT NULL,
                    closing_amount INTEGER NOT NULL, closing_mark TEXT NOT NULL, closing_date INTEGER NOT NULL, entry_count INTEGER NOT NULL,
                    first_position INTEGER NOT NULL, positions_done INTEGER NOT NULL, state TEXT NOT NULL, continuity TEXT NOT NULL,
                    gap_amount INTEGER, gap_currency TEXT, gap_mark TEXT, gap_date INTEGER, received_at INTEGER NOT NULL,
                    finished_at INTEGER, UNIQUE (file_sha256, index_in_file)
                );
                CREATE INDEX bank_statements_account ON bank_statements(account, closing_date, id);
                CREATE TABLE bank_entries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, statement_id INTEGER NOT NULL REFERENCES bank_statements(id), account TEXT NOT NULL,
                    identity TEXT NOT NULL UNIQUE, position INTEGER NOT NULL, bank_reference TEXT, booking_date INTEGER NOT NULL,
                    value_date INTEGER NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL, mark TEXT NOT NULL, is_reversal INTEGER NOT NULL,
                    return_reason TEXT, remittance TEXT NOT NULL, counterparty_name TEXT, counterparty_account TEXT, end_to_end_id TEXT,
                    instructed_amount INTEGER, instructed_currency TEXT, state TEXT NOT NULL, reason TEXT, candidates TEXT NOT NULL,
                    reverses_entry_id INTEGER
                );
                CREATE INDEX bank_entries_state ON bank_entries(state, booking_date, id);
                CREATE INDEX bank_entries_booked ON bank_entries(booking_date);
                CREATE INDEX bank_entries_payment ON bank_entries(account, amount, booking_date);
                CREATE INDEX bank_entries_reverses ON bank_entries(reverses_entry_id) WHERE reverses_entry_id IS NOT NULL;
                CREATE TABLE payment_allocations (
                    id INTEGER PRIMARY KEY REFERENCES bank_entries(id), contract_number TEXT NOT NULL, lines TEXT NOT NULL,
                    allocated INTEGER NOT NULL, suspense INTEGER NOT NULL, currency TEXT NOT NULL, value_date INTEGER NOT NULL,
                    account TEXT NOT NULL, bank_reference TEXT NOT NULL, allocated_by TEXT NOT NULL, by_hand INTEGER NOT NULL,
                    reason TEXT NOT NULL, confidence INTEGER NOT NULL, state TEXT NOT NULL, miles_allocation_id TEXT, failure_reason TEXT,
                    allocated_at INTEGER NOT NULL
                );
                CREATE INDEX payment_allocations_contract ON payment_allocations(contract_number, state);
                CREATE TABLE bank_payer_accounts (account TEXT NOT NULL, partner_id TEXT NOT NULL, PRIMARY KEY (account, partner_id));
                CREATE INDEX bank_payer_accounts_partner ON bank_payer_accounts(partner_id);
                ALTER TABLE third_party_updates ADD COLUMN bank_entry_id INTEGER;
                CREATE INDEX invoices_number ON invoices(invoice_number);
                """)
        }
        migrator.registerMigration("v23: narrower bank indexes, cheaper to keep in a large import") { db in
            // Each payment stored puts one key in each index, at a place no other entry of its batch
            // touches: the narrower the key, the fewer pages a batch writes (a 1,000,000-entry
            // statement stored in 34 s against 53 s, BENCHMARKS.md, issue 17). A return is looked up
            // by amount and date with its account checked on the row, as a lessor has few accounts;
            // an allocation's state is read on its row, and changing it moves no index key.
            try db.execute(sql: """
                DROP INDEX bank_entries_payment;
                CREATE INDEX bank_entries_payment ON bank_entries(amount, booking_date) WHERE mark = 'credit' AND is_reversal = 0;
                DROP INDEX payment_allocations_contract;
                CREATE INDEX payment_allocations_contract ON payment_allocations(contract_number);
                """)
        }
        migrator.registerMigration("v24: what a first load sets aside until its end") { db in
            // A row per index or trigger a first sync into an empty store dropped, with the SQL that built
            // it: rows here mean a first load is under way, and its end (or the next run) builds them again.
            try db.execute(sql: "CREATE TABLE first_load_set_aside (name TEXT PRIMARY KEY NOT NULL, type TEXT NOT NULL, sql TEXT NOT NULL)")
        }
        migrator.registerMigration("v25: when an allocation was first sent to MILES") { db in
            // An allocation counts against the open amounts MILES showed until a sync reads a change
            // made after it was first sent (BankStore.bankMatchData). Those sent before this version
            // are taken as sent when they were made, as the open amounts counted them then.
            try db.execute(sql: """
                ALTER TABLE payment_allocations ADD COLUMN sent_at INTEGER;
                UPDATE payment_allocations SET sent_at = allocated_at WHERE state <> 'pending' OR id IN (
                    SELECT subject_id FROM outbox WHERE kind = 'AllocatePayment' AND attempts > 0);
                """)
        }
        migrator.registerMigration("v26: the contract version MILES made posting a credit note or write-off") { db in
            // A posted credit note or write-off counts against the open amounts until the store holds
            // that version of the contract (ReliefStore). Those posted before this version have none and
            // are taken as shown.
            try db.execute(sql: """
                ALTER TABLE credit_notes ADD COLUMN miles_contract_version INTEGER;
                ALTER TABLE writeoff_requests ADD COLUMN miles_contract_version INTEGER;
                """)
        }
        return migrator
    }

    static let contractSelect = "SELECT c.*, p.name, p.kind, p.line1, p.line2, p.town, p.postcode, p.country, p.phones, p.email, p.vulnerable, p.version AS partner_version FROM contracts c JOIN customers p ON p.partner_id = c.partner_id"


    /// The stored contract `number`, if there is one.
    static func contract(number: String, _ db: Database) throws -> Contract? {
        try Row.fetchOne(db.cachedStatement(sql: "\(contractSelect) WHERE c.contract_number = ?"), arguments: [number]).map { try contract(from: $0, db) }
    }

    static func contract(from row: Row, _ db: Database) throws -> Contract {
        let currency = try CurrencyCode(row["currency"])
        func money(_ column: String) -> Money { Money(minorUnits: row[column], currency: currency) }
        func date(_ column: String) -> LocalDate? { (row[column] as Int32?).map(LocalDate.init(daysSinceEpoch:)) }
        let number: String = row["contract_number"]
        let invoices = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM invoices WHERE contract_number = ? ORDER BY position"), arguments: [number]
        ).map { try invoice(from: $0, currency: currency) }
        let phones: String = row["phones"]
        guard let agreementType = AgreementType(rawValue: row["agreement_type"]),
              let kind = Customer.Kind(rawValue: row["kind"]) else {
            throw StoreError(.corruptRecord, input: "contract \(number)", "contract \(number): unknown agreement type or customer kind in the store")
        }
        return Contract(
            contractNumber: number, version: row["version"], statusCode: row["status_code"], agreementType: agreementType,
            startDate: date("start_date")!, endDate: date("end_date"), currency: currency,
            totalPrice: money("total_price"), paidToDate: money("paid_to_date"), monthlyPayment: money("monthly_payment"),
            arrears: Arrears(amount: money("arrears_amount"), oldestUnpaidDueDate: date("arrears_oldest_due"),
                             missedPayments: row["missed_payments"]),
            customer: Customer(
                partnerId: row["partner_id"], name: row["name"], kind: kind,
                address: PostalAddress(line1: row["line1"], line2: row["line2"], town: row["town"], postcode: row["postcode"],
                                       country: row["country"]),
                phones: StoredPhones.split(phones),
                email: row["email"], vulnerable: row["vulnerable"], version: row["partner_version"]),
            vehicle: Vehicle(registration: row["vehicle_registration"], vin: row["vehicle_vin"], make: row["vehicle_make"],
                             model: row["vehicle_model"]),
            openInvoices: invoices,
            lastModified: Timestamp(millisecondsSinceEpoch: row["last_modified"]), lastPaymentDate: date("last_payment_date"))
    }

    static func invoice(from row: Row, currency: CurrencyCode) throws -> Invoice {
        Invoice(
            number: row["invoice_number"], issueDate: LocalDate(daysSinceEpoch: row["issue_date"]),
            dueDate: LocalDate(daysSinceEpoch: row["due_date"]),
            amount: Money(minorUnits: row["amount"], currency: currency),
            openAmount: Money(minorUnits: row["open_amount"], currency: currency))
    }
}
