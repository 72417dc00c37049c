import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: ReliefStore {
    public func reliefInFlight(contractNumbers: Set<String>) async throws -> [String: [ReliefInFlight]] {
        try await snapshot { [self] connection in try await reliefInFlight(contractNumbers.sorted(), awaitingApproval: true, on: connection) }
    }

    /// The relief in flight on the contracts `numbers`, as `reliefInFlight` says; without the credit notes
    /// and write-offs still `awaitingApproval` for the bank matching, for which a customer's payment comes
    /// before a decision not yet made.
    func reliefInFlight(_ numbers: [String], awaitingApproval: Bool, on connection: PostgresConnection) async throws -> [String: [ReliefInFlight]] {
        var relief: [String: [ReliefInFlight]] = [:]
        for row in try await rows("""
            SELECT a.contract_number, e.identity, a.lines FROM payment_allocations a JOIN contracts c ON c.contract_number = a.contract_number
            JOIN bank_entries e ON e.id = a.id WHERE a.contract_number = ANY(\(numbers))
                AND a.state IN ('pending', 'allocated', 'reversing') AND (a.sent_at IS NULL OR a.sent_at > c.last_modified)
            ORDER BY a.id
            """, on: connection) {
            let number = try row.value("contract_number", as: String.self)
            let lines = try StoredBankValues.lines(try row.value("lines"), of: "contract \(number)")
            relief[number, default: []].append(.allocation(
                identity: try row.value("identity"), lines: Dictionary(lines.map { ($0.invoice, $0.amount) }, uniquingKeysWith: +)))
        }
        let records: [(table: String, relief: (Int64, [String], Int64) -> ReliefInFlight)] =
            [("credit_notes", ReliefInFlight.creditNote), ("writeoff_requests", ReliefInFlight.writeOff)]
        for (table, makeRelief) in records {
            for row in try await rows("""
                SELECT r.contract_number, r.id, r.invoice_numbers, r.amount FROM \(unescaped: table) r JOIN contracts c ON c.contract_number = r.contract_number
                WHERE r.contract_number = ANY(\(numbers))
                    AND (r.state IN \(unescaped: awaitingApproval ? "('pendingApproval', 'approved')" : "('approved')")
                        OR (r.state = 'posted' AND r.miles_contract_version > c.version))
                ORDER BY r.id
                """, on: connection) {
                relief[try row.value("contract_number", as: String.self), default: []].append(
                    makeRelief(try row.value("id"), StoredRelief.invoiceNumbers(try row.value("invoice_numbers")), try row.value("amount")))
            }
        }
        return relief
    }
}
