/// An amount of money: integer minor units (pence, cents) and a currency. Never a `Double`.
///
/// ```swift
/// let balance = Money(minorUnits: 12_345, currency: .gbp)   // £123.45
/// print(balance)                                            // "123.45 GBP"
/// ```
public struct Money: Hashable, Sendable, CustomStringConvertible {
    public var minorUnits: Int64
    public var currency: CurrencyCode

    public init(minorUnits: Int64, currency: CurrencyCode) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    public static func zero(_ currency: CurrencyCode) -> Money { Money(minorUnits: 0, currency: currency) }

    /// The amount as a plain decimal string, e.g. "-12.05"; the form MILES and CSV files use.
    public var decimalString: String {
        let digits = currency.minorUnitDigits
        guard digits > 0 else { return String(minorUnits) }
        let magnitude = minorUnits.magnitude
        var divisor: UInt64 = 1
        for _ in 0..<digits { divisor *= 10 }
        let whole = magnitude / divisor
        var fraction = String(magnitude % divisor)
        while fraction.count < digits { fraction = "0" + fraction }
        return (minorUnits < 0 ? "-" : "") + "\(whole).\(fraction)"
    }

    public var description: String { "\(decimalString) \(currency.code)" }

    /// Adds two amounts of the same currency.
    public func adding(_ other: Money) throws(CollectionsError) -> Money {
        guard other.currency == currency else {
            throw CollectionsError.currencyMismatch(expected: currency, found: other.currency)
        }
        return Money(minorUnits: minorUnits + other.minorUnits, currency: currency)
    }
}
