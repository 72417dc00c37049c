/// A calendar date with no time zone (a due date, a start date), as MILES sends it: `YYYY-MM-DD`.
///
/// ```swift
/// let due = LocalDate(year: 2026, month: 11, day: 28)!
/// due.adding(days: 14).description   // "2026-12-12"
/// ```
public struct LocalDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Days since 1970-01-01; the only stored value, so comparison and arithmetic are integer operations.
    public let daysSinceEpoch: Int32

    public init(daysSinceEpoch: Int32) {
        self.daysSinceEpoch = daysSinceEpoch
    }

    /// The last year a date may fall in: four digits, as MILES writes them.
    public static let latestYear = 9999

    /// A valid Gregorian date, or `nil`.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...LocalDate.latestYear).contains(year), (1...12).contains(month),
              day >= 1, day <= LocalDate.daysIn(month: month, year: year) else { return nil }
        self.daysSinceEpoch = Int32(LocalDate.daysFromCivil(year: year, month: month, day: day))
    }

    public var components: (year: Int, month: Int, day: Int) {
        LocalDate.civilFromDays(Int(daysSinceEpoch))
    }

    public func adding(days: Int) -> LocalDate { LocalDate(daysSinceEpoch: daysSinceEpoch + Int32(days)) }

    /// The same day `months` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb), and to
    /// the calendar's first and last days (0001-01-01, 9999-12-31): past them there is no date to give, and
    /// a comparison with a date that far away comes out the same either way.
    public func adding(months: Int) -> LocalDate {
        let (year, month, day) = components
        let (total, overflow) = (year * 12 + (month - 1)).addingReportingOverflow(months)
        if overflow ? months > 0 : total / 12 > LocalDate.latestYear { return LocalDate(year: LocalDate.latestYear, month: 12, day: 31)! }
        if overflow || total < 12 { return LocalDate(year: 1, month: 1, day: 1)! }
        let newYear = total / 12
        let newMonth = total % 12 + 1
        let newDay = min(day, LocalDate.daysIn(month: newMonth, year: newYear))
        return LocalDate(year: newYear, month: newMonth, day: newDay)!
    }

    public func days(since other: LocalDate) -> Int { Int(daysSinceEpoch - other.daysSinceEpoch) }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    public var description: String {
        let (year, month, day) = components
        return "\(LocalDate.pad(year, 4))-\(LocalDate.pad(month, 2))-\(LocalDate.pad(day, 2))"
    }

    /// Parses `YYYY-MM-DD` straight from UTF-8 bytes, allowing surrounding white space.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> LocalDate? {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start].isXMLWhitespace { start += 1 }
        while end > start, bytes[end - 1].isXMLWhitespace { end -= 1 }
        guard end - start == 10, bytes[start + 4] == UInt8(ascii: "-"), bytes[start + 7] == UInt8(ascii: "-"),
              let year = digits(bytes, start, 4), let month = digits(bytes, start + 5, 2),
              let day = digits(bytes, start + 8, 2) else { return nil }
        return LocalDate(year: year, month: month, day: day)
    }

    public static func parse(_ text: String) -> LocalDate? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    static func digits(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        var value = 0
        for index in start..<(start + count) {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        var text = String(value)
        while text.count < width { text = "0" + text }
        return text
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian calendar.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
