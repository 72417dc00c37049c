import CollectionsDomain
import CSV
import Foundation

/// A batch of status changes: CSV with a header row
/// `contract_number,to,reason_code,effective_date,court_order_reference` (the last two optional).
public struct StatusChangeFile: Sendable {
    public struct Row: Sendable, Equatable {
        public var line: Int
        public var contractNumber: String
        public var to: String
        public var reasonCode: String
        public var effectiveDate: String
        public var courtOrderReference: String
    }

    public let path: String
    public let rows: [Row]

    public init(path: String) throws(WriteOffFileError) {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw WriteOffFileError(path: path, message: "cannot read the file as UTF-8 text")
        }
        let reader: CSVReader
        do { reader = try CSVReader(string: text, hasHeaderRow: true, trimFields: true) } catch {
            throw WriteOffFileError(path: path, message: "not CSV: \(error)")
        }
        let header = (reader.headerRow ?? []).map { $0.lowercased() }
        let missing = ["contract_number", "to", "reason_code"].filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw WriteOffFileError(path: path, message: "the header row lacks \(missing.joined(separator: ", ")); "
                + "expected contract_number,to,reason_code,effective_date,court_order_reference")
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
            rows.append(Row(line: line, contractNumber: column("contract_number", fields), to: column("to", fields),
                            reasonCode: column("reason_code", fields), effectiveDate: column("effective_date", fields),
                            courtOrderReference: column("court_order_reference", fields)))
        }
        if let error = reader.error { throw WriteOffFileError(path: path, message: "CSV error after line \(line): \(error)") }
        self.rows = rows
    }
}

extension ContractDesk {
    /// Asks for every change in the file; a refused row is reported with its line and never blocks the others.
    public func requestStatusChanges(_ file: StatusChangeFile, by user: CollectionsUser, today: LocalDate)
        -> (queued: [(line: Int, id: Int64)], refused: [(line: Int, reason: String)]) {
        var queued: [(line: Int, id: Int64)] = []
        var refused: [(line: Int, reason: String)] = []
        for row in file.rows {
            guard let target = ContractStatus(rawValue: row.to) else {
                refused.append((row.line, "'\(row.to)' is not a status; one of \(ContractStatus.allCases.map(\.rawValue).joined(separator: ", "))"))
                continue
            }
            guard row.effectiveDate.isEmpty || LocalDate.parse(row.effectiveDate) != nil else {
                refused.append((row.line, "effective_date '\(row.effectiveDate)' is not a date like 2026-11-28"))
                continue
            }
            guard !row.reasonCode.isEmpty else {
                refused.append((row.line, "reason_code is empty"))
                continue
            }
            do {
                let id = try requestStatusChange(
                    contractNumber: row.contractNumber, to: target, reasonCode: row.reasonCode,
                    effectiveDate: LocalDate.parse(row.effectiveDate) ?? today,
                    courtOrderReference: row.courtOrderReference.isEmpty ? nil : row.courtOrderReference, by: user, overrides: [:])
                queued.append((row.line, id))
            } catch {
                refused.append((row.line, "\(error)".replacingOccurrences(of: "\n", with: "; ")))
            }
        }
        return (queued, refused)
    }
}
