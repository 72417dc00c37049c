import CollectionsDomain
import CollectionsStore
@testable import CollectionsStorePostgres
@testable import CollectionsStoreSQLite
import Foundation
import GRDB
import PostgresNIO
import Testing
import TestSupport

/// A contract of `number` for a customer `name` at `postcode`, one open invoice of `open` pence.
private func customerContract(_ number: String, name: String, postcode: String = "LS1 1AA", partnerId: String? = nil,
                              version: Int64 = 1, open: Int64 = 10_000) -> Contract {
    let gbp = CurrencyCode.gbp
    let due = LocalDate.parse("2026-08-01")!
    return Contract(
        contractNumber: number, version: version, statusCode: "DEF", agreementType: .hirePurchase, startDate: LocalDate.parse("2024-01-15")!,
        endDate: nil, currency: gbp, totalPrice: Money(minorUnits: 1_200_000, currency: gbp), paidToDate: Money(minorUnits: 0, currency: gbp),
        monthlyPayment: Money(minorUnits: 25_000, currency: gbp),
        arrears: Arrears(amount: Money(minorUnits: open, currency: gbp), oldestUnpaidDueDate: due, missedPayments: 1),
        customer: Customer(partnerId: partnerId ?? "P-\(number)", name: name, kind: .business,
                           address: PostalAddress(line1: "1 High Street", line2: nil, town: "Leeds", postcode: postcode, country: "GB"),
                           phones: [], email: nil, vulnerable: false),
        vehicle: Vehicle(registration: "AB12 CDE", vin: "VIN\(number)", make: "Ford", model: "Focus"),
        openInvoices: [Invoice(number: "INV-\(number)", issueDate: due, dueDate: due, amount: Money(minorUnits: open, currency: gbp),
                               openAmount: Money(minorUnits: open, currency: gbp))],
        lastModified: Timestamp(secondsSinceEpoch: 1_790_000_000 + version), lastPaymentDate: nil)
}

private func commit(_ contracts: [Contract], to store: any SyncStore) async throws -> Int {
    let run = try await store.startRun(job: "contracts", mode: "test", startedAt: Timestamp(secondsSinceEpoch: 1_790_000_000))
    return try await store.commitPage(contracts, checkpoint: SyncCheckpoint(), job: "contracts", runId: run, alerts: [],
                                      at: Timestamp(secondsSinceEpoch: 1_790_000_000))
}

