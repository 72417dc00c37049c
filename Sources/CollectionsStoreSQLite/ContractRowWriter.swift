import CollectionsDomain
import CollectionsStore
import GRDB
import GRDBSQLite

/// Writes contracts from MILES, with their customers and invoices, inside one write transaction:
/// the statements are taken from the connection's cache once and bound with SQLite's own API for
/// every contract (`BulkInsert`), because a sync of a million contracts spent more in GRDB's
/// per-execution work than in SQLite. One writer per transaction: it remembers what it wrote.
final class ContractRowWriter {
    private let customer: BulkInsert
    private let contract: BulkInsert
    private let deleteInvoices: BulkInsert
    private let insertInvoice: BulkInsert
    private let db: Database
    /// The customers written in this transaction: a customer with several contracts on a page is
    /// written once, as the upsert would leave it unchanged the next time.
    private var customersWritten: [String: Customer] = [:]

    /// `contracts`: how many contracts the transaction will write, at most (sizes what it remembers once).
    init(_ db: Database, contracts: Int = 1) throws {
        self.db = db
        customersWritten.reserveCapacity(contracts)
        customer = try BulkInsert(cached: db, sql: """
            INSERT INTO customers (partner_id, name, kind, line1, line2, town, postcode, country, phones, email, vulnerable, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(partner_id) DO UPDATE SET name = excluded.name, kind = excluded.kind, line1 = excluded.line1,
                line2 = excluded.line2, town = excluded.town, postcode = excluded.postcode, country = excluded.country,
                phones = excluded.phones, email = excluded.email, vulnerable = excluded.vulnerable, version = excluded.version
            WHERE (name, kind, line1, line2, town, postcode, country, phones, email, vulnerable, version)
                IS NOT (excluded.name, excluded.kind, excluded.line1, excluded.line2, excluded.town, excluded.postcode,
                        excluded.country, excluded.phones, excluded.email, excluded.vulnerable, excluded.version)
            """)
        contract = try BulkInsert(cached: db, sql: """
            INSERT INTO contracts (contract_number, version, status_code, agreement_type, start_date, end_date, currency,
                total_price, paid_to_date, monthly_payment, arrears_amount, arrears_oldest_due, missed_payments, partner_id,
                vehicle_registration, vehicle_vin, vehicle_make, vehicle_model, last_modified, last_payment_date)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(contract_number) DO UPDATE SET version = excluded.version, status_code = excluded.status_code,
                agreement_type = excluded.agreement_type, start_date = excluded.start_date, end_date = excluded.end_date,
                currency = excluded.currency, total_price = excluded.total_price, paid_to_date = excluded.paid_to_date,
                monthly_payment = excluded.monthly_payment, arrears_amount = excluded.arrears_amount,
                arrears_oldest_due = excluded.arrears_oldest_due, missed_payments = excluded.missed_payments,
                partner_id = excluded.partner_id, vehicle_registration = excluded.vehicle_registration,
                vehicle_vin = excluded.vehicle_vin, vehicle_make = excluded.vehicle_make, vehicle_model = excluded.vehicle_model,
                last_modified = excluded.last_modified, last_payment_date = excluded.last_payment_date
            WHERE excluded.version IS NOT contracts.version OR excluded.last_modified IS NOT contracts.last_modified
            """)
        deleteInvoices = try BulkInsert(cached: db, sql: "DELETE FROM invoices WHERE contract_number = ?")
        insertInvoice = try BulkInsert(cached: db, sql: """
            INSERT INTO invoices (contract_number, position, invoice_number, issue_date, due_date, amount, open_amount)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
    }

    /// Writes one contract, its customer and its invoices; skips the write when MILES's version and
    /// last change are those stored. Returns whether the contract was written. The caller advances
    /// the contracts' revision once per transaction that wrote one.
    func write(_ value: Contract) throws -> Bool {
        let person = value.customer
        if customersWritten[person.partnerId] != person {
            try write(person)
            customersWritten[person.partnerId] = person
        }

        contract.bind(1, value.contractNumber)
        contract.bind(2, value.version)
        contract.bind(3, value.statusCode)
        contract.bind(4, value.agreementType.rawValue)
        contract.bind(5, value.startDate.daysSinceEpoch)
        contract.bind(6, value.endDate?.daysSinceEpoch)
        contract.bind(7, value.currency.code)
        contract.bind(8, value.totalPrice.minorUnits)
        contract.bind(9, value.paidToDate.minorUnits)
        contract.bind(10, value.monthlyPayment.minorUnits)
        contract.bind(11, value.arrears.amount.minorUnits)
        contract.bind(12, value.arrears.oldestUnpaidDueDate?.daysSinceEpoch)
        contract.bind(13, value.arrears.missedPayments)
        contract.bind(14, person.partnerId)
        contract.bind(15, value.vehicle.registration)
        contract.bind(16, value.vehicle.vin)
        contract.bind(17, value.vehicle.make)
        contract.bind(18, value.vehicle.model)
        contract.bind(19, value.lastModified.millisecondsSinceEpoch)
        contract.bind(20, value.lastPaymentDate?.daysSinceEpoch)
        // Zeroed first so that a row id afterwards says the upsert inserted: a contract new to the store
        // has no invoices to replace (they refer to it), so the DELETE is run only for an updated one.
        sqlite3_set_last_insert_rowid(db.sqliteConnection, 0)
        try contract.run()
        guard contract.changes > 0 else { return false }

        if sqlite3_last_insert_rowid(db.sqliteConnection) == 0 {
            deleteInvoices.bind(1, value.contractNumber)
            try deleteInvoices.run()
        }
        for (position, invoice) in value.openInvoices.enumerated() {
            insertInvoice.bind(1, value.contractNumber)
            insertInvoice.bind(2, position)
            insertInvoice.bind(3, invoice.number)
            insertInvoice.bind(4, invoice.issueDate.daysSinceEpoch)
            insertInvoice.bind(5, invoice.dueDate.daysSinceEpoch)
            insertInvoice.bind(6, invoice.amount.minorUnits)
            insertInvoice.bind(7, invoice.openAmount.minorUnits)
            try insertInvoice.run()
        }
        return true
    }

    private func write(_ person: Customer) throws {
        customer.bind(1, person.partnerId)
        customer.bind(2, person.name)
        customer.bind(3, person.kind.rawValue)
        customer.bind(4, person.address.line1)
        customer.bind(5, person.address.line2)
        customer.bind(6, person.address.town)
        customer.bind(7, person.address.postcode)
        customer.bind(8, person.address.country)
        customer.bind(9, StoredPhones.join(person.phones))
        customer.bind(10, person.email)
        customer.bind(11, person.vulnerable)
        customer.bind(12, person.version)
        try customer.run()
    }
}
