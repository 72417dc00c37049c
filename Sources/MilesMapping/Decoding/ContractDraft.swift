import CollectionsDomain

/// An invoice as read so far; amounts wait for the contract's currency.
struct InvoiceDraft {
    var number: String?
    var issueDate: LocalDate?
    var dueDate: LocalDate?
    var amount: DecimalAmount?
    var openAmount: DecimalAmount?
}

/// A contract as read so far. `build` checks that every required element came and turns
/// amounts into money once the currency is known, wherever MILES put it in the record.
struct ContractDraft {
    var contractNumber: String?
    var version: Int64?
    var statusCode: String?
    var agreementType: AgreementType?
    var startDate: LocalDate?
    var endDate: LocalDate?
    var currency: CurrencyCode?
    var totalPrice: DecimalAmount?
    var paidToDate: DecimalAmount?
    var monthlyPayment: DecimalAmount?
    var lastPaymentDate: LocalDate?
    var arrearsAmount: DecimalAmount?
    var oldestUnpaidDueDate: LocalDate?
    var missedPayments: Int?
    var partnerId: String?
    var partnerVersion: Int64?
    var name: String?
    var kind: Customer.Kind?
    var line1: String?
    var line2: String?
    var town: String?
    var postcode: String?
    var country: String?
    var phones: [String] = []
    var email: String?
    var vulnerable: Bool?
    var registration: String?
    var vin: String?
    var make: String?
    var model: String?
    var lastModified: Timestamp?

    consuming func build(invoices: [InvoiceDraft], compiled: CompiledContractDecoder) throws -> Contract {
        // Kept aside for the errors: the fields are taken out of the draft one by one as the contract is built.
        let number = contractNumber
        func missing(_ field: ModelField) -> ContractDecodingError {
            ContractDecodingError(contractNumber: number, elementPath: compiled.paths[field] ?? field.rawValue,
                                  value: nil, problem: "is required (model field \(field.rawValue)) but missing")
        }
        func require<T>(_ value: T?, _ field: ModelField) throws -> T {
            guard let value else { throw missing(field) }
            return value
        }
        let currency = try require(currency, .currency)
        func money(_ amount: DecimalAmount?, _ field: ModelField) throws -> Money {
            let amount = try require(amount, field)
            guard let money = amount.money(in: currency) else {
                throw ContractDecodingError(
                    contractNumber: number, elementPath: compiled.paths[field] ?? field.rawValue,
                    value: "\(amount.mantissa)e-\(amount.scale)",
                    problem: "has more decimal places than \(currency.code) allows, or is too large")
            }
            return money
        }
        let invoices = try invoices.map { draft in
            Invoice(
                number: try require(draft.number, .invoiceNumber),
                issueDate: try require(draft.issueDate, .invoiceIssueDate),
                dueDate: try require(draft.dueDate, .invoiceDueDate),
                amount: try money(draft.amount, .invoiceAmount),
                openAmount: try money(draft.openAmount, .invoiceOpenAmount))
        }
        return Contract(
            contractNumber: try require(contractNumber.take(), .contractNumber),
            version: try require(version.take(), .version),
            statusCode: try require(statusCode.take(), .statusCode),
            agreementType: try require(agreementType.take(), .agreementType),
            startDate: try require(startDate.take(), .startDate),
            endDate: endDate,
            currency: currency,
            totalPrice: try money(totalPrice, .totalPrice),
            paidToDate: try money(paidToDate, .paidToDate),
            monthlyPayment: try money(monthlyPayment, .monthlyPayment),
            arrears: Arrears(amount: try money(arrearsAmount, .arrearsAmount), oldestUnpaidDueDate: oldestUnpaidDueDate,
                             missedPayments: try require(missedPayments.take(), .arrearsMissedPayments)),
            customer: Customer(
                partnerId: try require(partnerId.take(), .customerPartnerId),
                name: try require(name.take(), .customerName),
                kind: try require(kind.take(), .customerKind),
                address: PostalAddress(
                    line1: try require(line1.take(), .customerAddressLine1), line2: line2.take(),
                    town: try require(town.take(), .customerAddressTown),
                    postcode: try require(postcode.take(), .customerAddressPostcode),
                    country: try require(country.take(), .customerAddressCountry)),
                phones: phones, email: email.take(),
                vulnerable: try require(vulnerable.take(), .customerVulnerable),
                version: compiled.mapsCustomerVersion ? try require(partnerVersion.take(), .customerVersion) : 0),
            vehicle: Vehicle(
                registration: try require(registration.take(), .vehicleRegistration), vin: try require(vin.take(), .vehicleVIN),
                make: try require(make.take(), .vehicleMake), model: try require(model.take(), .vehicleModel)),
            openInvoices: invoices,
            lastModified: try require(lastModified.take(), .lastModified),
            lastPaymentDate: lastPaymentDate)
    }
}
