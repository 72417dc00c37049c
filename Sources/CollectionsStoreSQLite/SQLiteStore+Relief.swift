import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore: ReliefStore {
    public func reliefInFlight(contractNumbers: Set<String>) async throws -> [String: [ReliefInFlight]] {
        try read { db in try Self.reliefInFlight(JSONArguments.array(contractNumbers.sorted()), awaitingApproval: true, db) }
    }

    /// The relief in flight on the contracts named in `numbers` (a JSON array), as `reliefInFlight`
    /// says; without the credit notes and write-offs still `awaitingApproval` for the bank matching, for
    /// which a customer's payment comes before a decision not yet made.
    static func reliefInFlight(_ numbers: String, awaitingApproval: Bool, _ db: Database) throws -> [String: [ReliefInFlight]] {
        var relief: [String: [ReliefInFlight]] = [:]
        let allocations = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT a.contract_number, e.identity, a.lines FROM json_each(?) j JOIN contracts c ON c.contract_number = j.value
            JOIN payment_allocations a ON a.contract_number = c.contract_number JOIN bank_entries e ON e.id = a.id
            WHERE a.state IN ('pending', 'allocated', 'reversing') AND (a.sent_at IS NULL OR a.sent_at > c.last_modified)
            ORDER BY a.id
            """), arguments: [numbers])
        while let row = try allocations.next() {
            let number: String = row[0]
            let lines = try StoredBankValues.lines(row[2], of: "contract \(number)")
            relief[number, default: []].append(.allocation(
                identity: row[1], lines: Dictionary(lines.map { ($0.invoice, $0.amount) }, uniquingKeysWith: +)))
        }
        let records: [(table: String, relief: (Int64, [String], Int64) -> ReliefInFlight)] =
            [("credit_notes", ReliefInFlight.creditNote), ("writeoff_requests", ReliefInFlight.writeOff)]
        for (table, makeRelief) in records {
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT r.contract_number, r.id, r.invoice_numbers, r.amount FROM json_each(?) j JOIN contracts c ON c.contract_number = j.value
                JOIN \(table) r ON r.contract_number = c.contract_number
                WHERE r.state IN \(awaitingApproval ? "('pendingApproval', 'approved')" : "('approved')")
                    OR (r.state = 'posted' AND r.miles_contract_version > c.version)
                ORDER BY r.id
                """), arguments: [numbers])
            while let row = try rows.next() {
                let (number, id, invoices, amount): (String, Int64, String, Int64) = (row[0], row[1], row[2], row[3])
                relief[number, default: []].append(makeRelief(id, StoredRelief.invoiceNumbers(invoices), amount))
            }
        }
        return relief
    }
}
