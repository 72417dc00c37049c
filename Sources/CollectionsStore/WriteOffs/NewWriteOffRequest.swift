import CollectionsDomain

/// A write-off request checked and ready to be stored, from one row of a write-off file.
public struct NewWriteOffRequest: Sendable, Equatable {
    public var contractNumber: String
    public var invoiceNumbers: [String]
    public var amount: Money
    public var reason: WriteOffReason
    public var comment: String
    public var requiredRole: String
    public var approvalsNeeded: Int
    public var matrixVersion: Int
    public var customerMustBeTold: Bool
    /// Where it came from, e.g. `writeoffs-2026-11.csv:14`.
    public var source: String

    public init(contractNumber: String, invoiceNumbers: [String], amount: Money, reason: WriteOffReason, comment: String,
                requiredRole: String, approvalsNeeded: Int, matrixVersion: Int, customerMustBeTold: Bool, source: String) {
        self.contractNumber = contractNumber
        self.invoiceNumbers = invoiceNumbers
        self.amount = amount
        self.reason = reason
        self.comment = comment
        self.requiredRole = requiredRole
        self.approvalsNeeded = approvalsNeeded
        self.matrixVersion = matrixVersion
        self.customerMustBeTold = customerMustBeTold
        self.source = source
    }

    /// Identifies the same write-off submitted again (same contract, invoices, amount and reason).
    public var fingerprint: String {
        [contractNumber, invoiceNumbers.sorted().joined(separator: ","), String(amount.minorUnits), amount.currency.code,
         reason.rawValue].joined(separator: "|")
    }
}
