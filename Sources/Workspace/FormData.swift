import Foundation

/// The fields of a posted form: `application/x-www-form-urlencoded`, or `multipart/form-data` with
/// files (their bytes, and the name the browser gave).
struct FormData {
    var fields: [String: String] = [:]
    var files: [String: (name: String, bytes: [UInt8])] = [:]

    subscript(name: String) -> String { fields[name] ?? "" }

    init(contentType: String?, body: [UInt8]) throws(FormError) {
        let type = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        switch type {
        case "application/x-www-form-urlencoded":
            fields = Self.urlEncodedFields(String(decoding: body, as: UTF8.self))
        case "multipart/form-data":
            guard let boundary = contentType?.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) })
                .first(where: { $0.hasPrefix("boundary=") })?.dropFirst("boundary=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) else {
                throw FormError(description: "a multipart form without a boundary")
            }
            // RFC 2046 allows 70 characters; a longer one would only make the search slow.
            guard (1...70).contains(boundary.count) else { throw FormError(description: "a multipart boundary over 70 characters") }
            try parseMultipart(body, boundary: Array(("--" + boundary).utf8))
        default:
            throw FormError(description: "not a form (\(contentType ?? "no content type"))")
        }
    }

    /// The fields of a form sent with GET, from the request's query as sent (`URI.query`). Hummingbird's
    /// `queryParameters` decodes percent escapes but leaves the `+` a browser writes for a space, so a
    /// postcode typed "SW1A 1AA" was searched for as "SW1A+1AA" and found nothing.
    init(query: String?) {
        fields = query.map(Self.urlEncodedFields) ?? [:]
    }

    private static func urlEncodedFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { decode(String($0)) }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }

    private static func decode(_ text: String) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    private mutating func parseMultipart(_ body: [UInt8], boundary: [UInt8]) throws(FormError) {
        var parts: [ArraySlice<UInt8>] = []
        var start: Int?
        var index = 0
        while let found = Self.find(boundary, in: body, from: index) {
            if let start { parts.append(body[start..<max(start, found - 2)]) }  // the CR LF before the boundary
            index = found + boundary.count
            if body[index...].starts(with: Array("--".utf8)) { break }
            index += 2  // CR LF after the boundary
            start = index
        }
        for part in parts {
            guard let split = Self.find(Array("\r\n\r\n".utf8), in: Array(part), from: 0) else { throw FormError(description: "a form part without headers") }
            let bytes = Array(part)
            let headers = String(decoding: bytes[..<split], as: UTF8.self)
            let content = Array(bytes[(split + 4)...])
            guard let disposition = headers.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-disposition:") }),
                  let name = Self.parameter("name", in: String(disposition)) else { continue }
            if let filename = Self.parameter("filename", in: String(disposition)) {
                files[name] = (filename, content)
            } else {
                fields[name] = String(decoding: content, as: UTF8.self)
            }
        }
    }

    private static func parameter(_ key: String, in header: String) -> String? {
        guard let range = header.range(of: "\(key)=\"") else { return nil }
        let rest = header[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        var index = from
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0], haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

/// A posted form could not be read.
struct FormError: Error, CustomStringConvertible {
    let description: String
}
