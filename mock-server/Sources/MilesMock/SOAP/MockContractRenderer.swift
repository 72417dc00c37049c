import CollectionsDomain
import MilesSOAP

/// Writes contracts as MILES does, with MILES's own element names. Deliberately independent of
/// the adapter's mapping files, so a mistake in a mapping shows up as a test failure.
enum MockContractRenderer {
    static let agreementCodes: [AgreementType: String] = [
        .hirePurchase: "HP", .conditionalSale: "CS", .personalContractPurchase: "PCP",
        .personalContractHire: "PCH", .businessContractHire: "BCH",
    ]

    static func write(_ contract: Contract, into writer: inout XMLWriter) throws {
        writer.open("m:Contract")
        try writer.element("m:ContractNumber", contract.contractNumber)
        try writer.element("m:Version", String(contract.version))
        try writer.element("m:Status", contract.statusCode)
        try writer.element("m:AgreementType", agreementCodes[contract.agreementType]!)
        try writer.element("m:StartDate", contract.startDate.description)
        try writer.element("m:EndDate", ifPresent: contract.endDate?.description)
        try writer.element("m:Currency", contract.currency.code)
        try writer.element("m:TotalPrice", contract.totalPrice.decimalString)
        try writer.element("m:PaidToDate", contract.paidToDate.decimalString)
        try writer.element("m:MonthlyPayment", contract.monthlyPayment.decimalString)
        try writer.element("m:LastPaymentDate", ifPresent: contract.lastPaymentDate?.description)
        writer.open("m:Arrears")
        try writer.element("m:Amount", contract.arrears.amount.decimalString)
        try writer.element("m:OldestUnpaidDueDate", ifPresent: contract.arrears.oldestUnpaidDueDate?.description)
        try writer.element("m:MissedPayments", String(contract.arrears.missedPayments))
        writer.close("m:Arrears")
        let customer = contract.customer
        writer.open("m:Customer")
        try writer.element("m:PartnerId", customer.partnerId)
        try writer.element("m:PartnerVersion", String(customer.version))
        try writer.element("m:Name", customer.name)
        try writer.element("m:CustomerType", customer.kind == .business ? "BUS" : "CON")
        writer.open("m:Address")
        try writer.element("m:Line1", customer.address.line1)
        try writer.element("m:Line2", ifPresent: customer.address.line2)
        try writer.element("m:Town", customer.address.town)
        try writer.element("m:Postcode", customer.address.postcode)
        try writer.element("m:Country", customer.address.country)
        writer.close("m:Address")
        writer.open("m:Phones")
        for phone in customer.phones { try writer.element("m:Phone", phone) }
        writer.close("m:Phones")
        try writer.element("m:Email", ifPresent: customer.email)
        try writer.element("m:Vulnerable", customer.vulnerable ? "true" : "false")
        writer.close("m:Customer")
        writer.open("m:Vehicle")
        try writer.element("m:Registration", contract.vehicle.registration)
        try writer.element("m:VIN", contract.vehicle.vin)
        try writer.element("m:Make", contract.vehicle.make)
        try writer.element("m:Model", contract.vehicle.model)
        writer.close("m:Vehicle")
        writer.open("m:Invoices")
        for invoice in contract.openInvoices {
            writer.open("m:Invoice")
            try writer.element("m:InvoiceNumber", invoice.number)
            try writer.element("m:IssueDate", invoice.issueDate.description)
            try writer.element("m:DueDate", invoice.dueDate.description)
            try writer.element("m:Amount", invoice.amount.decimalString)
            try writer.element("m:OpenAmount", invoice.openAmount.decimalString)
            writer.close("m:Invoice")
        }
        writer.close("m:Invoices")
        try writer.element("m:LastModified", contract.lastModified.description)
        writer.close("m:Contract")
    }

    /// A whole FindContracts answer envelope.
    static func findContractsResponse(asOf: Timestamp, totalCount: Int, nextCursor: String?, contracts: [Contract]) throws -> [UInt8] {
        try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:FindContractsResponse")
            try writer.element("m:AsOf", asOf.description)
            try writer.element("m:TotalCount", String(totalCount))
            try writer.element("m:NextCursor", ifPresent: nextCursor)
            writer.open("m:Contracts")
            for contract in contracts { try write(contract, into: &writer) }
            writer.close("m:Contracts")
            writer.close("m:FindContractsResponse")
        }
    }

    static func getContractResponse(_ contract: Contract) throws -> [UInt8] {
        try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:GetContractResponse")
            try write(contract, into: &writer)
            writer.close("m:GetContractResponse")
        }
    }
}
