/// An instant in UTC with millisecond precision, as MILES sends it: `2026-11-28T22:00:00Z`.
///
/// ```swift
/// let t = Timestamp.parse("2026-11-28T22:00:00.250+01:00")!
/// t.description   // "2026-11-28T21:00:00.250Z"
/// ```
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public init(secondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = secondsSinceEpoch * 1000
    }

    /// Midnight UTC at the start of `date`.
    public init(startOf date: LocalDate) {
        self.millisecondsSinceEpoch = Int64(date.daysSinceEpoch) * 86_400_000
    }

    public var date: LocalDate {
        LocalDate(daysSinceEpoch: Int32(Self.floorDivide(millisecondsSinceEpoch, 86_400_000)))
    }

    public func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + milliseconds)
    }

    public func adding(seconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + seconds * 1000)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// ISO 8601 in UTC; milliseconds only when there are any.
    public var description: String {
        let millisOfDay = millisecondsSinceEpoch - Int64(date.daysSinceEpoch) * 86_400_000
        let seconds = Int(millisOfDay / 1000)
        let millis = Int(millisOfDay % 1000)
        var text = "\(date)T\(LocalDate.pad(seconds / 3600, 2)):\(LocalDate.pad(seconds / 60 % 60, 2)):\(LocalDate.pad(seconds % 60, 2))"
        if millis != 0 { text += ".\(LocalDate.pad(millis, 3))" }
        return text + "Z"
    }

    /// Parses `YYYY-MM-DDThh:mm:ss[.fff…](Z|±hh:mm)` from UTF-8 bytes. A time without a zone is refused:
    /// guessing the zone of a contract change is how records go missing around clock changes.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start].isXMLWhitespace { start += 1 }
        while end > start, bytes[end - 1].isXMLWhitespace { end -= 1 }
        guard end - start >= 20 else { return nil }
        let dateBytes = UnsafeBufferPointer(rebasing: bytes[start..<(start + 10)])
        guard let date = LocalDate.parse(dateBytes), bytes[start + 10] == UInt8(ascii: "T"),
              bytes[start + 13] == UInt8(ascii: ":"), bytes[start + 16] == UInt8(ascii: ":"),
              let hour = LocalDate.digits(bytes, start + 11, 2), let minute = LocalDate.digits(bytes, start + 14, 2),
              let second = LocalDate.digits(bytes, start + 17, 2), hour < 24, minute < 60, second < 60 else { return nil }
        var index = start + 19
        var millis = 0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digitCount = 0
            while index < end, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                if digitCount < 3 { millis = millis * 10 + Int(bytes[index] - UInt8(ascii: "0")) }
                digitCount += 1
                index += 1
            }
            guard digitCount > 0 else { return nil }
            for _ in digitCount..<max(digitCount, 3) { millis *= 10 }
        }
        var offsetMinutes = 0
        guard index < end else { return nil }
        if bytes[index] == UInt8(ascii: "Z"), index + 1 == end {
            offsetMinutes = 0
        } else if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"), end - index == 6,
                  bytes[index + 3] == UInt8(ascii: ":"),
                  let offsetHours = LocalDate.digits(bytes, index + 1, 2),
                  let offsetMins = LocalDate.digits(bytes, index + 4, 2) {
            offsetMinutes = (offsetHours * 60 + offsetMins) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        let seconds = Int64(date.daysSinceEpoch) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return Timestamp(millisecondsSinceEpoch: seconds * 1000 + Int64(millis))
    }

    public static func parse(_ text: String) -> Timestamp? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}
