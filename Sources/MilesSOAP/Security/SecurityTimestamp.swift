import Foundation

/// A WS-Security `wsu:Timestamp`: when the message was created and when it stops being valid.
/// Oracle- and OSB-style services refuse a message without one, or one whose Expires has passed,
/// so a message captured on the way cannot be played to them later.
///
/// ```swift
/// let timestamp = SecurityTimestamp(created: Date(), timeToLive: .seconds(300))
/// // <wsu:Timestamp><wsu:Created>2026-11-29T18:00:00.123Z</wsu:Created><wsu:Expires>2026-11-29T18:05:00.123Z</wsu:Expires></wsu:Timestamp>
/// ```
public struct SecurityTimestamp: Sendable, Equatable {
    /// UTC with milliseconds, `2026-11-29T18:00:00.123Z`.
    public let created: String
    public let expires: String

    /// Created at `created` (to the millisecond), expiring `timeToLive` later.
    public init(created: Date, timeToLive: Duration) {
        let createdMilliseconds = SecurityTimestamp.milliseconds(created)
        self.init(created: SecurityTimestamp.text(millisecondsSinceEpoch: createdMilliseconds),
                  expires: SecurityTimestamp.text(millisecondsSinceEpoch: createdMilliseconds + Int64(timeToLive.milliseconds)))
    }

    public init(created: String, expires: String) {
        self.created = created
        self.expires = expires
    }

    public func write(into writer: inout XMLWriter) throws(XMLWriter.InvalidCharacter) {
        writer.open("wsu:Timestamp")
        try writer.element("wsu:Created", created)
        try writer.element("wsu:Expires", expires)
        writer.close("wsu:Timestamp")
    }

    /// `date` as whole milliseconds since 1970, rounded down, so Created and Expires are exactly `timeToLive` apart.
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// `2026-11-29T18:00:00.123Z`: the form of wsu:Created and wsu:Expires.
    static func text(millisecondsSinceEpoch: Int64) -> String {
        let (seconds, milliseconds) = millisecondsSinceEpoch.quotientAndRemainder(dividingBy: 1000)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(milliseconds))
    }
}
