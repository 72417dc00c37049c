import CollectionsDomain

/// A bank statement could not be taken in, or a bank entry not allocated; `input` is the file, the
/// account or the entry.
public typealias BankImportError = CodedError<BankImportErrorCode>

/// What went wrong, for `BankImportError`.
public enum BankImportErrorCode: String, Sendable {
    /// The file cannot be read, or is not a regular file.
    case unreadableFile
    /// Neither camt.053 nor MT940 by its first bytes; `--format` names it.
    case unknownFormat
    /// The statement is not well formed (the reader's error names the line or element): nothing was stored.
    case malformedStatement
    /// A statement is for an account no file in `mappings/bank` configures: nothing was stored.
    case unknownAccount
    /// A statement's currency is not the one its account is configured with: nothing was stored.
    case currencyMismatch
    /// The folder statements are kept in cannot be written.
    case storeUnwritable
    /// No bank entry with that id.
    case unknownEntry
    /// The entry is not waiting for a person (it is allocated, a reversal, or money out).
    case notWaiting
    /// The contract is not in the store.
    case unknownContract
    /// The contract's currency is not the entry's: a payment is allocated in the currency it was paid in.
    case contractCurrencyMismatch
    /// An invoice named is not open on the contract.
    case unknownInvoice
    /// Nothing is open on the contract (or the invoices named) to allocate the entry to.
    case nothingOpen
}