@Suite("Contract search reads indexes: number and postcode from their start, names by the starts of their words (issue 13, figures)")
struct ContractSearchTests {
    @Test("a name is found by the start of any of its words, whatever the case, accents or punctuation typed",
          arguments: StoreKind.available)
    func names(kind: StoreKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            _ = try await commit([
                customerContract("C001", name: "O'Brien & Sons <Ltd>"), customerContract("C002", name: "Zoë Brien-Hughes"),
                customerContract("C003", name: "Smith Haulage Ltd"), customerContract("C004", name: "Jane Patel"),
                customerContract("C005", name: "Dónal O’Neill–Jones «Fleet»"),
            ], to: store)
            func numbers(_ text: String) async throws -> [String] { try await store.searchContracts(matching: text, limit: 10).map(\.contractNumber) }
            #expect(try await numbers("brien") == ["C001", "C002"])
            #expect(try await numbers("O'Brien") == ["C001", "C002"], "a one-letter word is left out beside longer ones")
            #expect(try await numbers("o").isEmpty, "names are looked up from two letters")
            #expect(try await numbers("sons ltd") == ["C001"], "every word must start a word of the name")
            #expect(try await numbers("zoe") == ["C002"], "accents are not needed")
            #expect(try await numbers("HUGH") == ["C002"])
            #expect(try await numbers("pat jan") == ["C004"], "in any order")
            #expect(try await numbers("rien").isEmpty, "the middle of a word does not match")
            #expect(try await numbers("ltd smith haulage") == ["C003"])
            #expect(try await numbers("neill jones fleet") == ["C005"], "curly quotes, dashes and guillemets break words too")
            #expect(try await numbers("donal") == ["C005"])
        }
    }

    @Test("numbers from their start and postcodes with or without their space, in any case; nothing typed is read as query syntax",
          arguments: StoreKind.available)
    func numbersPostcodesAndSyntax(kind: StoreKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            _ = try await commit([
                customerContract("C00010", name: "Ann Lee", postcode: "SW1A 1AA"), customerContract("C00011", name: "Bo Lee", postcode: "LS1 4BT"),
                customerContract("D00012", name: "Cy Lee", postcode: "M1 1AE"),
            ], to: store)
            func numbers(_ text: String) async throws -> [String] { try await store.searchContracts(matching: text, limit: 10).map(\.contractNumber) }
            #expect(try await numbers("c0001") == ["C00010", "C00011"])
            #expect(try await numbers("d") == ["D00012"])
            #expect(try await numbers("sw1a1aa") == ["C00010"])
            #expect(try await numbers("ls1 4") == ["C00011"])
            #expect(try await numbers("C0001%").isEmpty, "% is a character, not a wildcard")
            #expect(try await numbers("C_0010").isEmpty, "_ is a character, not a wildcard")
            for hostile in ["\"", "lee\"", "*", "lee*", "NEAR(lee ann)", "lee AND ann", "-lee", "^lee", "lee:ann", "name:lee", "(", "'", "\\", "  "] {
                _ = try await numbers(hostile)
            }
            #expect(try await numbers("lee OR nobody").isEmpty, "OR is a word to find, not an operator")
            #expect(try await numbers("   ").isEmpty)
        }
    }

    @Test("a renamed customer is found by the new name only; more matches than asked for give exactly the limit",
          arguments: StoreKind.available)
    func renamesAndLimits(kind: StoreKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            _ = try await commit((1...120).map { customerContract(String(format: "C%05d", $0), name: "Fleet \($0) Ltd") }, to: store)
            #expect(try await store.searchContracts(matching: "fleet", limit: 51).count == 51)
            #expect(try await store.searchContracts(matching: "C000", limit: 51).count == 51)
            _ = try await commit([customerContract("C00007", name: "Harbour Logistics", version: 2)], to: store)
            #expect(try await store.searchContracts(matching: "harbour", limit: 10).map(\.contractNumber) == ["C00007"])
            #expect(try await store.searchContracts(matching: "fleet 7", limit: 200).map(\.contractNumber).contains("C00007") == false)
            try await store.upsertContract(customerContract("C00007", name: "Harbour & Quay Logistics", version: 3))
            try await store.upsertContract(customerContract("C00007", name: "Quayside Motors", version: 4))
            #expect(try await store.searchContracts(matching: "harbour", limit: 10).isEmpty, "renamed twice, the first name is gone")
            #expect(try await store.searchContracts(matching: "quaysi", limit: 10).map(\.contractNumber) == ["C00007"])
            _ = try await commit([customerContract("C00200", name: "Alpha Vans", partnerId: "PX"),
                                  customerContract("C00201", name: "Beta Vans", partnerId: "PX")], to: store)
            #expect(try await store.searchContracts(matching: "alpha", limit: 10).isEmpty, "renamed within one page")
            #expect(try await store.searchContracts(matching: "beta van", limit: 10).map(\.contractNumber) == ["C00200", "C00201"])
            // FTS5's own check that the index holds exactly the customers' names.
            if let sqlite = store as? SQLiteStore {
                try await sqlite.transaction { db in
                    try db.execute(sql: "INSERT INTO customer_names (customer_names, rank) VALUES ('integrity-check', 1)")
                }
            }
        }
    }

    @Test("the largest open balances by contract and by customer: a customer's contracts summed, largest first, nothing open left out",
          arguments: StoreKind.available)
    func largestOpenBalances(kind: StoreKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            _ = try await commit([
                customerContract("C1", name: "Ann Lee", partnerId: "P1", open: 30_000), customerContract("C2", name: "Ann Lee", partnerId: "P1", open: 25_000),
                customerContract("C3", name: "Bo Lee", partnerId: "P2", open: 40_000), customerContract("C4", name: "Cy Lee", partnerId: "P3", open: 0),
            ], to: store)
            let byContract = try await store.largestOpenBalances(by: .contract, limit: 2)
            #expect(byContract.map(\.key) == ["C3", "C1"])
            #expect(byContract.first?.invoices.map(\.openAmount.minorUnits) == [40_000])
            let byCustomer = try await store.largestOpenBalances(by: .customer, limit: 10)
            #expect(byCustomer.map(\.key) == ["P1", "P2"], "P1's two contracts together owe more than P2; P3 owes nothing")
            #expect(byCustomer.first?.invoices.count == 2)
            #expect(byCustomer.first?.customerName == "Ann Lee")
        }
    }

    @Test("the contracts' revision moves when a page writes a contract or MILES's copy replaces one, not when nothing changed",
          arguments: StoreKind.available)
    func revision(kind: StoreKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let start = try await store.contractsRevision()
            let page = [customerContract("C1", name: "Ann Lee"), customerContract("C2", name: "Bo Lee")]
            #expect(try await commit(page, to: store) == 2)
            let afterSync = try await store.contractsRevision()
            #expect(afterSync != start)
            #expect(try await commit(page, to: store) == 0)
            #expect(try await store.contractsRevision() == afterSync, "an unchanged page leaves it")
            try await store.upsertContract(customerContract("C2", name: "Bo Lee", version: 2, open: 99))
            #expect(try await store.contractsRevision() != afterSync)
        }
    }

    @Test("PostgreSQL: the names' index works with nothing but pg_catalog on the search path, as autovacuum and pg_restore run it",
          .enabled(if: StoreKind.postgresURL != nil))
    func nameIndexWithoutTheSearchPath() async throws {
        let database = try await TestDatabase.create(.postgres)
        do {
            _ = try await commit([customerContract("C1", name: "Zoë O'Brien & Sons <Ltd>")], to: try await database.open())
            try await database.execute("""
                DO $$ BEGIN
                    PERFORM set_config('search_path', '', true);
                    ANALYZE public.customers;
                END $$
                """)
        } catch {
            await database.drop()
            throw error
        }
        await database.drop()
    }

    @Test("PostgreSQL: the adapter folds a name as migration v7 folds the names stored before it, accents and punctuation alike",
          .enabled(if: StoreKind.postgresURL != nil))
    func foldAgreesWithTheMigration() async throws {
        let names = ["Zoë O'Brien & Sons <Ltd>", "ÅSA–Lindström (UK)", "Ōtani “Bros”…", "Şerban—Łukasz", "plain name", "İlker, Ÿves; «Ça»",
                     "e\u{0308}mile", "Ørsted--Ærø!!", "Ελένη Παπαδοπούλου", #"back\slash [x] `y` {z}~"#]
        try await TestDatabase.withStore(.postgres) { store in
            let postgres = try #require(store as? PostgresStore)
            for name in names {
                let folded = try await postgres.read { connection in
                    try await postgres.rows(PostgresQuery(unsafeSQL: "SELECT \(NameFolding.searchText(column: "$1::text")) AS folded",
                                                          binds: try postgres.binds(name)), on: connection).first?.value("folded", as: String.self)
                }
                #expect(folded.map { Array($0.unicodeScalars) } == Array(NameFolding.searchText(name).unicodeScalars), "\(name)")
            }
        }
    }

    @Test("PostgreSQL: a store from before v7 is migrated: the names stored before are found folded, beside those synced after",
          .enabled(if: StoreKind.postgresURL != nil))
    func migrationToVersion7() async throws {
        let database = try await TestDatabase.create(.postgres)
        do {
            _ = try await database.open()
            // Back to the store v6 left: no folded column, v5's index replaced by v6's (its own statements), v7 not applied.
            let v6 = try #require(PostgresSchema.migrations.first { $0.name.hasPrefix("v6:") })
            for statement in [
                "ALTER TABLE customers DROP COLUMN name_search",
                "CREATE INDEX customers_name_words ON customers USING gin (to_tsvector('simple', name))",
            ] + v6.statements.map(\.sql) + [
                "DELETE FROM schema_migrations WHERE name LIKE 'v7:%'",
                """
                INSERT INTO customers (partner_id, name, kind, line1, town, postcode, country, phones, vulnerable, version)
                    VALUES ('P1', 'Zoë O''Brien-Ålund', 'business', '1 Road', 'York', 'YO1 7HH', 'GB', '', false, 3)
                """,
                """
                INSERT INTO contracts (contract_number, version, status_code, agreement_type, start_date, currency, total_price,
                    paid_to_date, monthly_payment, arrears_amount, missed_payments, partner_id, vehicle_registration, vehicle_vin,
                    vehicle_make, vehicle_model, last_modified) VALUES ('C9', 4, 'DEF', 'hirePurchase', 19000, 'GBP', 100, 0, 10, 0, 0, 'P1',
                    'AB12 CDE', 'VIN', 'Ford', 'Focus', 0)
                """,
            ] { try await database.execute(statement) }
            let store = try await database.open()
            #expect(try await store.searchContracts(matching: "zoe alund", limit: 10).map(\.contractNumber) == ["C9"])
            #expect(try await store.searchContracts(matching: "o'brien", limit: 10).map(\.contractNumber) == ["C9"])
            _ = try await commit([customerContract("C10", name: "Ålund Motors", partnerId: "P2")], to: store)
            #expect(try await store.searchContracts(matching: "ALUND", limit: 10).map(\.contractNumber) == ["C10", "C9"])
        } catch {
            await database.drop()
            throw error
        }
        await database.drop()
    }

    @Test("a store from before the index is migrated: its customers are searchable, their contracts and links intact")
    func migrationFromVersion10() async throws {
        let folder = temporaryDirectory("search")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/store.sqlite"
        let queue = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(queue, upTo: "v10: a one-time password must be changed")
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO customers (partner_id, name, kind, line1, town, postcode, country, phones, vulnerable, version)
                    VALUES ('P1', 'Ámbar Motors', 'business', '1 Road', 'York', 'YO1 7HH', 'GB', '', 0, 3);
                INSERT INTO contracts (contract_number, version, status_code, agreement_type, start_date, currency, total_price,
                    paid_to_date, monthly_payment, arrears_amount, missed_payments, partner_id, vehicle_registration, vehicle_vin,
                    vehicle_make, vehicle_model, last_modified) VALUES ('C9', 4, 'DEF', 'hirePurchase', 19000, 'GBP', 100, 0, 10, 0, 0, 'P1',
                    'AB12 CDE', 'VIN', 'Ford', 'Focus', 0);
                """)
        }
        try queue.close()
        let store = try SQLiteStore(path: path)
        let found = try await store.searchContracts(matching: "ambar", limit: 10)
        #expect(found.map(\.contractNumber) == ["C9"])
        #expect(found.first?.customer.version == 3)
        #expect(try await store.searchContracts(matching: "yo17", limit: 10).map(\.contractNumber) == ["C9"])
        _ = try await commit([customerContract("C10", name: "Second Customer", partnerId: "P2")], to: store)
        #expect(try await store.searchContracts(matching: "second", limit: 10).map(\.contractNumber) == ["C10"])
    }
}
