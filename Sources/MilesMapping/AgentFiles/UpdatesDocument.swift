/// The JSON an agent posts: `{"updates": [{"contractNumber": "C1", "code": "PAY", …}, …]}`, read
/// strictly. A general JSON decoder quietly keeps the last of two equal keys (a second "updates"
/// list would drop the first), and its errors name Swift types; this reader refuses duplicate keys,
/// unknown top-level keys and non-text values, and says what is wrong in the agent's terms, with the
/// byte offset. Updates are handed over one at a time, so memory holds the document and one update:
/// read it through once without acting to know it is whole.
enum UpdatesDocument {

    /// A problem with the document, at a byte offset.
    struct Problem: Error, CustomStringConvertible {
        let offset: Int
        let message: String
        var description: String { "byte \(offset): \(message)" }
    }

    /// Hands `body` each update's fields in the order posted, with its number (from 1). A problem with
    /// the document throws `Problem`, possibly after earlier updates were handed over.
    static func forEachUpdate(in bytes: [UInt8], _ body: (_ number: Int, _ fields: [(key: String, value: String)]) throws -> Void) throws {
        var reader = Reader(bytes: bytes)
        var sawUpdates = false
        try reader.expect(UInt8(ascii: "{"), "the document must be a JSON object: {\"updates\": [{…}, …]}")
        var first = true
        while try reader.nextMember(first: &first, closing: UInt8(ascii: "}")) {
            let keyOffset = reader.offset
            let key = try reader.string()
            try reader.expect(UInt8(ascii: ":"), "expected ':' after \"\(key)\"")
            guard key == "updates" else {
                throw Problem(offset: keyOffset, message: "unknown key \"\(key)\"; the document has one key, \"updates\"")
            }
            guard !sawUpdates else {
                throw Problem(offset: keyOffset, message: "\"updates\" appears twice; send one list")
            }
            sawUpdates = true
            try reader.expect(UInt8(ascii: "["), "\"updates\" must be a list: [{…}, …]")
            var number = 0
            var firstUpdate = true
            while try reader.nextMember(first: &firstUpdate, closing: UInt8(ascii: "]")) {
                number += 1
                try body(number, try reader.update(number: number))
            }
        }
        try reader.expectEnd()
        guard sawUpdates else { throw Problem(offset: 0, message: "no \"updates\" list") }
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func skipSpace() {
            while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
        }

        mutating func expect(_ byte: UInt8, _ message: String) throws(Problem) {
            skipSpace()
            guard offset < bytes.count, bytes[offset] == byte else { throw Problem(offset: offset, message: message) }
            offset += 1
        }

        mutating func expectEnd() throws(Problem) {
            skipSpace()
            guard offset == bytes.count else { throw Problem(offset: offset, message: "text after the end of the document") }
        }

        /// Whether another member or element follows: handles the commas and the closing bracket.
        mutating func nextMember(first: inout Bool, closing: UInt8) throws(Problem) -> Bool {
            skipSpace()
            guard offset < bytes.count else { throw Problem(offset: offset, message: "the document ends early") }
            if bytes[offset] == closing {
                offset += 1
                return false
            }
            if !first {
                guard bytes[offset] == UInt8(ascii: ",") else {
                    throw Problem(offset: offset, message: "expected ',' or '\(Character(Unicode.Scalar(closing)))'")
                }
                offset += 1
            }
            first = false
            return true
        }

        mutating func update(number: Int) throws(Problem) -> [(key: String, value: String)] {
            try expect(UInt8(ascii: "{"), "update \(number) must be an object of text values: {\"contractNumber\": \"…\", …}")
            var fields: [(key: String, value: String)] = []
            var seen: Set<String> = []
            var first = true
            while try nextMember(first: &first, closing: UInt8(ascii: "}")) {
                let keyOffset = offset
                let key = try string()
                guard seen.insert(key).inserted else {
                    throw Problem(offset: keyOffset, message: "update \(number) has \"\(key)\" twice; which one is meant cannot be known")
                }
                try expect(UInt8(ascii: ":"), "expected ':' after \"\(key)\"")
                skipSpace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
                    throw Problem(offset: offset, message: "the value of \"\(key)\" in update \(number) is not text; send every value "
                                  + "as a string, such as \"12.50\"")
                }
                fields.append((key, try string()))
            }
            return fields
        }

        /// A JSON string, with its escapes, as valid UTF-8 text.
        mutating func string() throws(Problem) -> String {
            skipSpace()
            let start = offset
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw Problem(offset: offset, message: "expected a string") }
            offset += 1
            var text: [UInt8] = []
            while true {
                guard offset < bytes.count else { throw Problem(offset: start, message: "a string that is never closed") }
                let byte = bytes[offset]
                offset += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let string = String(validating: text, as: UTF8.self) else {
                        throw Problem(offset: start, message: "a string that is not UTF-8 text")
                    }
                    return string
                case UInt8(ascii: "\\"):
                    try escape(into: &text)
                case ..<0x20:
                    throw Problem(offset: offset - 1, message: "a control character inside a string; escape it (\\n, \\t, \\u0000)")
                default:
                    text.append(byte)
                }
            }
        }

        private mutating func escape(into text: inout [UInt8]) throws(Problem) {
            guard offset < bytes.count else { throw Problem(offset: offset, message: "the document ends inside an escape") }
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(byte)
            case UInt8(ascii: "b"): text.append(0x08)
            case UInt8(ascii: "f"): text.append(0x0C)
            case UInt8(ascii: "n"): text.append(0x0A)
            case UInt8(ascii: "r"): text.append(0x0D)
            case UInt8(ascii: "t"): text.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                        throw Problem(offset: offset, message: "a lone UTF-16 surrogate in a \\u escape")
                    }
                    offset += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw Problem(offset: offset - 6, message: "a lone UTF-16 surrogate in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let character = Unicode.Scalar(scalar) else {
                    throw Problem(offset: offset - 6, message: "a lone UTF-16 surrogate in a \\u escape")
                }
                text.append(contentsOf: Array(String(Character(character)).utf8))
            default:
                throw Problem(offset: offset - 2, message: "an unknown escape \\\(Character(Unicode.Scalar(byte)))")
            }
        }

        private mutating func hex4() throws(Problem) -> UInt32 {
            guard offset + 4 <= bytes.count else { throw Problem(offset: offset, message: "a \\u escape needs four hex digits") }
            var value: UInt32 = 0
            for byte in bytes[offset..<offset + 4] {
                guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else {
                    throw Problem(offset: offset, message: "a \\u escape needs four hex digits")
                }
                value = value << 4 | UInt32(digit)
            }
            offset += 4
            return value
        }
    }
}
