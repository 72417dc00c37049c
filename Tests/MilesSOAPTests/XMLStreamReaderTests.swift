import Foundation
import MilesSOAP
import Testing

/// Collects element names and text, to see what the reader delivered.
final class RecordingHandler: XMLEventHandler {
    var events: [String] = []

    func startElement(_ name: XMLName, attributes: XMLAttributes) throws { events.append("<\(name.string)") }
    func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws { events.append(String(decoding: bytes, as: UTF8.self)) }
    func endElement(_ name: XMLName) throws { events.append(">\(name.string)") }
}

/// Peak resident memory of this process so far, in kilobytes.
func peakMemoryKilobytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss
}

@Suite("The hardened streaming XML reader")
struct XMLStreamReaderTests {
    func parse(_ text: String, limits: XMLLimits = .default) throws(XMLReaderError) -> [String] {
        let handler = RecordingHandler()
        try XMLStreamReader(limits: limits).parse(Array(text.utf8), handler: handler)
        return handler.events
    }

    @Test("well-formed XML streams its events, predefined entities decoded")
    func wellFormed() throws {
        let events = try parse("<a><b>x &amp; y</b><c/></a>")
        #expect(events.joined() == "<a<bx & y>b<c>c>a")
    }

    @Test("a delegated subtree goes to the delegate alone; the caller sees its start and end, then the rest")
    func delegatedSubtree() throws {
        final class Delegating: XMLEventHandler {
            let reader: XMLStreamReader
            let delegate = RecordingHandler()
            var events: [String] = []
            init(reader: XMLStreamReader) { self.reader = reader }
            func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
                events.append("<\(name.string)")
                if name.string == "payload" { reader.delegateSubtree(to: delegate) }
            }
            func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws { events.append(String(decoding: bytes, as: UTF8.self)) }
            func endElement(_ name: XMLName) throws { events.append(">\(name.string)") }
        }
        let reader = XMLStreamReader()
        let handler = Delegating(reader: reader)
        // Small slices: the delegation must survive chunk boundaries.
        let document = Array("<env><payload><x>1</x><y>2</y></payload><after>3</after></env>".utf8)
        try document.withUnsafeBytes { try reader.parse($0, handler: handler, sliceSize: 3) }
        #expect(handler.events.joined() == "<env<payload>payload<after3>after>env")
        #expect(handler.delegate.events.joined() == "<payload<x1>x<y2>y>payload")
    }

    @Test("a billion-laughs DOCTYPE is refused before any expansion, with memory unchanged")
    func billionLaughs() {
        var document = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        document += "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
        for level in 2...9 {
            document += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level - 1);", count: 10) + "\">"
        }
        document += "]><lolz>&lol9;</lolz>"
        let before = peakMemoryKilobytes()
        #expect(throws: XMLReaderError.doctypeRefused(line: 1)) { try parse(document) }
        #expect(peakMemoryKilobytes() - before < 20_000)
    }

    @Test("an external entity pointing at a local file is refused and the file never read")
    func externalEntity() throws {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("xxe-secret-\(UUID().uuidString).txt")
        try "TOP-SECRET-CONTENT".write(to: secret, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: secret) }
        let document = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file://\(secret.path)\">]><r>&x;</r>"
        let handler = RecordingHandler()
        #expect(throws: XMLReaderError.self) { try XMLStreamReader().parse(Array(document.utf8), handler: handler) }
        #expect(!handler.events.joined().contains("TOP-SECRET"))
    }

    @Test("an undeclared entity reference without a DTD is refused")
    func undeclaredEntity() {
        #expect(throws: XMLReaderError.self) { try parse("<r>&x;</r>") }
    }

    @Test("truncated XML is an error, never a partial success")
    func truncated() {
        do {
            _ = try parse("<Envelope><Body><Contract><Name>Zo")
            Issue.record("truncated input was accepted")
        } catch {
            guard case .truncated = error else {
                Issue.record("expected .truncated, got \(error)")
                return
            }
        }
    }

    @Test("invalid UTF-8 is refused as an encoding error")
    func invalidUTF8() {
        var bytes = Array("<r><n>".utf8)
        bytes += [0xC3, 0x28, 0xFF]
        bytes += Array("</n></r>".utf8)
        do {
            try XMLStreamReader().parse(bytes, handler: RecordingHandler())
            Issue.record("invalid UTF-8 was accepted")
        } catch {
            guard case .invalidEncoding = error else {
                Issue.record("expected .invalidEncoding, got \(error)")
                return
            }
        }
    }

    @Test("nesting deeper than the limit is refused, with memory small")
    func tooDeep() {
        let depth = 10_000
        let document = String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
        let before = peakMemoryKilobytes()
        do {
            _ = try parse(document, limits: XMLLimits(maxDepth: 64))
            Issue.record("deep nesting was accepted")
        } catch {
            guard case .tooDeep(limit: 64, line: _) = error else {
                Issue.record("expected .tooDeep, got \(error)")
                return
            }
        }
        #expect(peakMemoryKilobytes() - before < 20_000)
    }

    @Test("a text node over the limit is refused")
    func textTooLong() {
        let document = "<r>" + String(repeating: "x", count: 100_000) + "</r>"
        do {
            _ = try parse(document, limits: XMLLimits(maxTextBytes: 10_000))
            Issue.record("oversized text was accepted")
        } catch {
            guard case .textTooLong = error else {
                Issue.record("expected .textTooLong, got \(error)")
                return
            }
        }
    }
}
