/// Writes XML straight into a byte buffer, escaping text and attribute values.
///
/// ```swift
/// var writer = XMLWriter()
/// writer.open("m:Note")
/// try writer.text("Tom & Jerry <ok>")
/// writer.close("m:Note")
/// // <m:Note>Tom &amp; Jerry &lt;ok&gt;</m:Note>
/// ```
public struct XMLWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Characters XML 1.0 cannot carry at all, even escaped.
    public struct InvalidCharacter: Error, Equatable, Sendable, CustomStringConvertible {
        public let element: String
        public let scalar: UInt32
        public var description: String {
            "'\(element)' holds character U+\(String(scalar, radix: 16, uppercase: true)), which XML cannot carry"
        }
    }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    public mutating func open(_ name: String) {
        bytes.append(UInt8(ascii: "<"))
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: ">"))
    }

    /// A start tag with attributes, written in the order given.
    public mutating func open(_ name: String, attributes: KeyValuePairs<String, String>) throws(InvalidCharacter) {
        bytes.append(UInt8(ascii: "<"))
        bytes.append(contentsOf: name.utf8)
        for (key, value) in attributes {
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: key.utf8)
            bytes.append(contentsOf: "=\"".utf8)
            try escape(value, element: name, attribute: true)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: ">"))
    }

    public mutating func close(_ name: String) {
        bytes.append(contentsOf: "</".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: ">"))
    }

    public mutating func text(_ value: String, element: String = "") throws(InvalidCharacter) {
        try escape(value, element: element, attribute: false)
    }

    /// `<name>value</name>`.
    public mutating func element(_ name: String, _ value: String) throws(InvalidCharacter) {
        open(name)
        try escape(value, element: name, attribute: false)
        close(name)
    }

    /// `<name>value</name>` when there is a value; nothing otherwise.
    public mutating func element(_ name: String, ifPresent value: String?) throws(InvalidCharacter) {
        if let value { try element(name, value) }
    }

    private mutating func escape(_ value: String, element: String, attribute: Bool) throws(InvalidCharacter) {
        var value = value
        let needsWork = value.withUTF8 { utf8 in
            utf8.contains { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">")
                || $0 == UInt8(ascii: "\"") || $0 < 0x20 || $0 == 0xEF }
        }
        guard needsWork else {
            bytes.append(contentsOf: value.utf8)
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": bytes.append(contentsOf: "&amp;".utf8)
            case "<": bytes.append(contentsOf: "&lt;".utf8)
            case ">": bytes.append(contentsOf: "&gt;".utf8)
            case "\"": bytes.append(contentsOf: "&quot;".utf8)
            case "\t", "\n", "\r":
                // In an attribute a raw newline would be normalised to a space by the reader.
                if attribute {
                    bytes.append(contentsOf: "&#\(scalar.value);".utf8)
                } else {
                    bytes.append(UInt8(truncatingIfNeeded: scalar.value))
                }
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    throw InvalidCharacter(element: element, scalar: scalar.value)
                }
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
    }
}
