import CollectionsDomain

/// What an MT940 `:86:` field tells about its entry, in the layouts banks use:
/// - German (DK): a transaction code, then `?NN` subfields: `?20`–`?29` and `?60`–`?63` the
///   purpose, `?31` the payer's account, `?32`/`?33` the name (`166?00GUTSCHRIFT?20Vertrag C1?32Max Muster`);
///   a SEPA purpose may carry `EREF+` (end-to-end id), `SVWZ+` (the remittance) and, on a returned
///   direct debit, `OAMT+` (the payment's own amount, before the charges `COAM+` the bank added) keys. A returned
///   direct debit (transaction code 109, `RUECKBEL.`) is a return; its reason is the SEPA return reason
///   `?34` carries as DK's three-digit code (`912`), or `GVC109` when it carries none.
/// - Dutch (ING, Rabobank): `/KEY/value` pairs: `/EREF/`, `/CNTP/IBAN/BIC/name/city/`, `/NAME/`,
///   `/IBAN/`, `/REMI/USTD//text/`, `/RTRN/reason/`.
/// Anything else is the remittance, its lines joined by one space.
struct MT940Information {
    var remittance = ""
    var name: String?
    var account: String?
    var endToEndId: String?
    var returnReason: String?
    /// A returned direct debit's `OAMT+` and `COAM+` as written (`12,50`), read in the entry's currency when applied.
    var originalAmount: String?
    var charges: String?

    /// `field` is the field as read, valid UTF-8, its lines separated by LF.
    init(_ field: [UInt8]) {
        // Structured layouts are wrapped at 65 characters wherever the text falls: their lines join with nothing.
        let joined = field.filter { $0 != 0x0A }
        if Self.isGerman(joined) {
            readGerman(String(decoding: joined, as: UTF8.self))
        } else if joined.first == UInt8(ascii: "/"), readDutch(joined) {
            return
        } else {
            remittance = String(decoding: field, as: UTF8.self).split(separator: "\n").map { $0.trimmed(of: " ") }
                .filter { !$0.isEmpty }.joined(separator: " ")
        }
    }

    func apply(to entry: inout BankEntry) {
        entry.remittance = remittance
        entry.counterpartyName = name
        entry.counterpartyAccount = account
        entry.endToEndId = endToEndId
        entry.returnReason = returnReason
        // The payment's own amount, when the charges stated (if any) make up the rest of the amount booked.
        let currency = entry.amount.currency
        if let originalAmount, let amount = Self.amount(originalAmount, currency: currency) {
            let stated = charges.flatMap { Self.amount($0, currency: currency) }
            if stated.map({ amount.minorUnits + $0.minorUnits == entry.amount.minorUnits }) ?? true {
                entry.instructedAmount = amount
            }
        }
    }

    /// An `OAMT+` amount (a decimal comma), perhaps led by the account's currency code; nil for one in
    /// another currency or not an amount.
    private static func amount(_ text: String, currency: CurrencyCode) -> Money? {
        var digits = Substring(text)
        if digits.first?.isLetter == true {
            guard digits.hasPrefix(currency.code) else { return nil }
            digits = digits.dropFirst(currency.code.count)
        }
        var bytes = Array(digits.utf8)
        bytes.removeAll { $0 == UInt8(ascii: " ") }
        return bytes.withUnsafeBufferPointer { parseStatementAmount($0, separator: UInt8(ascii: ","), currency: currency) }
    }

    // MARK: German

    private static func isGerman(_ bytes: [UInt8]) -> Bool {
        func digits(_ range: Range<Int>) -> Bool { bytes.count >= range.upperBound && bytes[range].allSatisfy(MT940EntryLine.isDigit) }
        return (digits(0..<3) && bytes.count > 3 && bytes[3] == UInt8(ascii: "?") && digits(4..<6))
            || (bytes.first == UInt8(ascii: "?") && digits(1..<3))
    }

    /// The DK transaction code (GVC) of a returned SEPA direct debit.
    private static let returnedDirectDebit = "109"

