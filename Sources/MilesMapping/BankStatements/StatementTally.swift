import CollectionsDomain

/// Adds up one statement's entries as they are read, to check the statement against its own
/// balances: opening + credits − debits must be the closing balance. A reversal counts in the
/// direction of its mark (a reversed credit is booked as a debit, and the other way round).
struct StatementTally {
    let opening: BankBalance
    private(set) var credits: Int64 = 0
    private(set) var debits: Int64 = 0
    private(set) var entries = 0

    init(opening: BankBalance) {
        self.opening = opening
    }

    /// Counts `entry`; nil when the sum no longer fits in 64 bits, which no real statement reaches.
    mutating func add(_ entry: BankEntry) -> Bool {
        entries += 1
        let (sum, overflow) = entry.mark == .credit ? credits.addingReportingOverflow(entry.amount.minorUnits)
            : debits.addingReportingOverflow(entry.amount.minorUnits)
        guard !overflow else { return false }
        if entry.mark == .credit { credits = sum } else { debits = sum }
        return true
    }

    /// Why `closing` does not follow from the opening balance and the entries; nil when it does.
    func mismatch(closing: BankBalance, statement: String) -> String? {
        let currency = opening.amount.currency
        let expected = opening.signedMinorUnits.addingReportingOverflow(credits).partialValue
            .subtractingReportingOverflow(debits).partialValue
        guard expected != closing.signedMinorUnits else { return nil }
        func figure(_ minorUnits: Int64) -> String { Money(minorUnits: minorUnits, currency: currency).description }
        return "statement \(statement) does not add up: opening \(figure(opening.signedMinorUnits)) + credits \(figure(credits))"
            + " − debits \(figure(debits)) = \(figure(expected)) over \(entries) entries, but its closing balance is "
            + "\(figure(closing.signedMinorUnits)); the file may be cut short or altered: ask the bank for it again"
    }
}

/// Parses a non-negative decimal amount with exactly the decimal separator of the format (`.` in camt,
/// `,` in MT940), no sign, no grouping, and no more decimals than the currency has.
func parseStatementAmount(_ bytes: UnsafeBufferPointer<UInt8>, separator: UInt8, currency: CurrencyCode) -> Money? {
    var start = 0, end = bytes.count
    while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 || bytes[start] == 0x0A || bytes[start] == 0x0D { start += 1 }
    while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 || bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
    var units: Int64 = 0
    var decimals = -1
    var digits = 0
    for index in start..<end {
        let byte = bytes[index]
        if byte == separator {
            guard decimals < 0 else { return nil }
            decimals = 0
            continue
        }
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        let (times10, overflow1) = units.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
        guard !overflow1, !overflow2 else { return nil }
        units = sum
        digits += 1
        if decimals >= 0 { decimals += 1 }
    }
    guard digits > 0 else { return nil }
    return DecimalAmount(mantissa: units, scale: max(decimals, 0)).money(in: currency)
}
