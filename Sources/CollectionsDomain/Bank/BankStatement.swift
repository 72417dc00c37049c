/// The two statement formats banks send: ISO 20022 camt.053 (XML) and SWIFT MT940 (tagged text).
public enum BankStatementFormat: String, Sendable, CaseIterable {
    case camt053
    case mt940
}

/// Whether an entry or a balance is money in (credit) or out (debit) of the account.
public enum CreditDebit: String, Sendable, Hashable {
    case credit
    case debit
}

/// A balance a statement states: its amount (never negative), whether it is in credit or debit, and its date.
public struct BankBalance: Hashable, Sendable, CustomStringConvertible {
    public var amount: Money
    public var mark: CreditDebit
    public var date: LocalDate

    public init(amount: Money, mark: CreditDebit, date: LocalDate) {
        self.amount = amount
        self.mark = mark
        self.date = date
    }

    /// The balance as a signed number of minor units: negative when overdrawn.
    public var signedMinorUnits: Int64 { mark == .credit ? amount.minorUnits : -amount.minorUnits }

    public var description: String { "\(mark == .credit ? "" : "-")\(amount) on \(date)" }
}

/// What a statement says about itself before its entries: whose account, which statement, and the
/// balance it opens with. The closing balance follows the entries (`BankStatementVisitor.endStatement`).
public struct BankStatementHeader: Hashable, Sendable {
    public var format: BankStatementFormat
    /// The account the statement is for: an IBAN (camt `Acct/Id/IBAN`, MT940 `:25:`), spaces removed.
    public var account: String
    public var currency: CurrencyCode
    /// The bank's identifier of the statement (camt `Stmt/Id`, MT940 `:20:`).
    public var statementId: String
    /// The statement's number in the account's sequence (camt `ElctrncSeqNb` or `LglSeqNb`, MT940 `:28C:`), when given.
    public var sequenceNumber: String?
    public var opening: BankBalance

    public init(format: BankStatementFormat, account: String, currency: CurrencyCode, statementId: String,
                sequenceNumber: String?, opening: BankBalance) {
        self.format = format
        self.account = account
        self.currency = currency
        self.statementId = statementId
        self.sequenceNumber = sequenceNumber
        self.opening = opening
    }
}

/// One booked entry of a statement: a payment in, money out, or a return or reversal of an earlier entry.
public struct BankEntry: Hashable, Sendable {
    /// 1-based position of the entry in its file, over all the file's statements: the import's cursor.
    public var position: Int
    /// The bank's own reference for the entry (camt `AcctSvcrRef`, MT940 `:61:` after `//`); nil when the bank gives none.
    public var bankReference: String?
    public var bookingDate: LocalDate
    public var valueDate: LocalDate
    /// Never negative; `mark` says the direction.
    public var amount: Money
    public var mark: CreditDebit
    /// The entry undoes an earlier one (camt `RvslInd` true, MT940 mark `RC` or `RD`).
    public var isReversal: Bool
    /// The return reason code (camt `RtrInf/Rsn/Cd`, MT940 `:86:` subfield or `/RTRN/` code), when given.
    public var returnReason: String?
    /// The remittance information, unstructured lines joined by one space (camt `RmtInf/Ustrd`, MT940 `:86:` purpose lines).
    public var remittance: String
    /// Who paid, as the bank tells it (camt `RltdPties/Dbtr/Nm`, MT940 `:86:` name subfield).
    public var counterpartyName: String?
    /// The payer's account, an IBAN with spaces removed, when the bank tells it.
    public var counterpartyAccount: String?
    /// The end-to-end identifier the payer gave (camt `Refs/EndToEndId`, MT940 `:86:` `EREF`), when given.
    public var endToEndId: String?
    /// The amount instructed (camt `AmtDtls/InstdAmt`, German MT940 `OAMT+`): what the payer sent
    /// when it was another currency, before the bank converted it; or, on a return, the payment's own
    /// amount, before the charges the bank added to it (camt `Chrgs`, German MT940 `COAM+`).
    public var instructedAmount: Money?

    public init(position: Int, bankReference: String?, bookingDate: LocalDate, valueDate: LocalDate, amount: Money,
                mark: CreditDebit, isReversal: Bool, returnReason: String?, remittance: String,
                counterpartyName: String?, counterpartyAccount: String?, endToEndId: String?, instructedAmount: Money? = nil) {
        self.position = position
        self.bankReference = bankReference
        self.bookingDate = bookingDate
        self.valueDate = valueDate
        self.amount = amount
        self.mark = mark
        self.isReversal = isReversal
        self.returnReason = returnReason
        self.remittance = remittance
        self.counterpartyName = counterpartyName
        self.counterpartyAccount = counterpartyAccount
        self.endToEndId = endToEndId
        self.instructedAmount = instructedAmount
    }

    /// The amount of the payment a return or reversal undoes: the instructed amount when it is in the
    /// account's currency and no more than the entry (a returned direct debit booked with the bank's
    /// charges on top); the entry's own amount otherwise.
    public var amountReversed: Money {
        guard let instructed = instructedAmount, instructed.currency == amount.currency, instructed.minorUnits > 0,
              instructed.minorUnits <= amount.minorUnits else { return amount }
        return instructed
    }

    /// Money into the account that is not undoing anything: a payment to allocate.
    public var isPaymentIn: Bool { mark == .credit && !isReversal }

    /// The account the payer paid from, as the matching looks it up and learns it (an IBAN without
    /// spaces, in capitals): statements write it in groups of four or in small letters too.
    public var payerAccount: String? {
        counterpartyAccount.map(BankAccountRules.normalisedIBAN).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The entry's identity, the same in every statement and format the bank reports it in: the
    /// account, the booking date and the bank's reference. Without a bank reference the entry is
    /// only itself in its own statement (`statementKey` and position), so two such entries are never
    /// merged by guesswork. Two imports of one entry find the same stored entry, whose id is in the
    /// client reference MILES is sent: an entry is never allocated twice.
    public func identity(account: String, statementKey: String) -> String {
        if let bankReference, !bankReference.isEmpty {
            return "\(account)|\(bookingDate)|\(bankReference)"
        }
        return "\(account)|\(statementKey)|#\(position)"
    }
}

/// What a statement reader reports, in file order: for each statement its header, its entries, then its closing balance.
public protocol BankStatementVisitor {
    mutating func beginStatement(_ header: BankStatementHeader) throws
    mutating func entry(_ entry: BankEntry) throws
    mutating func endStatement(closing: BankBalance) throws
}
