import CollectionsDomain

/// The open invoices of one contract, or of all one customer's contracts, in one currency: a row
/// of the aged debt summed by contract or by customer.
public struct OpenBalanceGroup: Sendable, Equatable {
    /// How the open invoices are grouped.
    public enum Grouping: Sendable {
        case contract
        case customer
    }

    /// The contract number, or the customer's partner id.
    public var key: String
    public var customerName: String
    public var currency: CurrencyCode
    public var invoices: [Invoice]

    public init(key: String, customerName: String, currency: CurrencyCode, invoices: [Invoice]) {
        self.key = key
        self.customerName = customerName
        self.currency = currency
        self.invoices = invoices
    }
}
