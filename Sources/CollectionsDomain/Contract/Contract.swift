/// One version of a MILES lease or credit contract, with its customer, vehicle and open invoices.
///
/// MILES never overwrites a contract: each change makes a new `version`, and writes name the
/// version they expect. `statusCode` is MILES's own code; `mappings/status-codes.yaml` says which
/// `ContractStatus` it means, so a code the mapping does not know yet is kept, not lost.
public struct Contract: Hashable, Sendable {
    public var contractNumber: String
    public var version: Int64
    public var statusCode: String
    public var agreementType: AgreementType
    public var startDate: LocalDate
    public var endDate: LocalDate?
    public var currency: CurrencyCode
    public var totalPrice: Money
    public var paidToDate: Money
    public var monthlyPayment: Money
    public var arrears: Arrears
    public var customer: Customer
    public var vehicle: Vehicle
    public var openInvoices: [Invoice]
    public var lastModified: Timestamp
    /// The last payment MILES received; the statute-barred clock runs from it (CONC 7.15).
    public var lastPaymentDate: LocalDate?

    public init(
        contractNumber: String, version: Int64, statusCode: String, agreementType: AgreementType,
        startDate: LocalDate, endDate: LocalDate?, currency: CurrencyCode, totalPrice: Money,
        paidToDate: Money, monthlyPayment: Money, arrears: Arrears, customer: Customer,
        vehicle: Vehicle, openInvoices: [Invoice], lastModified: Timestamp, lastPaymentDate: LocalDate? = nil
    ) {
        self.lastPaymentDate = lastPaymentDate
        self.contractNumber = contractNumber
        self.version = version
        self.statusCode = statusCode
        self.agreementType = agreementType
        self.startDate = startDate
        self.endDate = endDate
        self.currency = currency
        self.totalPrice = totalPrice
        self.paidToDate = paidToDate
        self.monthlyPayment = monthlyPayment
        self.arrears = arrears
        self.customer = customer
        self.vehicle = vehicle
        self.openInvoices = openInvoices
        self.lastModified = lastModified
    }

    /// The sum of the open amounts of the open invoices.
    public var openBalance: Money {
        Money(minorUnits: openInvoices.reduce(0) { $0 + $1.openAmount.minorUnits }, currency: currency)
    }
}