    private mutating func readGerman(_ text: String) {
        var purpose: [Substring] = []
        var nameParts: [Substring] = []
        var returnCode: String?
        for (code, value) in Self.germanSubfields(text) {
            switch code {
            case 20...29, 60...63: purpose.append(value)
            case 31: account = Self.compact(value)
            case 32, 33: nameParts.append(value)
            case 34: returnCode = Self.sepaReturnCode(value)
            default: break
            }
        }
        if text.hasPrefix(Self.returnedDirectDebit + "?") {
            returnReason = returnCode ?? "GVC" + Self.returnedDirectDebit
        }
        let name = Self.joinChunks(nameParts)
        self.name = name.isEmpty ? nil : name
        let fullPurpose = Self.joinChunks(purpose)
        let keyed = Self.sepaKeyed(fullPurpose)
        if keyed.isEmpty {
            remittance = fullPurpose
        } else {
            remittance = keyed["SVWZ"] ?? ""
            endToEndId = keyed["EREF"].flatMap(Self.endToEnd)
            if returnReason != nil {
                originalAmount = keyed["OAMT"]
                charges = keyed["COAM"]
            }
        }
    }

    /// `?34` (Textschlüsselergänzung) of an R-transaction: the SEPA return reason as DK's three-digit
    /// code, 901 to 999; anything else there is not a reason.
    private static func sepaReturnCode(_ value: Substring) -> String? {
        let code = value.trimmed(of: " ")
        guard code.utf8.count == 3, code.utf8.allSatisfy(MT940EntryLine.isDigit), code.hasPrefix("9"), code != "900" else { return nil }
        return code
    }

    /// The `?NN` subfields in order; what comes before the first (the transaction code) is not one.
    private static func germanSubfields(_ text: String) -> [(Int, Substring)] {
        let utf8 = Array(text.utf8)
        var starts: [(code: Int, at: Int)] = []
        var index = 0
        while index + 2 < utf8.count {
            if utf8[index] == UInt8(ascii: "?"), MT940EntryLine.isDigit(utf8[index + 1]), MT940EntryLine.isDigit(utf8[index + 2]) {
                starts.append((Int(utf8[index + 1] - 48) * 10 + Int(utf8[index + 2] - 48), index))
                index += 3
            } else {
                index += 1
            }
        }
        return starts.enumerated().map { offset, start in
            let end = offset + 1 < starts.count ? starts[offset + 1].at : utf8.count
            let from = text.utf8.index(text.utf8.startIndex, offsetBy: start.at + 3)
            let to = text.utf8.index(text.utf8.startIndex, offsetBy: end)
            return (start.code, text[from..<to])
        }
    }

    /// German subfields hold 27 characters: a full one was cut wherever the text reached 27 and
    /// continues in the next as it stands; a shorter one ended a line of its own, so a space follows it.
    private static func joinChunks(_ chunks: [Substring]) -> String {
        var joined = ""
        var previousLength = 27
        for chunk in chunks {
            if !joined.isEmpty, previousLength < 27, !joined.hasSuffix(" "), !chunk.hasPrefix(" ") { joined += " " }
            joined += chunk
            previousLength = chunk.count
        }
        return joined.trimmed(of: " ")
    }

    private static let sepaKeys = ["EREF", "KREF", "MREF", "CRED", "DEBT", "SVWZ", "ABWA", "ABWE", "IBAN", "BIC", "COAM", "OAMT"]

    /// `EREF+x SVWZ+text` split by its keys, when the purpose starts with one; empty otherwise.
    private static func sepaKeyed(_ purpose: String) -> [String: String] {
        guard sepaKeys.contains(where: { purpose.hasPrefix($0 + "+") }) else { return [:] }
        var result: [String: String] = [:]
        var rest = Substring(purpose)
        var key: String?
        while !rest.isEmpty {
            let next = sepaKeys.compactMap { candidate -> (String, Range<Substring.Index>)? in
                rest.firstRange(of: candidate + "+").map { (candidate, $0) }
            }.min { $0.1.lowerBound < $1.1.lowerBound }
            let valueEnd = next?.1.lowerBound ?? rest.endIndex
            if let key { result[key] = String(rest[..<valueEnd]).trimmed(of: " ") }
            guard let next else { break }
            key = next.0
            rest = rest[next.1.upperBound...]
        }
        return result
    }

    // MARK: Dutch

    /// The keys whose values are read; every other key only ends the value before it.
    private enum DutchKey: Int, CaseIterable {
        case endToEnd, counterparty, name, iban, remittance, returnReason, other
    }

