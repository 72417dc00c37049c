import CSV
import Foundation

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
    public init(path: String) throws(WriteOffFileError) {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else { throw WriteOffFileError(path: path, message: "cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { throw WriteOffFileError(path: path, message: "the file is not UTF-8 text") }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: true, trimFields: true)
        } catch {
            throw WriteOffFileError(path: path, message: "not CSV: \(error)")
        }
        let header = (reader.headerRow ?? []).map { $0.lowercased() }
        let missing = Self.requiredColumns.filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw WriteOffFileError(path: path, message: "the header row lacks \(missing.joined(separator: ", ")); "
                + "expected contract_number,amount,invoice_numbers,reason_code,comment")
        }
        func column(_ name: String, _ fields: [String]) -> String {
            guard let index = header.firstIndex(of: name), index < fields.count else { return "" }
            return fields[index]
        }
        var rows: [Row] = []
        var line = 1
        while let fields = reader.next() {
            line += 1
            if fields.allSatisfy(\.isEmpty) { continue }
            let invoices = column("invoice_numbers", fields).split(whereSeparator: { $0 == ";" || $0 == " " }).map(String.init)
            let currency = column("currency", fields)
            rows.append(Row(line: line, contractNumber: column("contract_number", fields), amount: column("amount", fields),
                            invoiceNumbers: invoices, reasonCode: column("reason_code", fields), comment: column("comment", fields),
                            currency: currency.isEmpty ? nil : currency))
        }
        if let error = reader.error { throw WriteOffFileError(path: path, message: "CSV error after line \(line): \(error)") }
        self.rows = rows
    }
}

/// The write-off file as a whole could not be read.
public struct WriteOffFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}
