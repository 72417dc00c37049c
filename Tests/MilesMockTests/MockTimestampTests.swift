import Foundation
@testable import MilesMock
import MilesSOAP
import Testing

@Suite("The mock MILES checks the WS-Security wsu:Timestamp when configured to")
struct MockTimestampTests {
    let payload = "<m:GetContract><m:ContractNumber>C00000001</m:ContractNumber></m:GetContract>"
    let credentials = MilesCredentials(username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword)

    func mock(requireTimestamp: Bool) -> MockMiles {
        MockMiles(configuration: MockMilesConfiguration(contractCount: 50, seed: 7, contractDirectory: wsdlDirectory,
                                                        requireTimestamp: requireTimestamp, timestampClockSkewSeconds: 60))
    }

    /// A call whose UsernameToken is created now and whose Timestamp is `timestamp`.
    func call(_ miles: MockMiles, timestamp: SecurityTimestamp?) async throws -> (status: Int, body: [UInt8]) {
        var generator = SystemRandomNumberGenerator()
        let header = UsernameTokenHeader(credentials: credentials, nonce: (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) },
                                         created: UsernameTokenHeader.timestamp(Date()), timestamp: timestamp)
        let body = try SOAPEnvelope.request(messageNamespace: MockMilesServer.namespace, security: header) { $0.raw(payload) }
        return await miles.handle(service: "ContractService", body: body)
    }

    func timestamp(createdIn offset: TimeInterval, timeToLive: Duration = .seconds(300)) -> SecurityTimestamp {
        SecurityTimestamp(created: Date().addingTimeInterval(offset), timeToLive: timeToLive)
    }

    @Test("required: a good Timestamp passes; none, an expired one and one created ahead of the skew are authentication faults")
    func required() async throws {
        let miles = mock(requireTimestamp: true)
        #expect(try await call(miles, timestamp: timestamp(createdIn: 0)).status == 200)
        // A little ahead of the mock's clock is forgiven: clocks differ.
        #expect(try await call(miles, timestamp: timestamp(createdIn: 30)).status == 200)

        let missing = try await call(miles, timestamp: nil)
        #expect(faultCode(missing.body) == "AUTHENTICATION_FAILED")
        #expect(String(decoding: missing.body, as: UTF8.self).contains("wsu:Timestamp is required"))

        let expired = try await call(miles, timestamp: timestamp(createdIn: -120, timeToLive: .seconds(60)))
        #expect(faultCode(expired.body) == "CREATED_OUT_OF_RANGE")
        #expect(String(decoding: expired.body, as: UTF8.self).contains("expired"))

        let noTimeToLive = try await call(miles, timestamp: timestamp(createdIn: 0, timeToLive: .zero))
        #expect(faultCode(noTimeToLive.body) == "CREATED_OUT_OF_RANGE")

        let ahead = try await call(miles, timestamp: timestamp(createdIn: 120))
        #expect(faultCode(ahead.body) == "CREATED_OUT_OF_RANGE")
        #expect(String(decoding: ahead.body, as: UTF8.self).contains("ahead of the server's time"))

        let unreadable = try await call(miles, timestamp: SecurityTimestamp(created: "yesterday", expires: "tomorrow"))
        #expect(faultCode(unreadable.body) == "AUTHENTICATION_FAILED")

        let journal = await miles.journalEntries()
        #expect(journal.map(\.outcome) == ["ok", "ok", "fault:AUTHENTICATION_FAILED", "fault:CREATED_OUT_OF_RANGE",
                                           "fault:CREATED_OUT_OF_RANGE", "fault:CREATED_OUT_OF_RANGE", "fault:AUTHENTICATION_FAILED"])
    }

    @Test("not required: a call without a Timestamp, or with an expired one, is answered as services that ignore it do")
    func ignoredByDefault() async throws {
        let miles = mock(requireTimestamp: false)
        #expect(try await call(miles, timestamp: nil).status == 200)
        #expect(try await call(miles, timestamp: timestamp(createdIn: -120, timeToLive: .seconds(60))).status == 200)
    }

    @Test("the Timestamp's Created is not taken for the UsernameToken's, whichever comes first")
    func createdByParent() async throws {
        let miles = mock(requireTimestamp: true)
        // The UsernameToken's Created is stale; a fresh Timestamp after it must not hide that.
        let stale = UsernameTokenHeader.timestamp(Date().addingTimeInterval(-600))
        let fresh = timestamp(createdIn: 0)
        let nonce = Array(repeating: UInt8(3), count: 16)
        let digest = UsernameTokenHeader.passwordDigest(nonce: nonce, created: stale, password: MockMilesConfiguration.defaultPassword)
        let envelope = """
            <soapenv:Envelope xmlns:soapenv="\(SOAPNamespaces.envelope)" xmlns:m="\(MockMilesServer.namespace)"><soapenv:Header>\
            <wsse:Security xmlns:wsse="\(SOAPNamespaces.wsse)" xmlns:wsu="\(SOAPNamespaces.wsu)"><wsse:UsernameToken>\
            <wsse:Username>\(MockMilesConfiguration.defaultUsername)</wsse:Username>\
            <wsse:Password Type="\(SOAPNamespaces.passwordDigest)">\(digest)</wsse:Password>\
            <wsse:Nonce>\(Data(nonce).base64EncodedString())</wsse:Nonce><wsu:Created>\(stale)</wsu:Created></wsse:UsernameToken>\
            <wsu:Timestamp><wsu:Created>\(fresh.created)</wsu:Created><wsu:Expires>\(fresh.expires)</wsu:Expires></wsu:Timestamp>\
            </wsse:Security></soapenv:Header><soapenv:Body>\(payload)</soapenv:Body></soapenv:Envelope>
            """
        let answer = await miles.handle(service: "ContractService", body: Array(envelope.utf8))
        #expect(faultCode(answer.body) == "CREATED_OUT_OF_RANGE")
        #expect(String(decoding: answer.body, as: UTF8.self).contains("more than 5 minutes"))
    }
}
