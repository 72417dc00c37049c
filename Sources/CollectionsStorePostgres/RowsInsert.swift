import PostgresNIO

/// An INSERT of many rows in one statement, their values bound as parameters: what a page of a
/// sync writes in one round trip per table. Rows beyond what one statement may bind (65,535
/// parameters) go into further statements.
///
/// ```swift
/// let insert = RowsInsert(into: "invoices (contract_number, position)", columns: 2, then: "")
/// for query in try insert.queries(rows, bind: { row, binds in binds.append(row.number); binds.append(row.position) }) {
///     try await connection.query(query, logger: logger)
/// }
/// ```
struct RowsInsert: Sendable {
    /// The table and its columns, as after `INSERT INTO`.
    let into: String
    let columns: Int
    /// What follows the values: an `ON CONFLICT` clause, `RETURNING`.
    let then: String

    /// The statements inserting `rows`, each row's `columns` values appended by `bind` in column order.
    func queries<Row>(_ rows: [Row], bind: (Row, inout PostgresBindings) throws -> Void) throws -> [PostgresQuery] {
        let rowsPerStatement = 65_535 / columns
        return try stride(from: 0, to: rows.count, by: rowsPerStatement).map { start in
            let chunk = rows[start..<min(start + rowsPerStatement, rows.count)]
            var binds = PostgresBindings(capacity: chunk.count * columns)
            var sql = "INSERT INTO \(into) VALUES "
            for (index, row) in chunk.enumerated() {
                let first = index * columns
                sql += (index == 0 ? "(" : ", (") + (1...columns).map { "$\(first + $0)" }.joined(separator: ", ") + ")"
                try bind(row, &binds)
            }
            precondition(binds.count == chunk.count * columns, "a row of \(into) bound \(binds.count / max(chunk.count, 1)) values, not \(columns)")
            return PostgresQuery(unsafeSQL: sql + " " + then, binds: binds)
        }
    }
}
