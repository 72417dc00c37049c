import Foundation
import MilesSOAP
import Testing

@Suite("WS-Security wsu:Timestamp in the header")
struct WSSecurityTimestampTests {
    /// The header as it goes out, for a clock at `now`.
    func headerText(_ credentials: MilesCredentials, now: Date) throws -> String {
        var writer = XMLWriter()
        try UsernameTokenHeader(credentials: credentials, now: now).write(into: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test("by default the header carries a wsu:Timestamp before the UsernameToken: Created as the token's, Expires 300 s later, UTC to the millisecond")
    func timestampByDefault() throws {
        let now = Date(timeIntervalSince1970: 1_795_975_200.123_9)   // 2026-11-29T18:00:00.123Z and a fraction
        let text = try headerText(MilesCredentials(username: "adapter", password: "s3cret"), now: now)
        let timestamp = "<wsu:Timestamp><wsu:Created>2026-11-29T18:00:00.123Z</wsu:Created>"
            + "<wsu:Expires>2026-11-29T18:05:00.123Z</wsu:Expires></wsu:Timestamp>"
        #expect(text.contains(timestamp))
        #expect(text.contains("xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\""))
        let timestampAt = try #require(text.range(of: "<wsu:Timestamp>"))
        let tokenAt = try #require(text.range(of: "<wsse:UsernameToken>"))
        #expect(timestampAt.lowerBound < tokenAt.lowerBound)
        #expect(text.contains("<wsu:Created>2026-11-29T18:00:00.123Z</wsu:Created></wsse:UsernameToken>"))
    }

    @Test("the time to live sets Expires; across midnight and a year's end the date moves with it")
    func timeToLive() throws {
        let now = Date(timeIntervalSince1970: 1_798_761_599.5)   // 2026-12-31T23:59:59.500Z
        let text = try headerText(MilesCredentials(username: "adapter", password: "s3cret", timestampTimeToLive: .seconds(1)), now: now)
        #expect(text.contains("<wsu:Created>2026-12-31T23:59:59.500Z</wsu:Created><wsu:Expires>2027-01-01T00:00:00.500Z</wsu:Expires>"))
    }

    @Test("with the Timestamp off the header carries only the UsernameToken")
    func timestampOff() throws {
        let text = try headerText(MilesCredentials(username: "adapter", password: "s3cret", timestampTimeToLive: nil), now: Date())
        #expect(!text.contains("Timestamp"))
        #expect(!text.contains("Expires"))
        #expect(text.contains("<wsse:UsernameToken>"))
        #expect(!"\(MilesCredentials(username: "adapter", password: "s3cret", timestampTimeToLive: nil))".contains("s3cret"))
    }
}
