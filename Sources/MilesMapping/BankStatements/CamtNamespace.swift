/// The namespace of a camt.053 document, read from its root start tag before the document is parsed:
/// the streaming reader hands a handler local names only, and the namespace is what says the version.
/// Only the prolog (declaration, comments) and that one tag are looked at; the reader still parses
/// everything, the prolog included, and refuses a DOCTYPE there.
enum CamtNamespace {
    enum Sniff: Equatable {
        /// The root tag is not complete in the bytes so far.
        case incomplete
        /// The root element and the namespace its prefix (or the default) is bound to on it, if any.
        case root(namespace: String?)
        /// Something other than a root start tag comes first (a DOCTYPE, text): the reader will say what.
        case none
    }

    /// The versions read here: .001.02 to .001.13 differ in nothing this reader takes from them but
    /// where a debtor's name is (`Dbtr/Nm`, or `Dbtr/Pty/Nm` from .001.07 on), and both are read.
    static func isAccepted(_ namespace: String) -> Bool {
        let prefix = "urn:iso:std:iso:20022:tech:xsd:camt.053.001."
        guard namespace.hasPrefix(prefix), let version = Int(namespace.dropFirst(prefix.count)),
              namespace.count == prefix.count + 2 else { return false }
        return (2...13).contains(version)
    }

    static func sniff(_ bytes: [UInt8]) -> Sniff {
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        func find(_ needle: String, from start: Int) -> Int? {
            let needle = Array(needle.utf8)
            guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
            return (start...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
        while true {
            while index < bytes.count, isSpace(bytes[index]) { index += 1 }
            guard index + 4 <= bytes.count else { return .incomplete }
            guard bytes[index] == UInt8(ascii: "<") else { return .none }
            if bytes[index + 1] == UInt8(ascii: "?") {
                guard let end = find("?>", from: index + 2) else { return .incomplete }
                index = end + 2
            } else if bytes[index..<(index + 4)].elementsEqual("<!--".utf8) {
                guard let end = find("-->", from: index + 4) else { return .incomplete }
                index = end + 3
            } else if bytes[index + 1] == UInt8(ascii: "!") {
                return .none
            } else {
                return rootTag(bytes, from: index + 1)
            }
        }
    }

    private static func rootTag(_ bytes: [UInt8], from start: Int) -> Sniff {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        var index = start
        while index < bytes.count, !isSpace(bytes[index]), bytes[index] != UInt8(ascii: ">"), bytes[index] != UInt8(ascii: "/") { index += 1 }
        guard index < bytes.count else { return .incomplete }
        let name = String(decoding: bytes[start..<index], as: UTF8.self)
        let binding = name.firstIndex(of: ":").map { "xmlns:" + name[..<$0] } ?? "xmlns"
        var namespace: String?
        while true {
            while index < bytes.count, isSpace(bytes[index]) { index += 1 }
            guard index < bytes.count else { return .incomplete }
            if bytes[index] == UInt8(ascii: ">") || bytes[index] == UInt8(ascii: "/") { return .root(namespace: namespace) }
            let nameStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "="), !isSpace(bytes[index]) { index += 1 }
            let attribute = String(decoding: bytes[nameStart..<index], as: UTF8.self)
            while index < bytes.count, isSpace(bytes[index]) || bytes[index] == UInt8(ascii: "=") { index += 1 }
            guard index < bytes.count else { return .incomplete }
            let quote = bytes[index]
            guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { return .none }
            index += 1
            let valueStart = index
            while index < bytes.count, bytes[index] != quote { index += 1 }
            guard index < bytes.count else { return .incomplete }
            if attribute == binding { namespace = String(decoding: bytes[valueStart..<index], as: UTF8.self) }
            index += 1
        }
    }
}
