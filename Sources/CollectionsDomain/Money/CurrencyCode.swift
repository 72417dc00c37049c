/// An ISO 4217 currency code with the number of minor-unit digits it uses.
///
/// ```swift
/// let gbp = try CurrencyCode("GBP")   // 2 minor-unit digits: pence
/// ```
public struct CurrencyCode: Hashable, Sendable, CustomStringConvertible {
    /// The three-letter code, upper case.
    public let code: String
    /// How many decimal places the currency's minor unit has (2 for GBP, 0 for JPY).
    public let minorUnitDigits: Int

    /// Currencies whose minor unit is not two digits; every other valid code uses two.
    private static let nonDecimalMinorUnits: [String: Int] = [
        "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "HUF": 2,
        "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3,
    ]

    /// Accepts a three-letter upper-case code.
    public init(_ code: String) throws(CollectionsError) {
        guard code.utf8.count == 3, code.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            throw CollectionsError.invalidValue(field: "currency", value: code, expected: "a three-letter ISO 4217 code such as GBP")
        }
        self.code = code
        self.minorUnitDigits = Self.nonDecimalMinorUnits[code] ?? 2
    }

    public static let gbp = try! CurrencyCode("GBP")
    public static let eur = try! CurrencyCode("EUR")

    public var description: String { code }
}
