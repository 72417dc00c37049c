/// A MILES business partner: the customer who holds one or more contracts.
public struct Customer: Hashable, Sendable {
    public enum Kind: String, CaseIterable, Hashable, Sendable {
        case consumer
        case business
    }

    public var partnerId: String
    /// MILES's version of the partner record: a contact-details update names the version it was decided on.
    public var version: Int64
    public var name: String
    public var kind: Kind
    public var address: PostalAddress
    public var phones: [String]
    public var email: String?
    /// Known vulnerable or may lack capacity: changes how the account may be pursued (Consumer Duty).
    public var vulnerable: Bool

    public init(
        partnerId: String, name: String, kind: Kind, address: PostalAddress,
        phones: [String], email: String?, vulnerable: Bool, version: Int64 = 1
    ) {
        self.partnerId = partnerId
        self.version = version
        self.name = name
        self.kind = kind
        self.address = address
        self.phones = phones
        self.email = email
        self.vulnerable = vulnerable
    }
}

/// A postal address as MILES holds it.
public struct PostalAddress: Hashable, Sendable {
    public var line1: String
    public var line2: String?
    public var town: String
    public var postcode: String
    /// ISO 3166 alpha-2, e.g. GB.
    public var country: String

    public init(line1: String, line2: String?, town: String, postcode: String, country: String) {
        self.line1 = line1
        self.line2 = line2
        self.town = town
        self.postcode = postcode
        self.country = country
    }
}
