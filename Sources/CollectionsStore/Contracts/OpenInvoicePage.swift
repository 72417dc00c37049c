import CollectionsDomain

/// A page of the store's open invoices, in contract-number order, and where the next page starts
/// (nil after the last).
public struct OpenInvoicePage: Sendable {
    /// Where a page of open invoices starts: after this invoice of this contract.
    public struct Cursor: Sendable, Equatable {
        public var contractNumber: String
        public var position: Int

        public init(contractNumber: String, position: Int) {
            self.contractNumber = contractNumber
            self.position = position
        }
    }

    public var invoices: [Invoice]
    public var next: Cursor?

    public init(invoices: [Invoice], next: Cursor?) {
        self.invoices = invoices
        self.next = next
    }
}
