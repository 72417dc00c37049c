import Foundation
import MilesSOAP
import Testing

@Suite("WS-Security, envelopes and the fault taxonomy")
struct WSSecurityAndEnvelopeTests {
    @Test("PasswordDigest is Base64(SHA-1(nonce + created + password)) on a known vector")
    func passwordDigestVector() {
        // Vector computed independently with Python's hashlib for nonce bytes 0...15.
        let digest = UsernameTokenHeader.passwordDigest(
            nonce: Array(0..<16), created: "2026-11-29T18:00:00.000Z", password: "s3cret & <pässword>")
        #expect(digest == "luocR/DawZ5oaCbxqoE8y1Rp2pc=")
    }

    @Test("the digest header carries the digest and nonce, never the password")
    func digestHeaderHidesPassword() throws {
        let credentials = MilesCredentials(username: "adapter", password: "s3cret & <pässword>")
        let header = UsernameTokenHeader(credentials: credentials, nonce: Array(0..<16), created: "2026-11-29T18:00:00.000Z")
        var writer = XMLWriter()
        try header.write(into: &writer)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(text.contains("luocR/DawZ5oaCbxqoE8y1Rp2pc="))
        #expect(text.contains("AAECAwQFBgcICQoLDA0ODw=="))
        #expect(text.contains("#PasswordDigest"))
        #expect(!text.contains("s3cret"))
        #expect(!"\(credentials)".contains("s3cret"))
    }

    @Test("envelope text and attributes are escaped; characters XML cannot carry are refused")
    func escaping() throws {
        let envelope = try SOAPEnvelope.request(messageNamespace: "urn:test", security: nil) { writer in
            try writer.element("m:Note", "Tom & Jerry <b>\"quoted\"</b> 'single'")
            try writer.open("m:Tag", attributes: ["label": "a\"b<c>&\nd"])
            writer.close("m:Tag")
        }
        let text = String(decoding: envelope, as: UTF8.self)
        #expect(text.contains("<m:Note>Tom &amp; Jerry &lt;b&gt;&quot;quoted&quot;&lt;/b&gt; 'single'</m:Note>"))
        #expect(text.contains("label=\"a&quot;b&lt;c&gt;&amp;&#10;d\""))
        var writer = XMLWriter()
        #expect(throws: XMLWriter.InvalidCharacter.self) { try writer.element("m:Note", "bell\u{07}") }
    }

    @Test("every MILES fault code lands in the right disposition", arguments: [
        ("SERVER_BUSY", FaultDisposition.retryable), ("VERSION_CONFLICT", .conflict),
        ("DUPLICATE_REFERENCE", .businessRejection), ("INVALID_TRANSITION", .businessRejection),
        ("AMOUNT_EXCEEDS_BALANCE", .businessRejection), ("UNKNOWN_CONTRACT", .businessRejection),
        ("AUTHENTICATION_FAILED", .authentication), ("SOMETHING_NEW", .businessRejection),
    ])
    func faultCodes(code: String, expected: FaultDisposition) {
        let classifier = FaultClassifier(table: [
            "SERVER_BUSY": .retryable, "VERSION_CONFLICT": .conflict, "DUPLICATE_REFERENCE": .businessRejection,
            "INVALID_TRANSITION": .businessRejection, "AMOUNT_EXCEEDS_BALANCE": .businessRejection,
            "UNKNOWN_CONTRACT": .businessRejection, "AUTHENTICATION_FAILED": .authentication,
        ])
        let error = SOAPCallError(kind: .fault(SOAPFault(faultCode: "soapenv:Server", faultString: "x", code: code)),
                                  operation: "Op", endpoint: "http://x", classifier: classifier)
        #expect(error.disposition == expected)
    }

    @Test("transport and HTTP failures are sorted by whether MILES may have acted")
    func transportDispositions() {
        let classifier = FaultClassifier(table: [:])
        func disposition(_ kind: SOAPCallError.Kind) -> FaultDisposition {
            SOAPCallError(kind: kind, operation: "Op", endpoint: "http://x", classifier: classifier).disposition
        }
        #expect(disposition(.transport(code: 7, message: "refused", requestSent: false)) == .retryable)
        #expect(disposition(.transport(code: 28, message: "timeout", requestSent: true)) == .unknownOutcome)
        #expect(disposition(.httpStatus(503, body: "")) == .retryable)
        #expect(disposition(.httpStatus(401, body: "")) == .authentication)
        #expect(disposition(.invalidResponse(.truncated(line: 3))) == .unknownOutcome)
    }
}
