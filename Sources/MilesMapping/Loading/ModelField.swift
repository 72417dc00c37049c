/// The fields of the collections model a MILES element can be mapped onto: the left-hand side
/// of `mappings/contract.yaml`. Each says what kind of value it holds and whether MILES must send it.
public enum ModelField: String, CaseIterable, Sendable {
    case contractNumber, version, statusCode, agreementType, startDate, endDate, currency
    case totalPrice, paidToDate, monthlyPayment, lastPaymentDate
    case arrearsAmount = "arrears.amount"
    case arrearsOldestUnpaidDueDate = "arrears.oldestUnpaidDueDate"
    case arrearsMissedPayments = "arrears.missedPayments"
    case customerPartnerId = "customer.partnerId"
    case customerVersion = "customer.version"
    case customerName = "customer.name"
    case customerKind = "customer.kind"
    case customerAddressLine1 = "customer.address.line1"
    case customerAddressLine2 = "customer.address.line2"
    case customerAddressTown = "customer.address.town"
    case customerAddressPostcode = "customer.address.postcode"
    case customerAddressCountry = "customer.address.country"
    case customerPhones = "customer.phones"
    case customerEmail = "customer.email"
    case customerVulnerable = "customer.vulnerable"
    case vehicleRegistration = "vehicle.registration"
    case vehicleVIN = "vehicle.vin"
    case vehicleMake = "vehicle.make"
    case vehicleModel = "vehicle.model"
    case lastModified
    /// The repeating invoice record inside a contract.
    case invoices

    case invoiceNumber = "number"
    case invoiceIssueDate = "issueDate"
    case invoiceDueDate = "dueDate"
    case invoiceAmount = "amount"
    case invoiceOpenAmount = "openAmount"

    enum Section { case contract, invoice }

    var section: Section {
        switch self {
        case .invoiceNumber, .invoiceIssueDate, .invoiceDueDate, .invoiceAmount, .invoiceOpenAmount: return .invoice
        default: return .contract
        }
    }

    /// Whether a contract without this element is an error (for the customer's version: when it is mapped).
    var isRequired: Bool {
        switch self {
        case .endDate, .lastPaymentDate, .arrearsOldestUnpaidDueDate, .customerAddressLine2, .customerEmail, .customerPhones, .invoices: return false
        default: return true
        }
    }

    /// Whether the mapping must map it: every field a contract must have, except the customer's
    /// version, which some MILES do not keep. Contact changes, which name it, are then disabled.
    var mustBeMapped: Bool { isRequired && self != .customerVersion }

    static func field(named name: String, in section: Section) -> ModelField? {
        guard let field = ModelField(rawValue: name), field.section == section else { return nil }
        return field
    }
}
