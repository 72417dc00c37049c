import Foundation

/// Answers that break on purpose, for fault injection: hostile XML, and real answers spoiled.
enum HostileXML {
    static let envelopeStart = #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://miles.example.com/collections/2026/01"><soapenv:Body>"#
    static let envelopeEnd = "</soapenv:Body></soapenv:Envelope>"

    static func body(_ kind: FaultKind, operation: String, url: String?, sizeBytes: Int?) -> [UInt8] {
        let response = "m:\(operation)Response"
        switch kind {
        case .billionLaughs:
            var entities = #"<!ENTITY lol0 "lol">"#
            for level in 1...9 { entities += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level - 1);", count: 10) + "\">" }
            return Array("<?xml version=\"1.0\"?><!DOCTYPE lolz [\(entities)]>\(envelopeStart)<\(response)><m:AsOf>&lol9;</m:AsOf></\(response)>\(envelopeEnd)".utf8)
        case .externalEntityFile, .externalEntityURL:
            let target = kind == .externalEntityFile ? "file:///etc/passwd" : (url ?? "http://127.0.0.1:9/xxe")
            return Array("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"\(target)\">]>\(envelopeStart)<\(response)><m:AsOf>&xxe;</m:AsOf></\(response)>\(envelopeEnd)".utf8)
        case .deepNesting:
            return Array((envelopeStart + "<\(response)>" + String(repeating: "<m:x>", count: 10_000) + String(repeating: "</m:x>", count: 10_000)
                          + "</\(response)>" + envelopeEnd).utf8)
        case .hugeTextNode:
            // Whole arrays appended, so even a debug build fills 100 MB at memory speed.
            return Array((envelopeStart + "<\(response)><m:AsOf>").utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: sizeBytes ?? 100 << 20)
                + Array(("</m:AsOf></\(response)>" + envelopeEnd).utf8)
        default:
            return []
        }
    }
}

enum SpoiledAnswer {
    /// Cut in the middle of an element, two thirds of the way in.
    static func truncated(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.count * 2 / 3
        while end > 0, bytes[end] != UInt8(ascii: ">") { end -= 1 }
        return Array(bytes[..<min(bytes.count, end + 3)])
    }

    /// The first child of the answer's wrapper element removed, swapped with the second, or preceded by an unknown element.
    static func breakingSchema(_ bytes: [UInt8], _ kind: FaultKind) -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let body = text.range(of: "<soapenv:Body>"), let wrapperEnd = text[body.upperBound...].firstIndex(of: ">") else { return bytes }
        let childrenStart = text.index(after: wrapperEnd)
        guard let first = element(in: text, from: childrenStart) else { return bytes }
        switch kind {
        case .xsdMissingElement:
            return Array((text[..<first.lowerBound] + text[first.upperBound...]).utf8)
        case .xsdWrongOrder:
            guard let second = element(in: text, from: first.upperBound) else { return bytes }
            return Array((text[..<first.lowerBound] + text[second] + text[first] + text[second.upperBound...]).utf8)
        default:
            return Array((text[..<first.lowerBound] + "<m:Unexpected>surprise</m:Unexpected>" + text[first.lowerBound...]).utf8)
        }
    }

    /// The element starting at the first `<` from `start`, through its end tag (or its self-closing end).
    private static func element(in text: String, from start: String.Index) -> Range<String.Index>? {
        guard let open = text[start...].firstIndex(of: "<"), let nameEnd = text[open...].firstIndex(where: { $0 == ">" || $0 == " " || $0 == "/" })
        else { return nil }
        let name = text[text.index(after: open)..<nameEnd]
        guard !name.hasPrefix("/") else { return nil }
        if let selfClosing = text[open...].firstIndex(of: ">"), text[text.index(before: selfClosing)] == "/" {
            return open..<text.index(after: selfClosing)
        }
        guard let close = text.range(of: "</\(name)>", range: open..<text.endIndex) else { return nil }
        return open..<close.upperBound
    }

    /// A FindContracts answer whose next cursor is the one the caller sent: the query never advances.
    static func withNextCursor(_ bytes: [UInt8], _ cursor: String?) -> [UInt8] {
        guard let cursor else { return bytes }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let start = text.range(of: "<m:NextCursor>"), let end = text.range(of: "</m:NextCursor>", range: start.upperBound..<text.endIndex) else {
            return bytes
        }
        return Array((text[..<start.upperBound] + cursor + text[end.lowerBound...]).utf8)
    }
}
