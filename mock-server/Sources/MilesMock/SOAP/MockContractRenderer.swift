import CollectionsDomain
import MilesSOAP

/// Writes contracts as MILES does, with MILES's own element names. Deliberately independent of
/// the adapter's mapping files, so a mistake in a mapping shows up as a test failure.
///
/// A contract is written straight into bytes: tags from static strings, numbers, dates and amounts
/// as digits, and text escaped only when it holds a character XML reserves. Building a `String` per
/// element cost the mock about 10 µs of CPU a contract, which made it, not the adapter, the
/// bottleneck of a million-contract sync on two cores.
enum MockContractRenderer {
    static let agreementCodes: [AgreementType: String] = [
        .hirePurchase: "HP", .conditionalSale: "CS", .personalContractPurchase: "PCP",
        .personalContractHire: "PCH", .businessContractHire: "BCH",
    ]

    private static func write(_ contract: Contract, into out: inout ContractBytes) throws {
        out.raw("<m:Contract>")
        try out.text("<m:ContractNumber>", contract.contractNumber, "</m:ContractNumber>", element: "m:ContractNumber")
        out.integer("<m:Version>", contract.version, "</m:Version>")
        try out.text("<m:Status>", contract.statusCode, "</m:Status>", element: "m:Status")
        try out.text("<m:AgreementType>", agreementCodes[contract.agreementType]!, "</m:AgreementType>", element: "m:AgreementType")
        out.date("<m:StartDate>", contract.startDate, "</m:StartDate>")
        if let end = contract.endDate { out.date("<m:EndDate>", end, "</m:EndDate>") }
        try out.text("<m:Currency>", contract.currency.code, "</m:Currency>", element: "m:Currency")
        out.money("<m:TotalPrice>", contract.totalPrice, "</m:TotalPrice>")
        out.money("<m:PaidToDate>", contract.paidToDate, "</m:PaidToDate>")
        out.money("<m:MonthlyPayment>", contract.monthlyPayment, "</m:MonthlyPayment>")
        if let paid = contract.lastPaymentDate { out.date("<m:LastPaymentDate>", paid, "</m:LastPaymentDate>") }
        out.raw("<m:Arrears>")
        out.money("<m:Amount>", contract.arrears.amount, "</m:Amount>")
        if let oldest = contract.arrears.oldestUnpaidDueDate { out.date("<m:OldestUnpaidDueDate>", oldest, "</m:OldestUnpaidDueDate>") }
        out.integer("<m:MissedPayments>", Int64(contract.arrears.missedPayments), "</m:MissedPayments>")
        out.raw("</m:Arrears>")
        let customer = contract.customer
        out.raw("<m:Customer>")
        try out.text("<m:PartnerId>", customer.partnerId, "</m:PartnerId>", element: "m:PartnerId")
        out.integer("<m:PartnerVersion>", customer.version, "</m:PartnerVersion>")
        try out.text("<m:Name>", customer.name, "</m:Name>", element: "m:Name")
        out.raw(customer.kind == .business ? "<m:CustomerType>BUS</m:CustomerType>" : "<m:CustomerType>CON</m:CustomerType>")
        out.raw("<m:Address>")
        try out.text("<m:Line1>", customer.address.line1, "</m:Line1>", element: "m:Line1")
        if let line2 = customer.address.line2 { try out.text("<m:Line2>", line2, "</m:Line2>", element: "m:Line2") }
        try out.text("<m:Town>", customer.address.town, "</m:Town>", element: "m:Town")
        try out.text("<m:Postcode>", customer.address.postcode, "</m:Postcode>", element: "m:Postcode")
        try out.text("<m:Country>", customer.address.country, "</m:Country>", element: "m:Country")
        out.raw("</m:Address>")
        out.raw("<m:Phones>")
        for phone in customer.phones { try out.text("<m:Phone>", phone, "</m:Phone>", element: "m:Phone") }
        out.raw("</m:Phones>")
        if let email = customer.email { try out.text("<m:Email>", email, "</m:Email>", element: "m:Email") }
        out.raw(customer.vulnerable ? "<m:Vulnerable>true</m:Vulnerable>" : "<m:Vulnerable>false</m:Vulnerable>")
        out.raw("</m:Customer>")
        out.raw("<m:Vehicle>")
        try out.text("<m:Registration>", contract.vehicle.registration, "</m:Registration>", element: "m:Registration")
        try out.text("<m:VIN>", contract.vehicle.vin, "</m:VIN>", element: "m:VIN")
        try out.text("<m:Make>", contract.vehicle.make, "</m:Make>", element: "m:Make")
        try out.text("<m:Model>", contract.vehicle.model, "</m:Model>", element: "m:Model")
        out.raw("</m:Vehicle>")
        out.raw("<m:Invoices>")
        for invoice in contract.openInvoices {
            out.raw("<m:Invoice>")
            try out.text("<m:InvoiceNumber>", invoice.number, "</m:InvoiceNumber>", element: "m:InvoiceNumber")
            out.date("<m:IssueDate>", invoice.issueDate, "</m:IssueDate>")
            out.date("<m:DueDate>", invoice.dueDate, "</m:DueDate>")
            out.money("<m:Amount>", invoice.amount, "</m:Amount>")
            out.money("<m:OpenAmount>", invoice.openAmount, "</m:OpenAmount>")
            out.raw("</m:Invoice>")
        }
        out.raw("</m:Invoices>")
        out.timestamp("<m:LastModified>", contract.lastModified, "</m:LastModified>")
        out.raw("</m:Contract>")
    }

