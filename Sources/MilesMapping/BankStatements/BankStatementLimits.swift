/// Bounds on a statement file from a bank, so that no file can exhaust memory: the readers hold one
/// entry at a time, and these bound what one entry, one statement and the whole file may be.
public struct BankStatementLimits: Sendable {
    /// Largest file accepted, in bytes. A 1,000,000-entry camt.053 is about 1 GB.
    public var maxFileBytes: Int
    /// Most entries one statement may hold.
    public var maxEntriesPerStatement: Int
    /// Longest text of one field: one camt element's text, one MT940 line, an entry's joined remittance
    /// or `:86:` field.
    public var maxTextBytes: Int
    /// Deepest camt element nesting accepted; camt.053 itself goes about 14 deep.
    public var maxXMLDepth: Int

    public init(maxFileBytes: Int = 4 << 30, maxEntriesPerStatement: Int = 5_000_000, maxTextBytes: Int = 64 << 10,
                maxXMLDepth: Int = 40) {
        self.maxFileBytes = maxFileBytes
        self.maxEntriesPerStatement = maxEntriesPerStatement
        self.maxTextBytes = maxTextBytes
        self.maxXMLDepth = maxXMLDepth
    }

    public static let `default` = BankStatementLimits()
}
