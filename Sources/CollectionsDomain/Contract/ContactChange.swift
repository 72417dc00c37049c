/// New contact details for a customer (from a trace agent, say), on its way to MILES as
/// UpdateContactDetails against the partner version it was decided on.
public struct ContactChange: Sendable, Equatable {
    public enum State: String, Sendable {
        case queued, applied, failed
    }

    public var id: Int64
    /// The contract the report was about; the change itself is to its customer.
    public var contractNumber: String
    public var partnerId: String
    public var expectedVersion: Int64
    public var address: PostalAddress?
    /// Becomes the customer's first phone number; the others are kept.
    public var phone: String?
    public var email: String?
    /// Who reported it, e.g. `tracewise` with the file and line.
    public var source: String
    public var requestedBy: String
    public var requestedAt: Timestamp
    public var state: State
    public var milesVersion: Int64?

    public init(id: Int64, contractNumber: String, partnerId: String, expectedVersion: Int64, address: PostalAddress?, phone: String?,
                email: String?, source: String, requestedBy: String, requestedAt: Timestamp, state: State = .queued,
                milesVersion: Int64? = nil) {
        self.id = id
        self.contractNumber = contractNumber
        self.partnerId = partnerId
        self.expectedVersion = expectedVersion
        self.address = address
        self.phone = phone
        self.email = email
        self.source = source
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.state = state
        self.milesVersion = milesVersion
    }

    /// Stable across retries and restarts: MILES answers a repeat with its first result.
    public var clientReference: String { OutboxKind.updateContactDetails.clientReference(forSubject: id) }

    /// The customer as MILES will hold it once the change is applied.
    public func applied(to customer: Customer, newVersion: Int64) -> Customer {
        var changed = customer
        if let address { changed.address = address }
        if let phone { changed.phones = [phone] + customer.phones.filter { $0 != phone } }
        if let email { changed.email = email }
        changed.version = newVersion
        return changed
    }
}
