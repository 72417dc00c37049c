import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import GRDBSQLite
import MilesMock

/// The storing floor of a full sync: the rows a sync of the mock's portfolio stores (each customer
/// once, each contract, each open invoice) inserted into a fresh SQLite file through SQLite's own C
/// API, with statements prepared once, one transaction per page, WAL and synchronous=NORMAL with
/// foreign keys checked, as the store opens its file. No sync can store faster than this on the same
/// machine; `sync / floor` says how much the rest of the sync (fetch, decode, checks, the job's
/// bookkeeping) adds on top.
///
/// The contracts are generated in this process by the mock's own generator, page by page, before
/// each page's clock starts: only the storing is timed.
struct StoringFloor {
    /// What the fresh file holds before the first page.
    enum Schema: String {
        /// The store's own schema (every migration): its indexes, the customer-name search index and the
        /// triggers that feed it, brought up to date once per page as `commitPage` does.
        case store = "the store's schema (its indexes and customer-name search index)"
        /// The three tables with their primary keys only: what SQLite costs before any index the store adds.
        case bare = "the three tables, primary keys only"
        /// The store's schema with what a first load sets aside (`SQLiteStore.firstLoadSetAsideQuery`) dropped
        /// before the first page and built after the last, as a first sync into an empty store does.
        case indexesBuiltAfter = "the store's schema, its look-up indexes built after the last page (a first load)"
    }

