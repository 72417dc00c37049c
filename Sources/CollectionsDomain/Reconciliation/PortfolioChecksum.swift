/// A checksum over every field of a sequence of contracts, for proving that two copies of a
/// portfolio (MILES's and the store's) are equal field by field without shipping them around.
///
/// Feed contracts in contract-number order; the result is FNV-1a 64 over a canonical text form.
public struct PortfolioChecksum: Sendable, Equatable, CustomStringConvertible {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public private(set) var count = 0

    public init() {}

    public mutating func add(_ contract: Contract) {
        var line = Self.canonicalLine(contract)
        line.withUTF8 { bytes in
            for byte in bytes {
                value ^= UInt64(byte)
                value = value &* 0x100_0000_01b3
            }
        }
        count += 1
    }

    public var description: String {
        let hex = String(value, radix: 16)
        return "\(count) contracts, checksum \(String(repeating: "0", count: 16 - hex.count))\(hex)"
    }

    /// Every field of the contract in a fixed order, separated by a unit separator.
    public static func canonicalLine(_ c: Contract) -> String {
        let customer = c.customer
        let address = customer.address
        var fields: [String] = [
            c.contractNumber, String(c.version), c.statusCode, c.agreementType.rawValue,
            c.startDate.description, c.endDate?.description ?? "", c.currency.code,
            String(c.totalPrice.minorUnits), String(c.paidToDate.minorUnits), String(c.monthlyPayment.minorUnits),
            String(c.arrears.amount.minorUnits), c.arrears.oldestUnpaidDueDate?.description ?? "",
            String(c.arrears.missedPayments),
            customer.partnerId, customer.name, customer.kind.rawValue, address.line1, address.line2 ?? "",
            address.town, address.postcode, address.country, customer.phones.joined(separator: ","),
            customer.email ?? "", customer.vulnerable ? "1" : "0",
            c.vehicle.registration, c.vehicle.vin, c.vehicle.make, c.vehicle.model,
            String(c.lastModified.millisecondsSinceEpoch), c.lastPaymentDate?.description ?? "",
        ]
        for invoice in c.openInvoices {
            fields.append(contentsOf: [
                invoice.number, invoice.issueDate.description, invoice.dueDate.description,
                String(invoice.amount.minorUnits), String(invoice.openAmount.minorUnits),
            ])
        }
        return fields.joined(separator: "\u{1F}") + "\n"
    }
}
