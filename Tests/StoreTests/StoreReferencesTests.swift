import CollectionsDomain
import CollectionsStore
@testable import CollectionsStorePostgres
import PostgresNIO
import Testing
import TestSupport

@Suite("The store keeps each invoice with its contract and each contract with its customer, whoever writes to it", .timeLimit(.minutes(2)))
struct StoreReferencesTests {
    let now = Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)

    /// Changes that would leave an invoice without its contract or a contract without its customer,
    /// made behind the store's back, with the key each leaves dangling.
    static let dangling: [(sql: String, key: String)] = [
        ("INSERT INTO invoices (contract_number, position, invoice_number, issue_date, due_date, amount, open_amount) "
            + "VALUES ('C404', 0, 'INV-404', 20300, 20330, 100, 100)", "C404"),
        ("UPDATE invoices SET contract_number = 'C405' WHERE contract_number = 'C1'", "C405"),
        ("""
         INSERT INTO contracts (contract_number, version, status_code, agreement_type, start_date, currency, total_price, paid_to_date,
             monthly_payment, arrears_amount, missed_payments, partner_id, vehicle_registration, vehicle_vin, vehicle_make, vehicle_model,
             last_modified) VALUES ('C2', 1, 'ACTV', 'hirePurchase', 19000, 'GBP', 100, 0, 10, 0, 0, 'P-404', 'AB12 CDE', 'VIN', 'Ford', 'Focus', 0)
         """, "P-404"),
        ("UPDATE contracts SET partner_id = 'P-405' WHERE contract_number = 'C1'", "P-405"),
        ("DELETE FROM contracts WHERE contract_number = 'C1'", "C1"),
        ("UPDATE contracts SET contract_number = 'C9' WHERE contract_number = 'C1'", "C1"),
        ("DELETE FROM customers WHERE partner_id = 'P-C1'", "P-C1"),
        ("UPDATE customers SET partner_id = 'P-9' WHERE partner_id = 'P-C1'", "P-C1"),
    ]

    /// PostgreSQL's ways to empty a table (SQLite has no TRUNCATE), with the key each leaves dangling.
    static let emptied: [(sql: String, key: String)] = [
        ("TRUNCATE contracts", "C1"),
        ("TRUNCATE customers", "P-C1"),
        ("TRUNCATE customers, contracts", "C1"),
    ]

    @Test("a change leaving an invoice without its contract, or a contract without its customer, is refused whole, naming the key",
          arguments: StoreKind.available)
    func danglingChangesRefused(kind: StoreKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = try await database.open()
            let contract = sampleContract("C1")
            let run = try await store.startRun(job: "contracts", mode: "full", startedAt: now)
            #expect(try await store.commitPage([contract], checkpoint: SyncCheckpoint(nextChangedSince: now), job: "contracts", runId: run,
                                               alerts: [], at: now) == 1)
            for change in Self.dangling + (kind == .postgres ? Self.emptied : []) {
                let refusal = await #expect(throws: (any Error).self, "\(change.sql)") { try await database.execute(change.sql) }
                if kind == .postgres {
                    // SQLite's foreign keys say only that one failed; PostgreSQL's checks say what its foreign keys said, and name the key.
                    let error = try #require(refusal as? PSQLError, "\(change.sql)")
                    #expect(error.serverInfo?[.sqlState] == "23503", "\(change.sql)")
                    #expect(error.serverInfo?[.message]?.contains(change.key) == true, "\(change.sql): \(String(describing: error.serverInfo?[.message]))")
                    #expect(error.serverInfo?[.detail]?.contains("=(\(change.key))") == true, "\(change.sql)")
                    #expect(["invoices_contract_number_fkey", "contracts_partner_id_fkey"].contains(error.serverInfo?[.constraintName]), "\(change.sql)")
                }
            }
            // Changes that keep every link: a key updated to itself, other columns, a customer's new contract.
            try await database.execute("UPDATE contracts SET version = 9, partner_id = partner_id WHERE contract_number = 'C1'")
            try await database.execute("UPDATE invoices SET open_amount = open_amount WHERE contract_number = 'C1'")
            try await database.execute("UPDATE customers SET name = name WHERE partner_id = 'P-C1'")
            try await database.execute("UPDATE contracts SET version = 1 WHERE contract_number = 'C1'")
            #expect(try await store.contract(number: "C1") == contract, "every change refused whole")
            #expect(try await database.integer("SELECT count(*) FROM invoices") == Int64(contract.openInvoices.count))
            #expect(try await database.integer("SELECT count(*) FROM contracts") == 1)

            // A contract that goes with its invoices, and a customer with its contracts, leave nothing dangling.
            let removal = kind == .postgres
                ? "WITH invoices_gone AS (DELETE FROM invoices WHERE contract_number = 'C1') DELETE FROM contracts WHERE contract_number = 'C1'"
                : "DELETE FROM invoices WHERE contract_number = 'C1'; DELETE FROM contracts WHERE contract_number = 'C1'"
            try await database.execute(removal)
            try await database.execute("DELETE FROM customers WHERE partner_id = 'P-C1'")
            #expect(try await database.integer("SELECT count(*) FROM customers") == 0)
        }
    }

    @Test("PostgreSQL: a store that v7 left, with contracts in it, is migrated: the same rows, customers keyed by their partner id, the links checked",
          .enabled(if: StoreKind.postgresURL != nil))
    func upgradeFromVersion7() async throws {
        try await TestDatabase.with(.postgres) { database in
            // The store as v7 left it: each migration's own statements up to v7, recorded as the store records them.
            try await database.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            for migration in PostgresSchema.migrations.prefix(while: { !$0.name.hasPrefix("v8:") }) {
                for statement in migration.statements { try await database.execute(statement) }
                let record: PostgresQuery = "INSERT INTO schema_migrations (name) VALUES (\(migration.name))"
                try await database.execute(record)
            }
            try await database.execute("""
                INSERT INTO customers (partner_id, name, name_search, kind, line1, town, postcode, country, phones, vulnerable, version)
                    VALUES ('P1', 'Ada Lovelace', 'Ada Lovelace', 'consumer', '1 Park Row', 'Leeds', 'LS1 4AB', 'GB', '', false, 3)
                """)
            try await database.execute("""
                INSERT INTO contracts (contract_number, version, status_code, agreement_type, start_date, currency, total_price,
                    paid_to_date, monthly_payment, arrears_amount, missed_payments, partner_id, vehicle_registration, vehicle_vin,
                    vehicle_make, vehicle_model, last_modified) VALUES ('C9', 4, 'DEF', 'hirePurchase', 19000, 'GBP', 100, 0, 10, 0, 0, 'P1',
                    'AB12 CDE', 'VIN', 'Ford', 'Focus', 0)
                """)
            try await database.execute("INSERT INTO invoices VALUES ('C9', 0, 'INV-9', 20300, 20330, 100, 60)")
            #expect(try await database.integer("SELECT count(*) FROM schema_migrations") == 7)

            let store = try await database.open()
            let contract = try #require(try await store.contract(number: "C9"))
            #expect(contract.customer.partnerId == "P1")
            #expect(contract.openInvoices.map(\.openAmount.minorUnits) == [60])
            #expect(try await database.integer("""
                SELECT count(*) FROM information_schema.columns WHERE table_name = 'customers' AND column_name = 'id'
                """) == 0)
            #expect(try await database.integer("""
                SELECT count(*) FROM pg_constraint WHERE conrelid = 'customers'::regclass AND contype = 'p'
                    AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attname = 'partner_id')]
                """) == 1)
            let refused = Self.dangling.filter { !$0.sql.contains("'C1'") && !$0.sql.contains("'P-C1'") }.map(\.sql)
                + ["DELETE FROM contracts WHERE contract_number = 'C9'", "TRUNCATE customers"]
            for sql in refused {
                let refusal = await #expect(throws: PSQLError.self, "\(sql)") { try await database.execute(sql) }
                #expect(refusal?.serverInfo?[.sqlState] == "23503", "\(sql)")
            }
        }
    }
}
