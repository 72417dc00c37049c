import MilesMapping

/// The bad-debt write-off file the team prepares: CSV with a header row.
///
/// ```
/// contract_number,amount,invoice_numbers,reason_code,comment
/// C00000042,full,,UNEC,Balance below cost of recovery
/// C00000077,120.50,INV-00000077-012;INV-00000077-013,DECE,Estate confirmed insolvent
/// ```
/// `amount` is a decimal in the contract's currency or `full` (the whole open balance of the named
/// invoices, or of the contract); `invoice_numbers` is optional, separated by `;`; `reason_code` is a
/// MILES reason code or its internal name; an optional `currency` column is checked against the contract.
public struct WriteOffFile: Sendable {
    public struct Row: Sendable, Equatable {
        /// The line in the file, for error reports.
        public var line: Int
        public var contractNumber: String
        public var amount: String
        public var invoiceNumbers: [String]
        public var reasonCode: String
        public var comment: String
        public var currency: String?
    }

    public static let requiredColumns = ["contract_number", "amount", "reason_code"]

    public let path: String
    public let rows: [Row]

    /// Reads the whole file; a missing header or an unreadable file fails as a whole, naming the file.
    public init(path: String) throws(CSVFileError) {
        self.path = path
        let table = try CSVTable(path: path, requiredColumns: Self.requiredColumns,
                                 expected: "contract_number,amount,invoice_numbers,reason_code,comment")
        rows = table.rows.map { row in
            let currency = row["currency"]
            return Row(line: row.line, contractNumber: row["contract_number"], amount: row["amount"],
                       invoiceNumbers: row["invoice_numbers"].split(whereSeparator: { $0 == ";" || $0 == " " }).map(String.init),
                       reasonCode: row["reason_code"], comment: row["comment"], currency: currency.isEmpty ? nil : currency)
        }
    }
}
