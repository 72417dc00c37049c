import CollectionsDomain
import Foundation
import MilesMapping

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

    public init(path: String) throws(CSVFileError) {
        self.path = path
        let table = try CSVTable(path: path, requiredColumns: ["contract_number", "to", "reason_code"],
                                 expected: "contract_number,to,reason_code,effective_date,court_order_reference")
        rows = table.rows.map { row in
            Row(line: row.line, contractNumber: row["contract_number"], to: row["to"], reasonCode: row["reason_code"],
                effectiveDate: row["effective_date"], courtOrderReference: row["court_order_reference"])
        }
    }
}

extension ContractDesk {
    /// Asks for every change in the file; a refused row is reported with its line and never blocks the others.
    public func requestStatusChanges(_ file: StatusChangeFile, by user: CollectionsUser, today: LocalDate)
        async -> (queued: [(line: Int, id: Int64)], refused: [(line: Int, reason: String)]) {
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
                let id = try await requestStatusChange(
                    contractNumber: row.contractNumber, to: target, reasonCode: row.reasonCode,
                    effectiveDate: LocalDate.parse(row.effectiveDate) ?? today,
                    evidence: .init(courtOrderReference: row.courtOrderReference.isEmpty ? nil : row.courtOrderReference), by: user, overrides: [:])
                queued.append((row.line, id))
            } catch {
                refused.append((row.line, "\(error)".replacingOccurrences(of: "\n", with: "; ")))
            }
        }
        return (queued, refused)
    }
}