    private static let dutchKeys: [String: DutchKey] = [
        "EREF": .endToEnd, "CNTP": .counterparty, "NAME": .name, "IBAN": .iban, "REMI": .remittance, "RTRN": .returnReason,
        "MARF": .other, "CSID": .other, "PURP": .other, "ORDP": .other, "BENM": .other, "BIC": .other, "ADDR": .other,
        "ULTC": .other, "ULTD": .other, "ULTB": .other, "ISDT": .other, "BUSP": .other, "CHGS": .other, "EXCH": .other,
        "SVCL": .other, "TRCD": .other, "IREF": .other, "OCMT": .other, "ACCW": .other, "PREF": .other, "RTYP": .other,
        "CDTRREF": .other, "CDTRREFTP": .other,
    ]

    /// Reads `/KEY/value/…` (a value may hold `/`: it runs to the next key); false when no key is known.
    /// Works on the bytes: values are slices of the field, only the ones kept become strings.
    private mutating func readDutch(_ bytes: [UInt8]) -> Bool {
        var tokens: [Range<Int>] = []
        var start = 1
        for index in 1..<bytes.count where bytes[index] == UInt8(ascii: "/") {
            tokens.append(start..<index)
            start = index + 1
        }
        tokens.append(start..<bytes.count)
        // Per key, the tokens of its value.
        var values = [Range<Int>?](repeating: nil, count: DutchKey.allCases.count)
        var current: (key: DutchKey, from: Int)?
        for (position, token) in tokens.enumerated() {
            guard (3...9).contains(token.count), bytes[token].allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }),
                  let key = Self.dutchKeys[String(decoding: bytes[token], as: UTF8.self)] else { continue }
            if let current, values[current.key.rawValue] == nil { values[current.key.rawValue] = current.from..<position }
            current = (key, position + 1)
        }
        guard let last = current else { return false }
        if values[last.key.rawValue] == nil { values[last.key.rawValue] = last.from..<tokens.count }

        func text(_ range: Range<Int>) -> String {
            var from = range.lowerBound, to = range.upperBound
            while from < to, bytes[from] == UInt8(ascii: "/") || bytes[from] == UInt8(ascii: " ") { from += 1 }
            while to > from, bytes[to - 1] == UInt8(ascii: "/") || bytes[to - 1] == UInt8(ascii: " ") { to -= 1 }
            return String(decoding: bytes[from..<to], as: UTF8.self)
        }
        func value(_ key: DutchKey, skipping skipped: Set<String> = []) -> String? {
            guard var range = values[key.rawValue], !range.isEmpty else { return nil }
            while !range.isEmpty, tokens[range.lowerBound].isEmpty || skipped.contains(String(decoding: bytes[tokens[range.lowerBound]], as: UTF8.self)) {
                range = (range.lowerBound + 1)..<range.upperBound
            }
            guard !range.isEmpty else { return nil }
            let joined = text(tokens[range.lowerBound].lowerBound..<tokens[range.upperBound - 1].upperBound)
            return joined.isEmpty ? nil : joined
        }
        func token(_ key: DutchKey, _ offset: Int) -> String? {
            guard let range = values[key.rawValue], range.lowerBound + offset < range.upperBound else { return nil }
            let value = text(tokens[range.lowerBound + offset])
            return value.isEmpty ? nil : value
        }
        endToEndId = value(.endToEnd).flatMap(Self.endToEnd)
        returnReason = value(.returnReason).map { String($0.prefix { $0 != "/" }) }
        account = token(.counterparty, 0).map(Self.compact)
        name = token(.counterparty, 2)
        if let named = value(.name) { name = named }
        if let iban = value(.iban) { account = Self.compact(Substring(iban.prefix { $0 != "/" })) }
        // `USTD//text` is unstructured text; `STRD/CUR/ref` a structured creditor reference.
        remittance = value(.remittance, skipping: ["USTD", "STRD", "CUR", "ISO"]) ?? ""
        return true
    }

    // MARK: Shared

    private static func endToEnd(_ value: String) -> String? {
        value.isEmpty || value == "NOTPROVIDED" ? nil : value
    }

    private static func compact(_ value: some StringProtocol) -> String {
        String(value.filter { $0 != " " })
    }
}
