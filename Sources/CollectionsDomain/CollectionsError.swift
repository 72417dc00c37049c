/// A rule of the collections model was broken by a value; says which field, what it held and what was expected.
public enum CollectionsError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidValue(field: String, value: String, expected: String)
    case currencyMismatch(expected: CurrencyCode, found: CurrencyCode)

    public var description: String {
        switch self {
        case let .invalidValue(field, value, expected):
            return "\(field): '\(value)' is not valid; expected \(expected)"
        case let .currencyMismatch(expected, found):
            return "currency mismatch: expected \(expected.code), found \(found.code)"
        }
    }
}