    /// A whole FindContracts answer envelope.
    static func findContractsResponse(asOf: Timestamp, totalCount: Int, nextCursor: String?, contracts: [Contract]) throws -> [UInt8] {
        var body = ContractBytes(bytes: [])
        // About 1.5 kB a contract: one allocation for a page.
        body.bytes.reserveCapacity(1_024 + contracts.count * 1_600)
        body.bytes.append(contentsOf: envelope.start)
        body.raw("<m:FindContractsResponse>")
        body.timestamp("<m:AsOf>", asOf, "</m:AsOf>")
        body.integer("<m:TotalCount>", Int64(totalCount), "</m:TotalCount>")
        if let nextCursor { try body.text("<m:NextCursor>", nextCursor, "</m:NextCursor>", element: "m:NextCursor") }
        body.raw("<m:Contracts>")
        for contract in contracts { try write(contract, into: &body) }
        body.raw("</m:Contracts></m:FindContractsResponse>")
        body.bytes.append(contentsOf: envelope.end)
        return body.bytes
    }

    static func getContractResponse(_ contract: Contract) throws -> [UInt8] {
        var body = ContractBytes(bytes: envelope.start)
        body.raw("<m:GetContractResponse>")
        try write(contract, into: &body)
        body.raw("</m:GetContractResponse>")
        body.bytes.append(contentsOf: envelope.end)
        return body.bytes
    }

    /// The response envelope MilesSOAP writes, split where the body goes, so a page is written
    /// into one buffer and never copied.
    private static let envelope: (start: [UInt8], end: [UInt8]) = {
        // Nothing in an empty body can hold a character XML cannot carry.
        let empty = try! SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { _ in }
        let end = Array("</soapenv:Body></soapenv:Envelope>".utf8)
        precondition(empty.count > end.count && Array(empty.suffix(end.count)) == end, "SOAPEnvelope no longer ends its body as the mock expects")
        return (Array(empty.dropLast(end.count)), end)
    }()
}

/// Bytes of XML appended in place; text is escaped as `XMLWriter` escapes it.
private struct ContractBytes {
    var bytes: [UInt8]

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// `open`, `value` escaped, `close`. A value with a character XML reserves or cannot carry goes
    /// through `XMLWriter`, so both write (and refuse) exactly the same.
    mutating func text(_ open: StaticString, _ value: String, _ close: StaticString, element: String) throws {
        raw(open)
        var value = value
        let plain = value.withUTF8 { utf8 in
            !utf8.contains { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">")
                || $0 == UInt8(ascii: "\"") || $0 < 0x20 || $0 == 0xEF }
        }
        if plain {
            value.withUTF8 { bytes.append(contentsOf: $0) }
        } else {
            var writer = XMLWriter(capacity: value.utf8.count + 16)
            try writer.text(value, element: element)
            bytes.append(contentsOf: writer.bytes)
        }
        raw(close)
    }

    mutating func integer(_ open: StaticString, _ value: Int64, _ close: StaticString) {
        raw(open)
        digits(value)
        raw(close)
    }

    /// `YYYY-MM-DD`.
    mutating func date(_ open: StaticString, _ value: LocalDate, _ close: StaticString) {
        raw(open)
        let (year, month, day) = value.components
        padded(year, 4)
        bytes.append(UInt8(ascii: "-"))
        padded(month, 2)
        bytes.append(UInt8(ascii: "-"))
        padded(day, 2)
        raw(close)
    }

    /// `YYYY-MM-DDThh:mm:ss[.fff]Z`, as `Timestamp.description`.
    mutating func timestamp(_ open: StaticString, _ value: Timestamp, _ close: StaticString) {
        raw(open)
        let date = value.date
        let (year, month, day) = date.components
        padded(year, 4)
        bytes.append(UInt8(ascii: "-"))
        padded(month, 2)
        bytes.append(UInt8(ascii: "-"))
        padded(day, 2)
        bytes.append(UInt8(ascii: "T"))
        let millisOfDay = value.millisecondsSinceEpoch - Int64(date.daysSinceEpoch) * 86_400_000
        let seconds = Int(millisOfDay / 1000)
        padded(seconds / 3600, 2)
        bytes.append(UInt8(ascii: ":"))
        padded(seconds / 60 % 60, 2)
        bytes.append(UInt8(ascii: ":"))
        padded(seconds % 60, 2)
        let millis = Int(millisOfDay % 1000)
        if millis != 0 {
            bytes.append(UInt8(ascii: "."))
            padded(millis, 3)
        }
        bytes.append(UInt8(ascii: "Z"))
        raw(close)
    }

    /// The amount in its currency's minor-unit digits, as `Money.decimalString`.
    mutating func money(_ open: StaticString, _ value: Money, _ close: StaticString) {
        raw(open)
        let places = value.currency.minorUnitDigits
        if value.minorUnits < 0 { bytes.append(UInt8(ascii: "-")) }
        let magnitude = value.minorUnits.magnitude
        var divisor: UInt64 = 1
        for _ in 0..<places { divisor *= 10 }
        digits(magnitude / divisor)
        if places > 0 {
            bytes.append(UInt8(ascii: "."))
            padded(Int(magnitude % divisor), places)
        }
        raw(close)
    }

    private mutating func digits(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        digits(value.magnitude)
    }

    private mutating func digits(_ value: UInt64) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { buffer in
            var position = buffer.count
            var rest = value
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: buffer[position...])
        }
    }

    /// `value` (not negative) in at least `width` digits.
    private mutating func padded(_ value: Int, _ width: Int) {
        var length = 1
        var rest = value / 10
        while rest > 0 {
            length += 1
            rest /= 10
        }
        for _ in length..<max(length, width) { bytes.append(UInt8(ascii: "0")) }
        digits(UInt64(value))
    }
}
