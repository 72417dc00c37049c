import CollectionsDomain
import Foundation

/// The finance audit export of write-off requests.
public enum WriteOffExport {
    public static let header = [
        "request_id", "state", "contract_number", "invoice_numbers", "amount", "currency", "reason", "comment", "requested_by",
        "requested_at", "required_role", "approvals_needed", "matrix_version", "approvers", "approval_matrix_versions",
        "approved_at", "miles_writeoff_id", "customer_must_be_told", "failure_reason", "rejection",
    ]

    /// Writes the export to `path` whole or not at all, readable by its owner only.
    public static func write(_ requests: [WriteOffRequest], to path: String) throws {
        try AtomicFile.write(Data(csv(requests).utf8), to: path)
    }

    /// CSV with a header row, one line per request, fields quoted where they need it.
    public static func csv(_ requests: [WriteOffRequest]) -> String {
        CSVText.render(header: header, rows: requests.map { request in
            [
                String(request.id), request.state.rawValue, request.contractNumber, request.invoiceNumbers.joined(separator: ";"),
                request.amount.decimalString, request.amount.currency.code, request.reason.rawValue, request.comment,
                request.requestedBy, request.requestedAt.description, request.requiredRole, String(request.approvalsNeeded),
                String(request.matrixVersion), request.approvals.map(\.approver).joined(separator: ";"),
                request.approvals.map { String($0.matrixVersion) }.joined(separator: ";"),
                request.approvals.map(\.at.description).joined(separator: ";"), request.milesWriteOffId ?? "",
                request.customerMustBeTold ? "yes: tell the customer the debt still exists (CONC 7.4)" : "no",
                request.failureReason ?? "", request.rejection ?? "",
            ]
        })
    }
}
