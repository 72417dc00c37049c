/// A payment an agent reported collecting that MILES does not show yet: a bank entry of the same
/// amount for the contract is probably it arriving.
public struct PaymentInTransit: Hashable, Sendable {
    /// The agent's update that reported it.
    public var updateId: Int64
    public var agent: String
    public var amount: Money
    public var paidOn: LocalDate
    public var agentReference: String

    public init(updateId: Int64, agent: String, amount: Money, paidOn: LocalDate, agentReference: String) {
        self.updateId = updateId
        self.agent = agent
        self.amount = amount
        self.paidOn = paidOn
        self.agentReference = agentReference
    }
}

/// What the matching knows of a contract a bank entry may pay: read from the store for each batch.
public struct BankMatchContract: Hashable, Sendable {
    public var contractNumber: String
    public var currency: CurrencyCode
    public var customerName: String
    public var monthlyPayment: Money
    public var arrears: Money
    /// Open amounts as MILES last sent them, less the relief MILES has not shown yet (`ReliefInFlight`).
    public var openInvoices: [Invoice]
    /// Payer accounts (IBANs) earlier payments for this customer came from.
    public var knownPayerAccounts: Set<String>
    public var paymentsInTransit: [PaymentInTransit]
    /// The allocations (by their bank entry's identity) whose lines `openInvoices` already leaves out.
    public var takenBy: Set<String>

    public init(contractNumber: String, currency: CurrencyCode, customerName: String, monthlyPayment: Money, arrears: Money,
                openInvoices: [Invoice], knownPayerAccounts: Set<String>, paymentsInTransit: [PaymentInTransit], takenBy: Set<String> = []) {
        self.contractNumber = contractNumber
        self.currency = currency
        self.customerName = customerName
        self.monthlyPayment = monthlyPayment
        self.arrears = arrears
        self.openInvoices = openInvoices
        self.knownPayerAccounts = knownPayerAccounts
        self.paymentsInTransit = paymentsInTransit
        self.takenBy = takenBy
    }

    public var openBalance: Money {
        Money(minorUnits: openInvoices.reduce(0) { $0 + $1.openAmount.minorUnits }, currency: currency)
    }
}

/// What to read from the store to match an entry: the contract and invoice numbers its remittance
/// quotes, and the account that paid.
public struct BankMatchLookup: Hashable, Sendable {
    public var contractNumbers: [String]
    public var invoiceNumbers: [String]
    public var payerAccount: String?

    public init(contractNumbers: [String], invoiceNumbers: [String], payerAccount: String?) {
        self.contractNumbers = contractNumbers
        self.invoiceNumbers = invoiceNumbers
        self.payerAccount = payerAccount
    }
}

/// What the store found for a batch's lookups.
public struct BankMatchData: Sendable {
    public var contracts: [String: BankMatchContract]
    /// Invoice number to the contract it is on.
    public var invoiceOwners: [String: String]
    /// Payer account to the contracts of the customers it paid for before.
    public var payerContracts: [String: [String]]

    public init(contracts: [String: BankMatchContract] = [:], invoiceOwners: [String: String] = [:],
                payerContracts: [String: [String]] = [:]) {
        self.contracts = contracts
        self.invoiceOwners = invoiceOwners
        self.payerContracts = payerContracts
    }
}

/// A contract an entry may pay, with how sure the rules are and why.
public struct BankMatchCandidate: Hashable, Sendable {
    public var contractNumber: String
    /// 0...100.
    public var confidence: Int
    /// The rules that matched, as a person reads them ("contract number in the remittance", ...).
    public var reasons: [String]

    public init(contractNumber: String, confidence: Int, reasons: [String]) {
        self.contractNumber = contractNumber
        self.confidence = confidence
        self.reasons = reasons
    }
}

/// What the matching rules decided for a payment in.
public enum BankMatchOutcome: Hashable, Sendable {
    /// Sure enough: allocate to the contract's invoices oldest first, the rest to suspense.
    case allocate(BankMatchCandidate, lines: [AllocationLine], suspense: Money, paymentInTransit: Int64?)
    /// A person decides: the candidates, best first, and why the rules would not.
    case toCheck(reason: String, candidates: [BankMatchCandidate])
}
