import CollectionsDomain
import CollectionsStore
import Foundation
import PostgresNIO

extension PostgresStore: ContractStore {
    static let contractSelect = """
        SELECT c.*, p.name, p.kind, p.line1, p.line2, p.town, p.postcode, p.country, p.phones, p.email, p.vulnerable,
            p.version AS partner_version
        FROM contracts c JOIN customers p ON p.partner_id = c.partner_id
        """

    public func contract(number: String) async throws -> Contract? {
        try await read { [self] connection in
            try await contracts(PostgresQuery(unsafeSQL: Self.contractSelect + " WHERE c.contract_number = $1", binds: try binds(number)),
                                on: connection).first
        }
    }

    public func contracts(after contractNumber: String?, limit: Int) async throws -> [Contract] {
        try await read { [self] connection in
            try await contracts(PostgresQuery(unsafeSQL: Self.contractSelect + " WHERE c.contract_number > $1 ORDER BY c.contract_number LIMIT $2",
                                              binds: try binds(contractNumber ?? "", limit)), on: connection)
        }
    }

    public func openInvoices(after cursor: OpenInvoicePage.Cursor?, limit: Int) async throws -> OpenInvoicePage {
        try await read { [self] connection in
            let found = try await rows("""
                SELECT i.*, c.currency FROM invoices i JOIN contracts c ON c.contract_number = i.contract_number
                WHERE (i.contract_number, i.position) > (\(cursor?.contractNumber ?? ""), \(cursor?.position ?? -1))
                ORDER BY i.contract_number, i.position LIMIT \(limit)
                """, on: connection)
            let invoices = try found.map { try Self.invoice($0, currency: try CurrencyCode(try $0.value("currency", as: String.self))) }
            let next = try found.last.map { OpenInvoicePage.Cursor(contractNumber: try $0.value("contract_number"), position: Int(try $0.value("position", as: Int32.self))) }
            return OpenInvoicePage(invoices: invoices, next: invoices.count == limit ? next : nil)
        }
    }

    public func upsertContract(_ contract: Contract) async throws {
        try await transaction { [self] connection in
            if try await upsert([contract], on: connection) > 0 { try await advanceContractsRevision(on: connection) }
        }
    }

    public func contractCount() async throws -> Int {
        try await read { [self] connection in Int(try await rows("SELECT count(*) AS n FROM contracts", on: connection).first?.value("n", as: Int64.self) ?? 0) }
    }

