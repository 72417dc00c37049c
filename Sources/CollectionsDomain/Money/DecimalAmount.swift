/// A decimal number read from text before its currency is known: `mantissa × 10^-scale`.
///
/// MILES may send the currency after the amounts, so amounts are held in this form
/// and turned into `Money` once the record is complete.
public struct DecimalAmount: Hashable, Sendable {
    public var mantissa: Int64
    public var scale: Int

    public init(mantissa: Int64, scale: Int) {
        self.mantissa = mantissa
        self.scale = scale
    }

    /// Parses an optionally signed decimal such as `-1234.50` straight from UTF-8 bytes.
    /// Leading and trailing XML white space is allowed; anything else is `nil`.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> DecimalAmount? {
        var index = 0
        var end = bytes.count
        while index < end, bytes[index].isXMLWhitespace { index += 1 }
        while end > index, bytes[end - 1].isXMLWhitespace { end -= 1 }
        guard index < end else { return nil }
        var negative = false
        if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var mantissa: Int64 = 0
        var scale = 0
        var sawDigit = false
        var sawPoint = false
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                if sawPoint { return nil }
                sawPoint = true
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                let (times10, overflow1) = mantissa.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
                if overflow1 || overflow2 { return nil }
                mantissa = sum
                sawDigit = true
                if sawPoint { scale += 1 }
            } else {
                return nil
            }
            index += 1
        }
        guard sawDigit else { return nil }
        return DecimalAmount(mantissa: negative ? -mantissa : mantissa, scale: scale)
    }

    public static func parse(_ text: String) -> DecimalAmount? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    /// Whether `text` is written as a number (a sign, digits, at most one point): when `parse` refuses
    /// such a text, it has more digits than an amount can hold, and a person is told so, not "not a number".
    public static func isWrittenAsNumber(_ text: String) -> Bool {
        text.wholeMatch(of: /\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)\s*/) != nil
    }

    /// The amount in `currency`'s minor units; fails when it has more decimal places than the currency allows.
    public func money(in currency: CurrencyCode) -> Money? {
        guard scale <= currency.minorUnitDigits else { return nil }
        var value = mantissa
        for _ in scale..<currency.minorUnitDigits {
            let (product, overflow) = value.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            value = product
        }
        return Money(minorUnits: value, currency: currency)
    }
}

extension UInt8 {
    @inline(__always)
    var isXMLWhitespace: Bool {
        self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D
    }
}
