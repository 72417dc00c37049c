/// A list bound as one statement argument, a JSON text that SQL reads with `json_each`: one
/// statement for a page or a batch of keys, not one per key. Written by hand: JSONEncoder took about
/// a tenth of the time a large bank import spent reading its matching data (BENCHMARKS.md, issue 17).
///
/// ```swift
/// let numbers = JSONArguments.array(["C00000001", "C00000002"])
/// try Row.fetchAll(db, sql: "SELECT c.* FROM json_each(?) j JOIN contracts c ON c.contract_number = j.value", arguments: [numbers])
/// ```
enum JSONArguments {
    /// `["value", …]`.
    static func array(_ values: [String]) -> String {
        var json = "["
        json.reserveCapacity(values.count * 32)
        for (index, value) in values.enumerated() {
            if index > 0 { json += "," }
            appendString(value, to: &json)
        }
        return json + "]"
    }

    /// `[["key", value], …]` with `null` for a missing value, for `json_extract(value, '$[0]')` and `'$[1]'`.
    static func pairs(_ pairs: [(String, Int64?)]) -> String {
        var json = "["
        json.reserveCapacity(pairs.count * 32)
        for (index, (key, value)) in pairs.enumerated() {
            if index > 0 { json += "," }
            json += "["
            appendString(key, to: &json)
            json += value.map { ",\($0)]" } ?? ",null]"
        }
        return json + "]"
    }

    /// `value` as a JSON string: quoted, with quotes, backslashes and control characters escaped, and
    /// every other character as it is, so `json_each` gives back exactly the text stored.
    private static func appendString(_ value: String, to json: inout String) {
        json += "\""
        guard value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            json += value
            json += "\""
            return
        }
        let hex = Array("0123456789abcdef".unicodeScalars)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case _ where scalar.value < 0x20:
                json += "\\u00"
                json.unicodeScalars.append(hex[Int(scalar.value >> 4)])
                json.unicodeScalars.append(hex[Int(scalar.value & 0xF)])
            default: json.unicodeScalars.append(scalar)
            }
        }
        json += "\""
    }
}