    public func searchContracts(matching text: String, limit: Int) async throws -> [Contract] {
        let query = text.trimmingCharacters(in: .whitespaces)
        guard !query.isEmpty, limit > 0 else { return [] }
        let escaped = query.lowercased().replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        let words = query.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).filter { $0.count > 1 }.prefix(6)
            .map { NameFolding.searchText(String($0)) }
        return try await read { [self] connection in
            // Each look-up reads an index and stops at `limit`.
            var numbers = Set(try await rows("""
                SELECT contract_number FROM contracts WHERE lower(contract_number) LIKE \(escaped + "%") ORDER BY lower(contract_number) LIMIT \(limit)
                """, on: connection).map { try $0.value("contract_number", as: String.self) })
            let postcode = escaped.replacingOccurrences(of: " ", with: "")
            if postcode.first?.isLetter == true {
                numbers.formUnion(try await rows("""
                    SELECT c.contract_number FROM customers p JOIN contracts c ON c.partner_id = p.partner_id
                    WHERE lower(replace(p.postcode, ' ', '')) LIKE \(postcode + "%") LIMIT \(limit)
                    """, on: connection).map { try $0.value("contract_number", as: String.self) })
            }
            if !words.isEmpty {
                // Every word must start a word of the name, folded as names are; each word is quoted, so
                // nothing in it is query syntax.
                numbers.formUnion(try await rows("""
                    SELECT c.contract_number FROM customers p JOIN contracts c ON c.partner_id = p.partner_id
                    WHERE to_tsvector('simple', p.name_search) @@ to_tsquery('simple',
                        (SELECT string_agg(quote_literal(word) || ':*', ' & ') FROM unnest(\(words)::text[]) AS word))
                    LIMIT \(limit)
                    """, on: connection).map { try $0.value("contract_number", as: String.self) })
            }
            let chosen = Array(numbers.sorted().prefix(limit))
            return try await contracts(PostgresQuery(unsafeSQL: Self.contractSelect + " WHERE c.contract_number = ANY($1) ORDER BY c.contract_number",
                                                     binds: try binds(chosen)), on: connection)
        }
    }

    public func largestOpenBalances(by grouping: OpenBalanceGroup.Grouping, limit: Int) async throws -> [OpenBalanceGroup] {
        let key = grouping == .contract ? "c.contract_number" : "c.partner_id"
        return try await read { [self] connection in
            let largest = try await rows(PostgresQuery(unsafeSQL: """
                SELECT \(key) AS key, c.currency, sum(i.open_amount) AS open FROM invoices i
                JOIN contracts c ON c.contract_number = i.contract_number
                GROUP BY \(key), c.currency HAVING sum(i.open_amount) > 0 ORDER BY open DESC, key LIMIT $1
                """, binds: try binds(limit)), on: connection)
            var groups: [OpenBalanceGroup] = []
            for row in largest {
                let currency = try CurrencyCode(try row.value("currency", as: String.self))
                let invoices = try await rows(PostgresQuery(unsafeSQL: """
                    SELECT i.*, p.name AS customer_name FROM invoices i JOIN contracts c ON c.contract_number = i.contract_number
                    JOIN customers p ON p.partner_id = c.partner_id
                    WHERE \(key) = $1 AND c.currency = $2 ORDER BY i.contract_number, i.position
                    """, binds: try binds(try row.value("key", as: String.self), currency.code)), on: connection)
                groups.append(OpenBalanceGroup(key: try row.value("key"), customerName: try invoices.first?.value("customer_name") ?? "",
                                               currency: currency, invoices: try invoices.map { try Self.invoice($0, currency: currency) }))
            }
            return groups
        }
    }

    public func contractsRevision() async throws -> Int64 {
        try await read { [self] connection in try await rows("SELECT revision FROM contracts_revision", on: connection).first?.value("revision") ?? 0 }
    }

    public func statusCodeCounts() async throws -> [String: Int] {
        try await read { [self] connection in
            var counts: [String: Int] = [:]
            for row in try await rows("SELECT status_code, count(*) AS n FROM contracts GROUP BY status_code", on: connection) {
                counts[try row.value("status_code")] = Int(try row.value("n", as: Int64.self))
            }
            return counts
        }
    }

    /// Writes contracts, their customers and their invoices, a statement per table for all the rows
    /// (a page of a sync is a handful of round trips, not one per row), each column bound as one array
    /// (`PageColumns`); skips a contract whose MILES version and last change are the stored ones.
    /// Returns how many were written; a transaction that writes any advances the contracts' revision once.
    func upsert(_ contracts: [Contract], on connection: PostgresConnection) async throws -> Int {
        // One statement cannot change a row twice: a customer or contract met twice counts as MILES gave it last.
        let customers = PageColumns.Customers(Self.lastOfEach(contracts.map(\.customer), by: \.partnerId))
        try await connection.query("""
            INSERT INTO customers (partner_id, name, name_search, kind, line1, line2, town, postcode, country, phones, email, vulnerable, version)
            SELECT partner_id, name, name_search, kind, line1, CASE WHEN has_line2 THEN line2 END, town, postcode, country, phones,
                CASE WHEN has_email THEN email END, vulnerable, version
            FROM unnest(\(customers.partnerIds), \(customers.names), \(customers.nameSearches), \(customers.kinds), \(customers.line1s),
                        \(customers.line2s), \(customers.hasLine2), \(customers.towns), \(customers.postcodes), \(customers.countries),
                        \(customers.phones), \(customers.emails), \(customers.hasEmail), \(customers.vulnerable), \(customers.versions))
                AS given (partner_id, name, name_search, kind, line1, line2, has_line2, town, postcode, country, phones, email, has_email,
                          vulnerable, version)
            ON CONFLICT (partner_id) DO UPDATE SET name = EXCLUDED.name, name_search = EXCLUDED.name_search, kind = EXCLUDED.kind,
                line1 = EXCLUDED.line1,
                line2 = EXCLUDED.line2, town = EXCLUDED.town, postcode = EXCLUDED.postcode, country = EXCLUDED.country,
                phones = EXCLUDED.phones, email = EXCLUDED.email, vulnerable = EXCLUDED.vulnerable, version = EXCLUDED.version
            WHERE (customers.name, customers.kind, customers.line1, customers.line2, customers.town, customers.postcode, customers.country,
                   customers.phones, customers.email, customers.vulnerable, customers.version)
                IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.line1, EXCLUDED.line2, EXCLUDED.town, EXCLUDED.postcode,
                   EXCLUDED.country, EXCLUDED.phones, EXCLUDED.email, EXCLUDED.vulnerable, EXCLUDED.version)
            """, logger: logger)
        let page = Self.lastOfEach(contracts, by: \.contractNumber)
        let given = PageColumns.Contracts(page)
        let noDate = PageColumns.noDate
        var written: Set<String> = []
        var replaced: [String] = []
        for row in try await rows("""
            INSERT INTO contracts (contract_number, version, status_code, agreement_type, start_date, end_date, currency, total_price,
                paid_to_date, monthly_payment, arrears_amount, arrears_oldest_due, missed_payments, partner_id, vehicle_registration,
                vehicle_vin, vehicle_make, vehicle_model, last_modified, last_payment_date)
            SELECT contract_number, version, status_code, agreement_type, start_date, nullif(end_date, \(noDate)), currency, total_price,
                paid_to_date, monthly_payment, arrears_amount, nullif(arrears_oldest_due, \(noDate)), missed_payments, partner_id,
                vehicle_registration, vehicle_vin, vehicle_make, vehicle_model, last_modified, nullif(last_payment_date, \(noDate))
            FROM unnest(\(given.numbers), \(given.versions), \(given.statusCodes), \(given.agreementTypes), \(given.startDates),
                        \(given.endDates), \(given.currencies), \(given.totalPrices), \(given.paidToDates), \(given.monthlyPayments),
                        \(given.arrearsAmounts), \(given.arrearsOldestDue), \(given.missedPayments), \(given.partnerIds),
                        \(given.registrations), \(given.vins), \(given.makes), \(given.models), \(given.lastModified),
                        \(given.lastPaymentDates))
                AS given (contract_number, version, status_code, agreement_type, start_date, end_date, currency, total_price, paid_to_date,
                          monthly_payment, arrears_amount, arrears_oldest_due, missed_payments, partner_id, vehicle_registration,
                          vehicle_vin, vehicle_make, vehicle_model, last_modified, last_payment_date)
            ON CONFLICT (contract_number) DO UPDATE SET version = EXCLUDED.version, status_code = EXCLUDED.status_code,
                agreement_type = EXCLUDED.agreement_type, start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
                currency = EXCLUDED.currency, total_price = EXCLUDED.total_price, paid_to_date = EXCLUDED.paid_to_date,
                monthly_payment = EXCLUDED.monthly_payment, arrears_amount = EXCLUDED.arrears_amount,
                arrears_oldest_due = EXCLUDED.arrears_oldest_due, missed_payments = EXCLUDED.missed_payments,
                partner_id = EXCLUDED.partner_id, vehicle_registration = EXCLUDED.vehicle_registration,
                vehicle_vin = EXCLUDED.vehicle_vin, vehicle_make = EXCLUDED.vehicle_make, vehicle_model = EXCLUDED.vehicle_model,
                last_modified = EXCLUDED.last_modified, last_payment_date = EXCLUDED.last_payment_date
            WHERE contracts.version IS DISTINCT FROM EXCLUDED.version OR contracts.last_modified IS DISTINCT FROM EXCLUDED.last_modified
            RETURNING contract_number, xmax = 0 AS inserted
            """, on: connection) {
            let number: String = try row.value("contract_number")
            written.insert(number)
            if try !row.value("inserted", as: Bool.self) { replaced.append(number) }
        }
        guard !written.isEmpty else { return 0 }
        // A contract new to the store has no invoices to replace, so a first sync looks for none. `xmax` tells
        // which rows were inserted: 0 on a row inserted, while ON CONFLICT's update locks the row it replaces
        // and the new version carries that lock (PostgreSQL's behaviour, not its documentation; were it to
        // change, a replaced contract's invoices would collide on their key and the page fail, not be doubled).
        if !replaced.isEmpty {
            try await connection.query("DELETE FROM invoices WHERE contract_number = ANY(\(replaced))", logger: logger)
        }
        let invoices = PageColumns.Invoices(page.filter { written.contains($0.contractNumber) })
        guard !invoices.numbers.isEmpty else { return written.count }
        try await connection.query("""
            INSERT INTO invoices (contract_number, position, invoice_number, issue_date, due_date, amount, open_amount)
            SELECT * FROM unnest(\(invoices.contractNumbers), \(invoices.positions), \(invoices.numbers), \(invoices.issueDates),
                                 \(invoices.dueDates), \(invoices.amounts), \(invoices.openAmounts))
            """, logger: logger)
        return written.count
    }

    /// The last of `values` with each key, in the order their keys first appear.
    private static func lastOfEach<Value, Key: Hashable>(_ values: [Value], by key: KeyPath<Value, Key>) -> [Value] {
        var position: [Key: Int] = [:]
        var kept: [Value] = []
        for value in values {
            if let index = position[value[keyPath: key]] {
                kept[index] = value
            } else {
                position[value[keyPath: key]] = kept.count
                kept.append(value)
            }
        }
        return kept
    }

    func advanceContractsRevision(on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE contracts_revision SET revision = revision + 1", logger: logger)
    }

    /// The contracts `query` selects (with `contractSelect`'s columns), each with its open invoices, read in one more query.
    func contracts(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [Contract] {
        let found = try await rows(query, on: connection)
        guard !found.isEmpty else { return [] }
        let numbers = try found.map { try $0.value("contract_number", as: String.self) }
        var invoiceRows: [String: [PostgresRandomAccessRow]] = [:]
        for row in try await rows("SELECT * FROM invoices WHERE contract_number = ANY(\(numbers)) ORDER BY contract_number, position", on: connection) {
            invoiceRows[try row.value("contract_number"), default: []].append(row)
        }
        return try found.map { row in
            let number: String = try row.value("contract_number")
            let currency = try CurrencyCode(try row.value("currency", as: String.self))
            func money(_ column: String) throws -> Money { Money(minorUnits: try row.value(column), currency: currency) }
            func date(_ column: String) throws -> LocalDate? { try row.value(column, as: Int32?.self).map(LocalDate.init(daysSinceEpoch:)) }
            guard let agreementType = AgreementType(rawValue: try row.value("agreement_type")),
                  let kind = Customer.Kind(rawValue: try row.value("kind")) else {
                throw StoreError(.corruptRecord, input: "contract \(number)", "contract \(number): unknown agreement type or customer kind in the store")
            }
            return Contract(
                contractNumber: number, version: try row.value("version"), statusCode: try row.value("status_code"), agreementType: agreementType,
                startDate: LocalDate(daysSinceEpoch: try row.value("start_date", as: Int32.self)), endDate: try date("end_date"), currency: currency,
                totalPrice: try money("total_price"), paidToDate: try money("paid_to_date"), monthlyPayment: try money("monthly_payment"),
                arrears: Arrears(amount: try money("arrears_amount"), oldestUnpaidDueDate: try date("arrears_oldest_due"),
                                 missedPayments: Int(try row.value("missed_payments", as: Int32.self))),
                customer: Customer(
                    partnerId: try row.value("partner_id"), name: try row.value("name"), kind: kind,
                    address: PostalAddress(line1: try row.value("line1"), line2: try row.value("line2"), town: try row.value("town"),
                                           postcode: try row.value("postcode"), country: try row.value("country")),
                    phones: StoredPhones.split(try row.value("phones")),
                    email: try row.value("email"), vulnerable: try row.value("vulnerable"), version: try row.value("partner_version")),
                vehicle: Vehicle(registration: try row.value("vehicle_registration"), vin: try row.value("vehicle_vin"),
                                 make: try row.value("vehicle_make"), model: try row.value("vehicle_model")),
                openInvoices: try (invoiceRows[number] ?? []).map { try Self.invoice($0, currency: currency) },
                lastModified: Timestamp(millisecondsSinceEpoch: try row.value("last_modified")), lastPaymentDate: try date("last_payment_date"))
        }
    }

    static func invoice(_ row: PostgresRandomAccessRow, currency: CurrencyCode) throws -> Invoice {
        Invoice(number: try row.value("invoice_number"), issueDate: LocalDate(daysSinceEpoch: try row.value("issue_date", as: Int32.self)),
                dueDate: LocalDate(daysSinceEpoch: try row.value("due_date", as: Int32.self)),
                amount: Money(minorUnits: try row.value("amount"), currency: currency),
                openAmount: Money(minorUnits: try row.value("open_amount"), currency: currency))
    }

    /// Binds for a query written as text with $1, $2, …
    func binds(_ values: any PostgresEncodable...) throws -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { try bindings.append(value, context: .default) }
        return bindings
    }
}
