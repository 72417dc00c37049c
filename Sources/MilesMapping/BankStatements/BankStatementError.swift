import CollectionsDomain

/// A bank statement file was refused as a whole: nothing from it may be stored. `location` says
/// where: `line 14` in an MT940 file, the element path (`Document/BkToCstmrStmt/Stmt[2]/Ntry[14]/Amt`)
/// in a camt.053 one.
///
/// ```swift
/// catch let error as BankStatementError where error.code == .balanceMismatch { print(error.location) }
/// ```
public struct BankStatementError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The file cannot be opened or read.
        case unreadable
        /// Over one of `BankStatementLimits`: file size, entries in a statement, text of a field, XML nesting.
        case overLimit
        /// camt XML that is never accepted from outside: a DOCTYPE (and with it any DTD) or an entity.
        case refusedXML
        /// Not the format's structure: XML that is not well-formed or ends early, an MT940 field out of
        /// order or a line that belongs to no field, a statement without its closing balance.
        case malformed
        /// A camt.053 document in a namespace (version) this reader does not read.
        case unsupportedVersion
        /// A value the statement must give is not there.
        case missingField
        /// A value that cannot be read: an amount, a date, a currency, a debit/credit mark.
        case invalidValue
        /// An amount in another currency than its statement's.
        case currencyMismatch
        /// The opening balance plus the credits less the debits is not the closing balance.
        case balanceMismatch
    }

    public let code: Code
    public let format: BankStatementFormat
    /// `line N` (MT940) or the element path (camt.053).
    public let location: String
    /// The offending text as the file has it, when there is one.
    public let value: String?
    /// What is wrong and, where it helps, what to do.
    public let message: String

    public init(_ code: Code, format: BankStatementFormat, location: String, value: String? = nil, _ message: String) {
        self.code = code
        self.format = format
        self.location = location
        self.value = value
        self.message = message
    }

    public var description: String {
        "\(format == .camt053 ? "camt.053" : "MT940") statement refused at \(location): \(message)"
    }
}
