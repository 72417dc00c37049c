import CollectionsDomain
import CollectionsStore
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL store's schema, as versioned migrations applied in order, each in the transaction
/// that records it. Several processes opening the store at once wait on one advisory lock, so a
/// migration runs once.
enum PostgresSchema {
    static let migrations: [(name: String, statements: [PostgresQuery])] = [
        ("v1: audit log, job locks, rate limits", [
            """
            CREATE TABLE audit_log (
                sequence BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                subject TEXT NOT NULL, details TEXT NOT NULL, previous_hash TEXT NOT NULL, hash TEXT NOT NULL)
            """,
            "CREATE INDEX audit_log_subject ON audit_log (subject, sequence)",
            // The chain's last link, locked by each append: appends are serialised, and a deleted
            // last entry shows as a head beyond the log.
            "CREATE TABLE audit_head (id INT PRIMARY KEY CHECK (id = 1), sequence BIGINT NOT NULL, hash TEXT NOT NULL)",
            "INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, \(AuditChain.genesisHash))",
            "CREATE TABLE job_locks (job TEXT PRIMARY KEY, process_id INT NOT NULL, host TEXT NOT NULL, since BIGINT NOT NULL)",
            "CREATE TABLE rate_buckets (bucket TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, at BIGINT NOT NULL)",
        ]),
        ("v2: contracts, customers, invoices, the sync's checkpoints and runs, arrears kept, risk alerts", [
            """
            CREATE TABLE customers (
                id BIGSERIAL PRIMARY KEY, partner_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, kind TEXT NOT NULL,
                line1 TEXT NOT NULL, line2 TEXT, town TEXT NOT NULL, postcode TEXT NOT NULL, country TEXT NOT NULL,
                phones TEXT NOT NULL, email TEXT, vulnerable BOOLEAN NOT NULL, version BIGINT NOT NULL)
            """,
            // The searches: a postcode from its start without spaces or case, a name by the starts of its words.
            "CREATE INDEX customers_postcode ON customers (lower(replace(postcode, ' ', '')) text_pattern_ops)",
            "CREATE INDEX customers_name_words ON customers USING gin (to_tsvector('simple', name))",
            """
            CREATE TABLE contracts (
                contract_number TEXT PRIMARY KEY, version BIGINT NOT NULL, status_code TEXT NOT NULL, agreement_type TEXT NOT NULL,
                start_date INT NOT NULL, end_date INT, currency TEXT NOT NULL, total_price BIGINT NOT NULL, paid_to_date BIGINT NOT NULL,
                monthly_payment BIGINT NOT NULL, arrears_amount BIGINT NOT NULL, arrears_oldest_due INT, missed_payments INT NOT NULL,
                partner_id TEXT NOT NULL REFERENCES customers (partner_id), vehicle_registration TEXT NOT NULL, vehicle_vin TEXT NOT NULL,
                vehicle_make TEXT NOT NULL, vehicle_model TEXT NOT NULL, last_modified BIGINT NOT NULL, last_payment_date INT)
            """,
            "CREATE INDEX contracts_partner ON contracts (partner_id)",
            "CREATE INDEX contracts_number_lower ON contracts (lower(contract_number) text_pattern_ops)",
            """
            CREATE TABLE invoices (
                contract_number TEXT NOT NULL REFERENCES contracts (contract_number), position INT NOT NULL, invoice_number TEXT NOT NULL,
                issue_date INT NOT NULL, due_date INT NOT NULL, amount BIGINT NOT NULL, open_amount BIGINT NOT NULL,
                PRIMARY KEY (contract_number, position))
            """,
            """
            CREATE TABLE sync_checkpoints (
                job TEXT PRIMARY KEY, next_changed_since BIGINT, high_water_mark BIGINT, query_since BIGINT, query_as_of BIGINT,
                query_cursor TEXT, query_pages INT NOT NULL DEFAULT 0, query_received INT NOT NULL DEFAULT 0, query_total INT NOT NULL DEFAULT 0)
            """,
            """
            CREATE TABLE sync_runs (
                id BIGSERIAL PRIMARY KEY, job TEXT NOT NULL, mode TEXT NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT,
                pages INT NOT NULL DEFAULT 0, records INT NOT NULL DEFAULT 0, written INT NOT NULL DEFAULT 0, outcome TEXT NOT NULL,
                message TEXT, miles_total INT, stored_total INT)
            """,
            "CREATE TABLE contracts_revision (revision BIGINT NOT NULL)",
            "INSERT INTO contracts_revision (revision) VALUES (0)",
            // The arrears a sync replaced, kept only when they changed.
            "CREATE TABLE arrears_history (id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, amount BIGINT NOT NULL)",
            "CREATE INDEX arrears_history_contract ON arrears_history (contract_number, id)",
            """
            CREATE FUNCTION keep_replaced_arrears() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO arrears_history (contract_number, amount) VALUES (OLD.contract_number, OLD.arrears_amount);
                RETURN NEW;
            END $$
            """,
            """
            CREATE TRIGGER arrears_changed AFTER UPDATE OF arrears_amount ON contracts FOR EACH ROW
            WHEN (OLD.arrears_amount IS DISTINCT FROM NEW.arrears_amount) EXECUTE FUNCTION keep_replaced_arrears()
            """,
            """
            CREATE TABLE risk_alerts (
                id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, rule TEXT NOT NULL, facts TEXT NOT NULL, raised_at BIGINT NOT NULL,
                run_id BIGINT, acknowledged_by TEXT, acknowledged_at BIGINT, comment TEXT)
            """,
            // One open alert per contract and rule, whichever process raises it.
            "CREATE UNIQUE INDEX risk_alerts_open ON risk_alerts (contract_number, rule) WHERE acknowledged_at IS NULL",
        ]),
        ("v3: people who sign in, and their personal tokens", [
            """
            CREATE TABLE users (
                name TEXT PRIMARY KEY, display_name TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT NOT NULL,
                enabled BOOLEAN NOT NULL DEFAULT TRUE, failed_sign_ins INT NOT NULL DEFAULT 0, locked BOOLEAN NOT NULL DEFAULT FALSE,
                must_change_password BOOLEAN NOT NULL DEFAULT FALSE)
            """,
            "CREATE TABLE personal_tokens (token_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users (name), created_at BIGINT NOT NULL)",
        ]),
        // Integers are BIGINT (read as Int or Int64) but days, which are INT like a contract's dates.
        ("v4: the team's decisions and the outbox that carries them to MILES; placements; agents' deliveries", [
            """
            CREATE TABLE writeoff_requests (
                id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, invoice_numbers TEXT NOT NULL, amount BIGINT NOT NULL,
                currency TEXT NOT NULL, reason TEXT NOT NULL, comment TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at BIGINT NOT NULL,
                state TEXT NOT NULL, required_role TEXT NOT NULL, approvals_needed BIGINT NOT NULL, matrix_version BIGINT NOT NULL,
                customer_must_be_told BOOLEAN NOT NULL, miles_writeoff_id TEXT, failure_reason TEXT, decided_at BIGINT, rejection TEXT,
                fingerprint TEXT NOT NULL UNIQUE, source TEXT NOT NULL)
            """,
            "CREATE INDEX writeoff_requests_contract ON writeoff_requests (contract_number, state)",
            """
            CREATE TABLE writeoff_approvals (
                request_id BIGINT NOT NULL REFERENCES writeoff_requests (id), approver TEXT NOT NULL, role TEXT NOT NULL,
                matrix_version BIGINT NOT NULL, at BIGINT NOT NULL, comment TEXT, PRIMARY KEY (request_id, approver))
            """,
            """
            CREATE TABLE outbox (
                id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, client_reference TEXT NOT NULL UNIQUE, subject_id BIGINT NOT NULL,
                state TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL, last_error TEXT,
                result_reference TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, lease_worker TEXT, lease_host TEXT,
                lease_pid BIGINT, lease_expires_at BIGINT, fence BIGINT NOT NULL DEFAULT 0)
            """,
            "CREATE INDEX outbox_due ON outbox (state, next_attempt_at)",
            "CREATE INDEX outbox_unsettled ON outbox (id) WHERE state IN ('pending', 'sending')",
            """
            CREATE TABLE status_changes (
                id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, to_status TEXT NOT NULL, reason_code TEXT NOT NULL,
                effective_date INT NOT NULL, court_order_reference TEXT, expected_version BIGINT NOT NULL, requested_by TEXT NOT NULL,
                requested_at BIGINT NOT NULL, state TEXT NOT NULL, overrides TEXT NOT NULL, miles_version BIGINT, failure_reason TEXT,
                customer_consent TEXT, abandonment TEXT)
            """,
            """
            CREATE TABLE holds (
                id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, set_by TEXT NOT NULL,
                set_on INT NOT NULL, lifted_on INT, lifted_by TEXT)
            """,
            "CREATE INDEX holds_contract ON holds (contract_number)",
            """
            CREATE TABLE notices (
                id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, kind TEXT NOT NULL, sent_on INT NOT NULL, remedy_date INT,
                recorded_by TEXT NOT NULL)
            """,
            "CREATE INDEX notices_contract ON notices (contract_number)",
            """
            CREATE TABLE contract_notes (
                id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, category TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL,
                requested_by TEXT NOT NULL, requested_at BIGINT NOT NULL, state TEXT NOT NULL, miles_note_id TEXT, failure_reason TEXT)
            """,
            """
            CREATE TABLE contact_changes (
                id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, partner_id TEXT NOT NULL, expected_version BIGINT NOT NULL,
                line1 TEXT, line2 TEXT, town TEXT, postcode TEXT, country TEXT, phone TEXT, email TEXT, source TEXT NOT NULL,
                requested_by TEXT NOT NULL, requested_at BIGINT NOT NULL, state TEXT NOT NULL, miles_version BIGINT, failure_reason TEXT)
            """,
            """
            CREATE TABLE placements (
                id BIGSERIAL PRIMARY KEY, agent TEXT NOT NULL, contract_number TEXT NOT NULL, file_name TEXT NOT NULL,
                status_change_id BIGINT NOT NULL, placed_at BIGINT NOT NULL, recalled_at BIGINT)
            """,
            "CREATE UNIQUE INDEX placements_open ON placements (contract_number) WHERE recalled_at IS NULL",
            """
            CREATE TABLE agent_instructions (
                id BIGSERIAL PRIMARY KEY, agent TEXT NOT NULL, contract_number TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
                created_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE inbox_files (
                id BIGSERIAL PRIMARY KEY, agent TEXT NOT NULL, sha256 TEXT NOT NULL, original_name TEXT NOT NULL, stored_path TEXT NOT NULL,
                size BIGINT NOT NULL, channel TEXT NOT NULL, received_at BIGINT NOT NULL, state TEXT NOT NULL,
                lines_done BIGINT NOT NULL DEFAULT 0, applied BIGINT NOT NULL DEFAULT 0, refused BIGINT NOT NULL DEFAULT 0,
                rejected BIGINT NOT NULL DEFAULT 0, failure_reason TEXT, finished_at BIGINT, UNIQUE (agent, sha256))
            """,
            """
            CREATE TABLE third_party_updates (
                id BIGSERIAL PRIMARY KEY, inbox_file_id BIGINT NOT NULL REFERENCES inbox_files (id), line BIGINT NOT NULL,
                agent TEXT NOT NULL, contract_number TEXT NOT NULL, kind TEXT NOT NULL, details TEXT NOT NULL, outcome TEXT NOT NULL,
                refusal TEXT, received_at BIGINT NOT NULL, amount BIGINT, currency TEXT, paid_on INT, agent_reference TEXT,
                UNIQUE (inbox_file_id, line))
            """,
            "CREATE INDEX third_party_updates_contract ON third_party_updates (contract_number)",
            """
            CREATE TABLE ingest_row_errors (
                inbox_file_id BIGINT NOT NULL REFERENCES inbox_files (id), line BIGINT NOT NULL, column_name TEXT NOT NULL,
                value TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (inbox_file_id, line))
            """,
            """
            CREATE TABLE credit_notes (
                id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, invoice_numbers TEXT NOT NULL, \(unescaped: approvalTrail))
            """,
            "CREATE INDEX credit_notes_contract ON credit_notes (contract_number, state)",
            """
            CREATE TABLE writeoff_reversals (
                id BIGSERIAL PRIMARY KEY, writeoff_request_id BIGINT NOT NULL REFERENCES writeoff_requests (id),
                miles_writeoff_id TEXT NOT NULL, contract_number TEXT NOT NULL, \(unescaped: approvalTrail))
            """,
            "CREATE INDEX writeoff_reversals_writeoff ON writeoff_reversals (writeoff_request_id, state)",
            """
            CREATE TABLE decision_approvals (
                kind TEXT NOT NULL, record_id BIGINT NOT NULL, approver TEXT NOT NULL, role TEXT NOT NULL, matrix_version BIGINT NOT NULL,
                at BIGINT NOT NULL, comment TEXT, PRIMARY KEY (kind, record_id, approver))
            """,
            """
            CREATE TABLE letter_requests (
                id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, letter_type TEXT NOT NULL, requested_by TEXT NOT NULL,
                requested_at BIGINT NOT NULL, state TEXT NOT NULL, miles_letter_id TEXT, serve_date INT, remedy_date INT, failure_reason TEXT)
            """,
            "CREATE INDEX letter_requests_contract ON letter_requests (contract_number, letter_type, state)",
            """
            CREATE TABLE arrangements (
                id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, frequency TEXT NOT NULL, is_settlement BOOLEAN NOT NULL,
                currency TEXT NOT NULL, proposed_by TEXT NOT NULL, proposed_at BIGINT NOT NULL, state TEXT NOT NULL,
                required_role TEXT NOT NULL, required_rank BIGINT NOT NULL, approvals_needed BIGINT NOT NULL, matrix_version BIGINT NOT NULL,
                reduction BIGINT NOT NULL, term_months BIGINT NOT NULL, is_token BOOLEAN NOT NULL, monthly_income BIGINT NOT NULL,
                monthly_expenditure BIGINT NOT NULL, income_recorded_on INT NOT NULL, income_recorded_by TEXT NOT NULL, miles_reference TEXT,
                paid_before BIGINT, cancel_reason TEXT, outcome TEXT, failure_reason TEXT, closing_status_change BIGINT, decided_at BIGINT,
                broken_on INT, cancel_requested_by TEXT)
            """,
            "CREATE INDEX arrangements_contract ON arrangements (contract_number, state)",
            """
            CREATE TABLE arrangement_instalments (
                arrangement_id BIGINT NOT NULL REFERENCES arrangements (id), position BIGINT NOT NULL, due_date INT NOT NULL,
                amount BIGINT NOT NULL, PRIMARY KEY (arrangement_id, position))
            """,
            """
            CREATE TABLE reported_arrangements (
                id BIGSERIAL PRIMARY KEY, contract_number TEXT NOT NULL, agent TEXT NOT NULL, reported_on INT NOT NULL, details TEXT NOT NULL,
                source TEXT NOT NULL, arrangement_id BIGINT REFERENCES arrangements (id))
            """,
            "CREATE INDEX reported_arrangements_open ON reported_arrangements (contract_number) WHERE arrangement_id IS NULL",
        ]),
        // An allocation's id is its bank entry's (at most one each): the outbox's subject and client reference.
        // A payment in transit an allocation matched is marked on the agent's update, so it is not matched twice.
        ("v5: bank statements, their entries, payment allocations and the accounts customers pay from", [
            """
            CREATE TABLE bank_statements (
                id BIGSERIAL PRIMARY KEY, file_sha256 TEXT NOT NULL, index_in_file BIGINT NOT NULL, file_name TEXT NOT NULL,
                stored_path TEXT NOT NULL, format TEXT NOT NULL, account TEXT NOT NULL, currency TEXT NOT NULL, statement_ref TEXT NOT NULL,
                sequence_number TEXT, opening_amount BIGINT NOT NULL, opening_mark TEXT NOT NULL, opening_date INT NOT NULL,
                closing_amount BIGINT NOT NULL, closing_mark TEXT NOT NULL, closing_date INT NOT NULL, entry_count BIGINT NOT NULL,
                first_position BIGINT NOT NULL, positions_done BIGINT NOT NULL, state TEXT NOT NULL, continuity TEXT NOT NULL,
                gap_amount BIGINT, gap_currency TEXT, gap_mark TEXT, gap_date INT, received_at BIGINT NOT NULL, finished_at BIGINT,
                UNIQUE (file_sha256, index_in_file))
            """,
            "CREATE INDEX bank_statements_account ON bank_statements (account, closing_date, id)",
            """
            CREATE TABLE bank_entries (
                id BIGSERIAL PRIMARY KEY, statement_id BIGINT NOT NULL REFERENCES bank_statements (id), account TEXT NOT NULL,
                identity TEXT NOT NULL UNIQUE, position BIGINT NOT NULL, bank_reference TEXT, booking_date INT NOT NULL, value_date INT NOT NULL,
                amount BIGINT NOT NULL, currency TEXT NOT NULL, mark TEXT NOT NULL, is_reversal BOOLEAN NOT NULL, return_reason TEXT,
                remittance TEXT NOT NULL, counterparty_name TEXT, counterparty_account TEXT, end_to_end_id TEXT, instructed_amount BIGINT,
                instructed_currency TEXT, state TEXT NOT NULL, reason TEXT, candidates TEXT NOT NULL, reverses_entry_id BIGINT)
            """,
            "CREATE INDEX bank_entries_state ON bank_entries (state, booking_date, id)",
            "CREATE INDEX bank_entries_booked ON bank_entries (booking_date)",
            "CREATE INDEX bank_entries_payment ON bank_entries (account, amount, booking_date)",
            "CREATE INDEX bank_entries_reverses ON bank_entries (reverses_entry_id) WHERE reverses_entry_id IS NOT NULL",
            """
            CREATE TABLE payment_allocations (
                id BIGINT PRIMARY KEY REFERENCES bank_entries (id), contract_number TEXT NOT NULL, lines TEXT NOT NULL, allocated BIGINT NOT NULL,
                suspense BIGINT NOT NULL, currency TEXT NOT NULL, value_date INT NOT NULL, account TEXT NOT NULL, bank_reference TEXT NOT NULL,
                allocated_by TEXT NOT NULL, by_hand BOOLEAN NOT NULL, reason TEXT NOT NULL, confidence BIGINT NOT NULL, state TEXT NOT NULL,
                miles_allocation_id TEXT, failure_reason TEXT, allocated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX payment_allocations_contract ON payment_allocations (contract_number, state)",
            "CREATE TABLE bank_payer_accounts (account TEXT NOT NULL, partner_id TEXT NOT NULL, PRIMARY KEY (account, partner_id))",
            "CREATE INDEX bank_payer_accounts_partner ON bank_payer_accounts (partner_id)",
            "ALTER TABLE third_party_updates ADD COLUMN bank_entry_id BIGINT",
            "CREATE INDEX invoices_number ON invoices (invoice_number)",
        ]),
        // A name is found by the starts of its words as SQLite's index finds it: accents folded ("zoe"
        // finds Zoë) and punctuation a break between words (the 'simple' parser reads "<Ltd>" as a tag
        // and leaves it out, and "O’Brien" as one word). lower() leaves letters beyond ASCII alone in a
        // C-locale database, so both cases are folded by hand. The index's function calls only
        // pg_catalog's functions: ANALYZE and autovacuum run it with no other schema on the search
        // path. Immutable, so the index holds the words: changing the fold takes a new migration that
        // rebuilds the index.
        ("v6: customers' names searched with their accents folded and punctuation breaking words", [
            PostgresQuery(unsafeSQL: """
                CREATE FUNCTION miles_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
                AS $$ SELECT \(NameFolding.fold("value")) $$
                """),
            PostgresQuery(unsafeSQL: """
                CREATE FUNCTION miles_name_words(name text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
                AS $$ SELECT to_tsvector('simple', regexp_replace(\(NameFolding.fold("name")), '[[:punct:]\(NameFolding.punctuation)]+', ' ', 'g')) $$
                """),
            "DROP INDEX customers_name_words",
            "CREATE INDEX customers_name_words ON customers USING gin (miles_name_words(name))",
        ]),
        // v6's fold ran on the server for each customer a sync wrote: half the time of the customers'
        // insert in a first sync. The adapter now folds each name into `name_search`
        // (`NameFolding.searchText`) and the index reads that; the names stored before are folded here,
        // by the same rule, after v6's index is dropped (kept, it would fold each name again as it is
        // rewritten). Case is left to the 'simple' configuration, which lowers a name's words and a
        // query's alike. The table is rewritten, locked the while: every process must run this version.
        ("v7: customers' names folded by the adapter into a column of their own, which the names' index reads", [
            "DROP INDEX customers_name_words",
            "ALTER TABLE customers ADD COLUMN name_search TEXT",
            PostgresQuery(unsafeSQL: "UPDATE customers SET name_search = \(NameFolding.searchText(column: "name"))"),
            "ALTER TABLE customers ALTER COLUMN name_search SET NOT NULL",
            "CREATE INDEX customers_name_words ON customers USING gin (to_tsvector('simple', name_search))",
            "DROP FUNCTION miles_name_words(text)",
            "DROP FUNCTION miles_fold(text)",
        ]),
        // A foreign key checks each row on its own: for each invoice a sync wrote, a look-up of its
        // contract, started and locked as a query of its own. That was a quarter of the server's time in
        // a first sync. The same links are now checked once a statement, over the rows it wrote
        // (`keyMustExist`, `keyMustNotBeReferred`), refused as the foreign key refused (SQLSTATE 23503,
        // its name, the key in the detail). Unlike a foreign key, the check does not lock the row it
        // found. The sync needs no such lock: its upserts lock each contract and customer of its page
        // (ON CONFLICT DO UPDATE locks the row it meets even when it changes nothing), so a delete waits
        // for the sync and its own check then sees the invoices. Two writers that lock nothing, say an
        // invoice inserted by hand while its contract is deleted by hand, can leave it dangling; the
        // adapter never deletes a contract or a customer, nor changes a key. `customers.id` went unused:
        // the partner id is the key (its index rebuilt, the table locked the while).
        ("v8: invoices, contracts and customers kept linked by checks a statement at a time; customers keyed by their partner id", [
            "ALTER TABLE invoices DROP CONSTRAINT invoices_contract_number_fkey",
            "ALTER TABLE contracts DROP CONSTRAINT contracts_partner_id_fkey",
            "ALTER TABLE customers DROP COLUMN id",
            "ALTER TABLE customers DROP CONSTRAINT customers_partner_id_key, ADD PRIMARY KEY (partner_id)",
        ] + keyMustExist(in: "invoices", key: "contract_number", of: "contracts", constraint: "invoices_contract_number_fkey",
                         refusal: "an invoice of contract % which the store does not hold")
          + keyMustExist(in: "contracts", key: "partner_id", of: "customers", constraint: "contracts_partner_id_fkey",
                         refusal: "a contract of customer % whom the store does not hold")
          + keyMustNotBeReferred(in: "contracts", key: "contract_number", by: "invoices", constraint: "invoices_contract_number_fkey",
                                 refusal: "contract % still has invoices")
          + keyMustNotBeReferred(in: "customers", key: "partner_id", by: "contracts", constraint: "contracts_partner_id_fkey",
                                 refusal: "customer % still has contracts")),
        // An allocation counts against the open amounts MILES showed until a sync reads a change made
        // after it was first sent (BankStore.bankMatchData). Those sent before this version are taken as
        // sent when they were made, as the open amounts counted them then.
        ("v9: when an allocation was first sent to MILES", [
            "ALTER TABLE payment_allocations ADD COLUMN sent_at BIGINT",
            """
            UPDATE payment_allocations SET sent_at = allocated_at WHERE state <> 'pending' OR id IN (
                SELECT subject_id FROM outbox WHERE kind = 'AllocatePayment' AND attempts > 0)
            """,
        ]),
        // A posted credit note or write-off counts against the open amounts until the store holds that
        // version of the contract (ReliefStore). Those posted before this version have none and are taken as shown.
        ("v10: the contract version MILES made posting a credit note or write-off", [
            "ALTER TABLE credit_notes ADD COLUMN miles_contract_version BIGINT",
            "ALTER TABLE writeoff_requests ADD COLUMN miles_contract_version BIGINT",
        ]),
    ]

    /// Statements making every statement that inserts rows of `table`, or changes their `key`, fail
    /// with `refusal` (its % the key) when a row's `key` is not one of `parent`'s: the check of the
    /// foreign key `constraint`, a statement at a time. An update's keys that were there before it are
    /// not looked up again. Each key is looked up on its own (`LATERAL … LIMIT 1`), which the sync's
    /// `enable_seqscan = off` makes a look-up by `parent`'s index, and the query is planned when it runs
    /// (`EXECUTE`): a plan cached by the function would keep what it chose for the first page of a
    /// sync. The function reads tables by the `search_path` of the migration, whatever the caller's
    /// (pg_restore and autovacuum run with an empty one).
    private static func keyMustExist(in table: String, key: String, of parent: String, constraint: String, refusal: String) -> [PostgresQuery] {
        let function = "\(table)_need_\(parent)"
        return [
            PostgresQuery(unsafeSQL: """
                CREATE FUNCTION \(function)() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
                DECLARE missing TEXT;
                BEGIN
                    EXECUTE 'SELECT written.\(key) FROM ' || CASE TG_OP WHEN 'INSERT' THEN 'added' ELSE '(SELECT \(key) FROM added EXCEPT SELECT \(key) FROM removed)' END
                        || ' AS written LEFT JOIN LATERAL (SELECT true AS present FROM \(parent) WHERE \(parent).\(key) = written.\(key) LIMIT 1) found ON true
                            WHERE found.present IS NULL LIMIT 1' INTO missing;
                    IF missing IS NOT NULL THEN
                        RAISE EXCEPTION '\(refusal)', missing USING ERRCODE = 'foreign_key_violation', TABLE = '\(table)', CONSTRAINT = '\(constraint)',
                            DETAIL = format('Key (\(key))=(%s) is not present in table "\(parent)".', missing);
                    END IF;
                    RETURN NULL;
                END $$
                """),
            statementTrigger(calling: function, after: "INSERT", on: table, referencing: "NEW TABLE AS added"),
            statementTrigger(calling: function, after: "UPDATE", on: table, referencing: "OLD TABLE AS removed NEW TABLE AS added"),
        ]
    }

    /// Statements making every statement that deletes rows of `table`, changes their `key`, or empties
    /// it fail with `refusal` (its % the key) while `child` still refers to a key gone: the other half
    /// of `keyMustExist`'s link. An update's keys still there after it are not looked at.
    private static func keyMustNotBeReferred(in table: String, key: String, by child: String, constraint: String,
                                             refusal: String) -> [PostgresQuery] {
        let function = "\(table)_keep_\(child)"
        return [
            PostgresQuery(unsafeSQL: """
                CREATE FUNCTION \(function)() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
                DECLARE orphaned TEXT;
                BEGIN
                    IF TG_OP = 'TRUNCATE' THEN
                        -- After every table the TRUNCATE names is emptied: the child too, or not.
                        SELECT \(key) INTO orphaned FROM \(child) LIMIT 1;
                    ELSE
                        EXECUTE 'SELECT gone.\(key) FROM ' || CASE TG_OP WHEN 'DELETE' THEN 'removed' ELSE '(SELECT \(key) FROM removed EXCEPT SELECT \(key) FROM added)' END
                            || ' AS gone LEFT JOIN LATERAL (SELECT true AS present FROM \(table) WHERE \(table).\(key) = gone.\(key) LIMIT 1) still ON true
                                WHERE still.present IS NULL AND EXISTS (SELECT 1 FROM \(child) WHERE \(child).\(key) = gone.\(key)) LIMIT 1'
                            INTO orphaned;
                    END IF;
                    IF orphaned IS NOT NULL THEN
                        RAISE EXCEPTION '\(refusal)', orphaned USING ERRCODE = 'foreign_key_violation', TABLE = '\(table)', CONSTRAINT = '\(constraint)',
                            DETAIL = format('Key (\(key))=(%s) is still referenced from table "\(child)".', orphaned);
                    END IF;
                    RETURN NULL;
                END $$
                """),
            statementTrigger(calling: function, after: "DELETE", on: table, referencing: "OLD TABLE AS removed"),
            statementTrigger(calling: function, after: "UPDATE", on: table, referencing: "OLD TABLE AS removed NEW TABLE AS added"),
            statementTrigger(calling: function, after: "TRUNCATE", on: table, referencing: nil),
        ]
    }

    /// A trigger `function_on_event` calling `function` once after each statement that does `event`
    /// to `table`, with the transition tables `referencing` names (TRUNCATE has none).
    private static func statementTrigger(calling function: String, after event: String, on table: String, referencing: String?) -> PostgresQuery {
        PostgresQuery(unsafeSQL: """
            CREATE TRIGGER \(function)_on_\(event.lowercased()) AFTER \(event) ON \(table)\(referencing.map { " REFERENCING \($0)" } ?? "")
            FOR EACH STATEMENT EXECUTE FUNCTION \(function)()
            """)
    }

    /// The columns a credit note and a write-off reversal share: the amount, the reason, and the approvals' trail.
    private static let approvalTrail = """
        amount BIGINT NOT NULL, currency TEXT NOT NULL, reason_code TEXT NOT NULL, comment TEXT NOT NULL, requested_by TEXT NOT NULL,
        requested_at BIGINT NOT NULL, state TEXT NOT NULL, required_role TEXT NOT NULL, approvals_needed BIGINT NOT NULL,
        matrix_version BIGINT NOT NULL, miles_reference TEXT, failure_reason TEXT, decided_at BIGINT, rejection TEXT
        """

    /// How long the migrations may take: one may rewrite a table of millions of rows (v7 rewrites the
    /// customers), far longer than a call's `operationTimeout`, and given up it would be rolled back
    /// and begun again by every run.
    static let migrationTimeout: Duration = .seconds(3600)

    /// Applies the migrations not yet applied.
    static func migrate(_ store: PostgresStore) async throws {
        try await store.transaction(within: migrationTimeout) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('miles-adapter schema'))", logger: store.logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: store.logger)
            let applied = Set(try await store.rows("SELECT name FROM schema_migrations", on: connection).map { try $0.value("name", as: String.self) })
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try await connection.query(statement, logger: store.logger) }
                try await connection.query("INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger: store.logger)
            }
        }
    }
}

extension PostgresStore: SchemaStore {
    public func migrations() async throws -> [SchemaMigration] {
        try await read { [self] connection in try PostgresSchema.status(try await rows("SELECT name, applied_at FROM schema_migrations", on: connection)) }
    }
}

extension PostgresStore {
    /// The migrations of the store at `location` and which are applied, without migrating it.
    public static func schemaStatus(location: PostgresLocation, logger: Logger = Logger(label: "miles-adapter.postgres")) async throws -> [SchemaMigration] {
        let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: PostgresStore.poolLogger(logger))
        return try await withThrowingTaskGroup(of: [SchemaMigration]?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            let exists = try await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").collect()
                .first?.makeRandomAccess().value("present", as: Bool.self) ?? false
            let applied = exists ? try await client.query("SELECT name, applied_at FROM schema_migrations").collect().map { $0.makeRandomAccess() } : []
            return try PostgresSchema.status(applied)
        }
    }
}

extension PostgresSchema {
    /// Every migration, in order, with when it was applied, from the rows of `schema_migrations`.
    static func status(_ applied: [PostgresRandomAccessRow]) throws -> [SchemaMigration] {
        var appliedAt: [String: Date] = [:]
        for row in applied { appliedAt[try row.value("name", as: String.self)] = try row.value("applied_at", as: Date.self) }
        return migrations.map { migration in
            SchemaMigration(name: migration.name, isApplied: appliedAt[migration.name] != nil,
                            appliedAt: appliedAt[migration.name].map { Timestamp(millisecondsSinceEpoch: Int64($0.timeIntervalSince1970 * 1000)) })
        }
    }
}

/// The letters of Latin scripts with accents (both cases) and the plain lower-case letter each is
/// searched as, and the punctuation that breaks a name into words: how a name is folded for search,
/// by migrations v6 and v7 on the server and by `searchText` in the adapter, alike.
enum NameFolding {
    /// Punctuation beyond ASCII that names are written with (curly quotes, dashes, guillemets): a C-locale
    /// database's `[[:punct:]]` knows only ASCII's, and its parser reads these as letters of a word.
    static let punctuation = "’‘“”–—«»„…"
    /// SQL folding `column` (lower case, accents off), through pg_catalog's functions only (v6).
    static func fold(_ column: String) -> String { "lower(translate(\(column), '\(accented)', '\(plain)'))" }

    static let accented = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöøùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĴĵĶķĹĺĻļĽľĿŀŁłŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŧŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƀƚƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ"
    static let plain = "aaaaaaceeeeiiiinoooooouuuuyaaaaaaceeeeiiiinoooooouuuuyyaaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiijjkkllllllllllnnnnnnoooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzbloouuaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruuuusstthhaaeeooooooooyy"

    /// SQL folding `column` as `searchText` folds a name (v7), through pg_catalog's functions only. The
    /// punctuation is spelt out: what `[[:punct:]]` matches depends on the database's locale (in
    /// C.UTF-8 it takes combining accents too).
    static func searchText(column: String) -> String {
        "regexp_replace(translate(\(column), '\(accented)', '\(plain)'), '[!-/:-@[-`{-~\(punctuation)]+', ' ', 'g')"
    }

    /// `name` as the names' index reads it (v7's `name_search`): each accented letter of the table
    /// replaced by its plain one, code point by code point as SQL's `translate` does, and each run of
    /// punctuation (ASCII's and `punctuation`) by a space, as `searchText(column:)` does on the server.
    static func searchText(_ name: String) -> String {
        var folded = String.UnicodeScalarView()
        var inPunctuation = false
        for scalar in name.unicodeScalars {
            if breaksWords.contains(scalar) {
                if !inPunctuation { folded.append(" ") }
                inPunctuation = true
                continue
            }
            inPunctuation = false
            folded.append(plainLetter[scalar] ?? scalar)
        }
        return String(folded)
    }

    private static let plainLetter: [Unicode.Scalar: Unicode.Scalar] = Dictionary(
        uniqueKeysWithValues: zip(accented.unicodeScalars, plain.unicodeScalars))
    /// ASCII's punctuation (the ranges `searchText(column:)` names) and `punctuation`.
    private static let breaksWords = Set(["!"..."/", ":"..."@", "["..."`", "{"..."~"].flatMap { (range: ClosedRange<Unicode.Scalar>) in
        (range.lowerBound.value...range.upperBound.value).compactMap(Unicode.Scalar.init)
    }).union(punctuation.unicodeScalars)
}