    let contracts: Int
    let pageSize: Int
    let schema: Schema

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Seconds spent storing every page, summed.
    func measure() throws -> Double {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bench-floor-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        if schema != .bare {
            // Opening the store migrates the new file; it is closed again before the floor opens it.
            _ = try SQLiteStore(path: path)
        }
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK, let db = handle else {
            throw Failure(description: "cannot open \(path)")
        }
        defer { sqlite3_close_v2(db) }
        try execute(db, "PRAGMA journal_mode = WAL")
        try execute(db, "PRAGMA synchronous = NORMAL")
        try execute(db, "PRAGMA foreign_keys = ON")
        for pragma in SQLiteStore.writerPragmas { try execute(db, pragma) }
        if schema == .bare { try execute(db, Self.bareTables) }
        let setAside = schema == .indexesBuiltAfter ? try Self.objects(db, SQLiteStore.firstLoadSetAsideQuery) : []
        for (type, name, _) in setAside { try execute(db, "DROP \(type) \(name)") }

        let insertCustomer = try Statement(db, """
            INSERT INTO customers (partner_id, name, kind, line1, line2, town, postcode, country, phones, email, vulnerable, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let insertContract = try Statement(db, """
            INSERT INTO contracts (contract_number, version, status_code, agreement_type, start_date, end_date, currency,
                total_price, paid_to_date, monthly_payment, arrears_amount, arrears_oldest_due, missed_payments, partner_id,
                vehicle_registration, vehicle_vin, vehicle_make, vehicle_model, last_modified, last_payment_date)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let insertInvoice = try Statement(db, """
            INSERT INTO invoices (contract_number, position, invoice_number, issue_date, due_date, amount, open_amount)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        let indexNames = schema != .bare ? try Self.customerNameIndexing.map { try Statement(db, $0) } : []
        let begin = try Statement(db, "BEGIN")
        let commit = try Statement(db, "COMMIT")
        defer { for statement in [insertCustomer, insertContract, insertInvoice, begin, commit] + indexNames { statement.finalize() } }

        let defaults = MockMilesConfiguration(contractDirectory: "")
        let generator = PortfolioGenerator(seed: defaults.seed, baseTime: defaults.baseTime)
        var storing = 0.0
        var page: [(index: Int, contract: Contract)] = []
        page.reserveCapacity(pageSize)
        for start in stride(from: 0, to: contracts, by: pageSize) {
            page.removeAll(keepingCapacity: true)
            for index in start..<min(start + pageSize, contracts) { page.append((index, generator.contract(index))) }
            let clock = ContinuousClock.now
            try begin.run()
            for (index, contract) in page {
                // A customer shared with the contract before is stored once, as the sync's upsert leaves it.
                if PortfolioGenerator.partnerIndex(ofContract: index) == index { try insertCustomer.run(customerRow: contract.customer) }
                try insertContract.run(contractRow: contract)
                for (position, invoice) in contract.openInvoices.enumerated() {
                    try insertInvoice.run(invoiceRow: invoice, position: position, contractNumber: contract.contractNumber)
                }
            }
            for statement in indexNames { try statement.run() }
            try commit.run()
            storing += seconds(ContinuousClock.now - clock)
        }
        if !setAside.isEmpty {
            // As `SQLiteStore.endFirstLoad`: each built again, then the name index from every customer.
            let clock = ContinuousClock.now
            try execute(db, "BEGIN IMMEDIATE")
            try execute(db, SQLiteStore.firstLoadBuildCache)
            for (_, _, sql) in setAside { try execute(db, sql) }
            try execute(db, "INSERT INTO customer_names (customer_names) VALUES ('rebuild'); DELETE FROM customer_name_changes; COMMIT")
            storing += seconds(ContinuousClock.now - clock)
        }
        return storing
    }

    private func execute(_ db: OpaquePointer, _ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw Failure(description: "\(String(cString: sqlite3_errmsg(db))) in: \(sql)")
        }
    }

    /// The type, name and SQL of each object `query` lists.
    private static func objects(_ db: OpaquePointer, _ query: String) throws -> [(type: String, name: String, sql: String)] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, query, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw Failure(description: "\(String(cString: sqlite3_errmsg(db))) in: \(query)")
        }
        defer { sqlite3_finalize(statement) }
        var objects: [(type: String, name: String, sql: String)] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            objects.append((String(cString: sqlite3_column_text(statement, 0)), String(cString: sqlite3_column_text(statement, 1)),
                            String(cString: sqlite3_column_text(statement, 2))))
        }
        return objects
    }

    /// `SQLiteStore.indexCustomerNames`, which `commitPage` runs once per page: the names the triggers
    /// noted go into the search index, and the notes are cleared.
    private static let customerNameIndexing = [
        """
        INSERT INTO customer_names (customer_names, rowid, name)
        SELECT 'delete', customer_id, old_name FROM customer_name_changes
        WHERE rowid IN (SELECT min(rowid) FROM customer_name_changes GROUP BY customer_id) AND old_name IS NOT NULL
        """,
        """
        INSERT INTO customer_names (rowid, name)
        SELECT id, name FROM customers WHERE id IN (SELECT customer_id FROM customer_name_changes)
        """,
        "DELETE FROM customer_name_changes",
    ]

    /// The store's three tables as its migrations leave them, without the indexes it adds beyond their keys.
    private static let bareTables = """
        CREATE TABLE customers (
            id INTEGER PRIMARY KEY, partner_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, kind TEXT NOT NULL,
            line1 TEXT NOT NULL, line2 TEXT, town TEXT NOT NULL, postcode TEXT NOT NULL, country TEXT NOT NULL,
            phones TEXT NOT NULL, email TEXT, vulnerable INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE contracts (
            contract_number TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, status_code TEXT NOT NULL,
            agreement_type TEXT NOT NULL, start_date INTEGER NOT NULL, end_date INTEGER, currency TEXT NOT NULL,
            total_price INTEGER NOT NULL, paid_to_date INTEGER NOT NULL, monthly_payment INTEGER NOT NULL,
            arrears_amount INTEGER NOT NULL, arrears_oldest_due INTEGER, missed_payments INTEGER NOT NULL,
            partner_id TEXT NOT NULL REFERENCES customers(partner_id),
            vehicle_registration TEXT NOT NULL, vehicle_vin TEXT NOT NULL, vehicle_make TEXT NOT NULL,
            vehicle_model TEXT NOT NULL, last_modified INTEGER NOT NULL, last_payment_date INTEGER
        );
        CREATE TABLE invoices (
            contract_number TEXT NOT NULL REFERENCES contracts(contract_number), position INTEGER NOT NULL,
            invoice_number TEXT NOT NULL, issue_date INTEGER NOT NULL, due_date INTEGER NOT NULL,
            amount INTEGER NOT NULL, open_amount INTEGER NOT NULL,
            PRIMARY KEY (contract_number, position)
        );
        """
}

/// A statement prepared once, bound and stepped with SQLite's C API.
private final class Statement {
    private let handle: OpaquePointer
    private let db: OpaquePointer
    /// Makes SQLite copy bound text before `bind` returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ db: OpaquePointer, _ sql: String) throws {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw StoringFloor.Failure(description: "\(String(cString: sqlite3_errmsg(db))) in: \(sql)")
        }
        self.db = db
        handle = statement
    }

    func finalize() { sqlite3_finalize(handle) }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: String?) {
        guard var value else {
            sqlite3_bind_null(handle, index)
            return
        }
        value.withUTF8 { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else {
                sqlite3_bind_text(handle, index, "", 0, Self.transient)
                return
            }
            base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { chars in
                _ = sqlite3_bind_text(handle, index, chars, Int32(bytes.count), Self.transient)
            }
        }
    }

    /// Steps the bound statement once and resets it for the next row.
    func run() throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else {
            throw StoringFloor.Failure(description: "\(String(cString: sqlite3_errmsg(db))) in: \(String(cString: sqlite3_sql(handle)))")
        }
    }

    /// The columns as `SQLiteStore.upsert` binds them.
    func run(customerRow customer: Customer) throws {
        bind(1, customer.partnerId)
        bind(2, customer.name)
        bind(3, customer.kind.rawValue)
        bind(4, customer.address.line1)
        bind(5, customer.address.line2)
        bind(6, customer.address.town)
        bind(7, customer.address.postcode)
        bind(8, customer.address.country)
        bind(9, StoredPhones.join(customer.phones))
        bind(10, customer.email)
        bind(11, customer.vulnerable ? 1 : 0)
        bind(12, customer.version)
        try run()
    }

    func run(contractRow contract: Contract) throws {
        bind(1, contract.contractNumber)
        bind(2, contract.version)
        bind(3, contract.statusCode)
        bind(4, contract.agreementType.rawValue)
        bind(5, Int64(contract.startDate.daysSinceEpoch))
        bind(6, contract.endDate.map { Int64($0.daysSinceEpoch) })
        bind(7, contract.currency.code)
        bind(8, contract.totalPrice.minorUnits)
        bind(9, contract.paidToDate.minorUnits)
        bind(10, contract.monthlyPayment.minorUnits)
        bind(11, contract.arrears.amount.minorUnits)
        bind(12, contract.arrears.oldestUnpaidDueDate.map { Int64($0.daysSinceEpoch) })
        bind(13, Int64(contract.arrears.missedPayments))
        bind(14, contract.customer.partnerId)
        bind(15, contract.vehicle.registration)
        bind(16, contract.vehicle.vin)
        bind(17, contract.vehicle.make)
        bind(18, contract.vehicle.model)
        bind(19, contract.lastModified.millisecondsSinceEpoch)
        bind(20, contract.lastPaymentDate.map { Int64($0.daysSinceEpoch) })
        try run()
    }

    func run(invoiceRow invoice: Invoice, position: Int, contractNumber: String) throws {
        bind(1, contractNumber)
        bind(2, Int64(position))
        bind(3, invoice.number)
        bind(4, Int64(invoice.issueDate.daysSinceEpoch))
        bind(5, Int64(invoice.dueDate.daysSinceEpoch))
        bind(6, invoice.amount.minorUnits)
        bind(7, invoice.openAmount.minorUnits)
        try run()
    }
}
