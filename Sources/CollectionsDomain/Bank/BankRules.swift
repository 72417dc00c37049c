/// The bank accounts the adapter reads statements of, each with the rules that match its payments
/// to contracts (`mappings/bank/*.yaml`). An account not configured here is not matched: its
/// statements are refused with the account named.
///
/// ```swift
/// guard let rules = bankRules.account(header.account) else { throw … }   // not configured
/// let outcome = rules.decide(entry, data: data)
/// ```
public struct BankRules: Sendable {
    /// By IBAN, upper case without spaces.
    public let accounts: [String: BankAccountRules]

    public init(accounts: [String: BankAccountRules] = [:]) {
        self.accounts = accounts
    }

    /// The rules of an account, given its IBAN in any case and with or without spaces.
    public func account(_ iban: String) -> BankAccountRules? {
        accounts[BankAccountRules.normalisedIBAN(iban)]
    }
}

/// How much each matching rule adds to a candidate contract's confidence (0...100 in all, capped).
/// A rule whose weight is zero is not applied.
public struct BankMatchWeights: Hashable, Sendable {
    /// The contract's number is in the remittance information or the end-to-end id.
    public var contractNumber: Int
    /// An invoice of the contract is quoted.
    public var invoiceNumber: Int
    /// The payer's account paid for this customer before.
    public var payerAccount: Int
    /// The amount is an open invoice's, the monthly instalment, the arrears or the whole open balance.
    public var amount: Int
    /// The payer's name is close to the customer's.
    public var name: Int
    /// An agent reported collecting the same amount a few days before.
    public var paymentInTransit: Int

    public init(contractNumber: Int, invoiceNumber: Int, payerAccount: Int, amount: Int, name: Int, paymentInTransit: Int) {
        self.contractNumber = contractNumber
        self.invoiceNumber = invoiceNumber
        self.payerAccount = payerAccount
        self.amount = amount
        self.name = name
        self.paymentInTransit = paymentInTransit
    }
}

/// One account's matching rules: its bank's reference patterns, the weights, and how sure the rules
/// must be to allocate without a person (`allocateAt`, and `margin` ahead of the next contract).
public struct BankAccountRules: Sendable {
    /// Upper case, without spaces.
    public let iban: String
    public let currency: CurrencyCode
    public let bankName: String
    /// Tried in order; every contract number any of them finds is a candidate.
    public let contractPatterns: [ReferencePattern]
    public let invoicePatterns: [ReferencePattern]
    public let weights: BankMatchWeights
    /// The least confidence (1...100) allocated without a person.
    public let allocateAt: Int
    /// How far ahead of the runner-up the best contract must be.
    public let margin: Int
    /// The least similarity (0...100) of the payer's name to the customer's for the name rule.
    public let nameSimilarity: Int
    /// How many days after an agent's reported payment its money may reach the bank.
    public let transitDays: Int
    /// The bank's own return reason codes (German MT940 `?34` gives DK's three digits) and the code
    /// MILES is sent for each, so MILES gets one vocabulary (ISO 20022's, as camt.053 and Dutch MT940
    /// give it). A code not listed goes as the bank gave it.
    public var returnReasons: [String: String]

    public init(iban: String, currency: CurrencyCode, bankName: String, contractPatterns: [ReferencePattern], invoicePatterns: [ReferencePattern],
                weights: BankMatchWeights, allocateAt: Int, margin: Int, nameSimilarity: Int, transitDays: Int,
                returnReasons: [String: String] = [:]) {
        self.iban = Self.normalisedIBAN(iban)
        self.currency = currency
        self.bankName = bankName
        self.contractPatterns = contractPatterns
        self.invoicePatterns = invoicePatterns
        self.weights = weights
        self.allocateAt = allocateAt
        self.margin = margin
        self.nameSimilarity = nameSimilarity
        self.transitDays = transitDays
        self.returnReasons = returnReasons
    }

    /// The reason code MILES is sent for the bank's `code`.
    public func milesReturnReason(_ code: String) -> String {
        returnReasons[code] ?? code
    }

    /// Statements and people write IBANs in groups of four and in either case.
    public static func normalisedIBAN(_ text: String) -> String {
        let isLower = { (byte: UInt8) in byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
        guard text.utf8.contains(where: { $0 == UInt8(ascii: " ") || isLower($0) }) else { return text }
        return String(decoding: text.utf8.compactMap { $0 == UInt8(ascii: " ") ? nil : isLower($0) ? $0 - 32 : $0 }, as: UTF8.self)
    }

    /// Whether `text` is an IBAN: two letters, two check digits, up to 30 letters and digits, and the
    /// ISO 13616 check (the number mod 97 is 1), which catches a mistyped digit in the mapping file.
    public static func isValidIBAN(_ text: String) -> Bool {
        let iban = Array(normalisedIBAN(text).utf8)
        guard (15...34).contains(iban.count), iban[0...1].allSatisfy(isUpperLetter), iban[2...3].allSatisfy(isDigit),
              iban.allSatisfy({ isUpperLetter($0) || isDigit($0) }) else { return false }
        var remainder = 0
        for byte in iban[4...] + iban[0..<4] {
            if isDigit(byte) {
                remainder = (remainder * 10 + Int(byte - UInt8(ascii: "0"))) % 97
            } else {
                remainder = (remainder * 100 + Int(byte - UInt8(ascii: "A")) + 10) % 97
            }
        }
        return remainder == 1
    }

    private static func isUpperLetter(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

/// How a bank's remittance lines quote a contract or invoice number, in a small part of the regular
/// expression syntax, matched by a hand-written scanner: on a 110-character remittance, Swift
/// `Regex` took about 20 µs a pattern here, this scanner under 1 µs, and matching must stay well
/// under 10 µs an entry for 20,000 entries a second matched and stored.
///
/// - a literal ASCII character; `\` before any punctuation makes it literal (`\-`, `\.`, `\/`);
/// - `\d` a digit, `\w` a letter or digit, `[A-Z0-9]` a class of characters and ranges;
/// - after any of them `{n}`, `{n,m}`, `?`, `+` or `*`; `+` and `*` take at most 32 characters;
/// - no groups or alternatives (`(`, `|`): list several patterns instead.
///
/// A number is found only as a whole word: where the pattern starts or ends with a letter or digit,
/// the text around it may not continue with one (`C\d{8}` finds nothing in `ABC000000081`).
/// `ignoreCase` reads "c00000008" as C00000008 (the number found is upper case); `ignoreSpaces`
/// lets spaces stand between the characters of a number, as people group them ("C 0000 0008"),
/// and the number found is without them.
///
/// ```swift
/// let contract = try ReferencePattern(#"C\d{8}"#, ignoreCase: true, ignoreSpaces: true)
/// contract.matches(in: "Lease c 0000 0008 Nov")   // ["C00000008"]
/// ```
public struct ReferencePattern: Hashable, Sendable, CustomStringConvertible {
    public let source: String
    public let ignoreCase: Bool
    public let ignoreSpaces: Bool
    private let items: [Item]

    /// One character class and how many times it repeats.
    private struct Item: Hashable, Sendable {
        var set: ByteSet
        var least: Int
        var most: Int
    }

    /// The most characters `+` or `*` take: no reference is longer, and it bounds the scanner's backtracking.
    public static let longestRepeat = 32

    /// Throws `CollectionsError.invalidValue` naming the pattern and what is wrong with it.
    public init(_ source: String, ignoreCase: Bool = false, ignoreSpaces: Bool = false) throws(CollectionsError) {
        self.source = source
        self.ignoreCase = ignoreCase
        self.ignoreSpaces = ignoreSpaces
        items = try Self.compile(Array(source.utf8), ignoreCase: ignoreCase)
    }

    public var description: String { source }

    /// Every number the pattern finds in `text`, in the order they appear, each once.
    public func matches(in text: String) -> [String] {
        var found: [String] = []
        appendMatches(in: text, to: &found)
        return found
    }

    /// Appends the numbers found in `text` that `found` does not hold yet.
    public func appendMatches(in text: String, to found: inout [String]) {
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            while start < bytes.count {
                if startsWord(bytes, at: start), let end = match(bytes, item: 0, count: 0, at: start, started: false) {
                    let number = normalised(bytes[start..<end])
                    if !found.contains(number) { found.append(number) }
                    start = end
                } else {
                    start += 1
                }
            }
        }
    }

    private func startsWord(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
        guard items[0].set.contains(bytes[start]) || items[0].least == 0 else { return false }
        return start == 0 || !(isWordByte(bytes[start]) && isWordByte(bytes[start - 1]))
    }

    /// Greedy with backtracking, like a regular expression: the longest count of item `index` that
    /// lets the rest match, ending on a word boundary.
    private func match(_ bytes: UnsafeBufferPointer<UInt8>, item index: Int, count: Int, at position: Int, started: Bool) -> Int? {
        let item = items[index]
        if count < item.most {
            var next = position
            if ignoreSpaces, started { while next < bytes.count, bytes[next] == UInt8(ascii: " ") { next += 1 } }
            if next < bytes.count, item.set.contains(bytes[next]),
               let end = match(bytes, item: index, count: count + 1, at: next + 1, started: true) {
                return end
            }
        }
        guard count >= item.least else { return nil }
        if index + 1 < items.count { return match(bytes, item: index + 1, count: 0, at: position, started: started) }
        guard started else { return nil }
        let endsWord = position == bytes.count || !(isWordByte(bytes[position - 1]) && isWordByte(bytes[position]))
        return endsWord ? position : nil
    }

    private func normalised(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String {
        let isLower = { (byte: UInt8) in byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
        if !bytes.contains(where: { (ignoreSpaces && $0 == UInt8(ascii: " ")) || (ignoreCase && isLower($0)) }) {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes), as: UTF8.self)
        }
        var kept: [UInt8] = []
        kept.reserveCapacity(bytes.count)
        for byte in bytes where !(ignoreSpaces && byte == UInt8(ascii: " ")) {
            kept.append(ignoreCase && byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte)
        }
        return String(decoding: kept, as: UTF8.self)
    }

    private func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), 0x80...: true
        default: false
        }
    }

    private static func compile(_ pattern: [UInt8], ignoreCase: Bool) throws(CollectionsError) -> [Item] {
        func refuse(_ why: String) -> CollectionsError {
            .invalidValue(field: "pattern", value: String(decoding: pattern, as: UTF8.self), expected: why)
        }
        var items: [Item] = []
        var index = 0
        while index < pattern.count {
            let byte = pattern[index]
            var set = ByteSet()
            switch byte {
            case UInt8(ascii: "\\"):
                index += 1
                guard index < pattern.count else { throw refuse("something after the final '\\'") }
                switch pattern[index] {
                case UInt8(ascii: "d"): set = .digits
                case UInt8(ascii: "w"): set = .wordCharacters
                case let escaped where escaped < 0x80 && !ByteSet.wordCharacters.contains(escaped): set.insert(escaped)
                case let other:
                    throw refuse("\\d, \\w or an escaped punctuation character, not '\\\(String(decoding: [other], as: UTF8.self))' at \(index)")
                }
                index += 1
            case UInt8(ascii: "["):
                (set, index) = try compileClass(pattern, from: index + 1, refuse)
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "|"):
                throw refuse("no groups or alternatives ('\(String(decoding: [byte], as: UTF8.self))' at \(index)): list several patterns instead")
            case UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: "."):
                throw refuse("'\(String(decoding: [byte], as: UTF8.self))' escaped (\\\(String(decoding: [byte], as: UTF8.self))) at \(index): "
                             + "numbers are found as whole words anywhere in the text")
            case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "?"), UInt8(ascii: "+"), UInt8(ascii: "*"), UInt8(ascii: "]"):
                throw refuse("a character or class before '\(String(decoding: [byte], as: UTF8.self))' at \(index)")
            default:
                guard byte >= 0x20, byte < 0x7F else { throw refuse("printable ASCII characters only (at \(index))") }
                set.insert(byte)
                index += 1
            }
            if ignoreCase { set.foldCase() }
            var item = Item(set: set, least: 1, most: 1)
            if index < pattern.count {
                switch pattern[index] {
                case UInt8(ascii: "?"): (item.least, item.most, index) = (0, 1, index + 1)
                case UInt8(ascii: "+"): (item.least, item.most, index) = (1, longestRepeat, index + 1)
                case UInt8(ascii: "*"): (item.least, item.most, index) = (0, longestRepeat, index + 1)
                case UInt8(ascii: "{"): (item.least, item.most, index) = try compileCount(pattern, from: index + 1, refuse)
                default: break
                }
            }
            items.append(item)
        }
        guard items.contains(where: { $0.least > 0 }) else { throw refuse("a pattern that cannot match an empty text") }
        guard items.count <= 64 else { throw refuse("at most 64 characters or classes") }
        return items
    }

    private static func compileClass(_ pattern: [UInt8], from start: Int, _ refuse: (String) -> CollectionsError)
        throws(CollectionsError) -> (ByteSet, Int) {
        var set = ByteSet()
        var index = start
        func character() throws(CollectionsError) -> UInt8 {
            var byte = pattern[index]
            if byte == UInt8(ascii: "\\") {
                index += 1
                guard index < pattern.count else { throw refuse("']' closing the class opened at \(start - 1)") }
                byte = pattern[index]
            }
            guard byte >= 0x20, byte < 0x7F else { throw refuse("printable ASCII characters only (at \(index))") }
            index += 1
            return byte
        }
        while index < pattern.count, pattern[index] != UInt8(ascii: "]") {
            guard pattern[index] != UInt8(ascii: "^") || index != start else { throw refuse("a class without '^' at \(index): list what is allowed") }
            let low = try character()
            if index + 1 < pattern.count, pattern[index] == UInt8(ascii: "-"), pattern[index + 1] != UInt8(ascii: "]") {
                index += 1
                let high = try character()
                guard low <= high else { throw refuse("a range from low to high, not \(String(decoding: [low, UInt8(ascii: "-"), high], as: UTF8.self))") }
                for byte in low...high { set.insert(byte) }
            } else {
                set.insert(low)
            }
        }
        guard index < pattern.count else { throw refuse("']' closing the class opened at \(start - 1)") }
        guard !set.isEmpty else { throw refuse("at least one character in the class at \(start - 1)") }
        return (set, index + 1)
    }

    private static func compileCount(_ pattern: [UInt8], from start: Int, _ refuse: (String) -> CollectionsError)
        throws(CollectionsError) -> (Int, Int, Int) {
        guard let close = pattern[start...].firstIndex(of: UInt8(ascii: "}")) else {
            throw refuse("'}' closing the count opened at \(start - 1)")
        }
        let parts = pattern[start..<close].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        let numbers = parts.map { part -> Int? in
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
            return part.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        }
        guard (1...2).contains(numbers.count), let least = numbers.first ?? nil, let most = numbers.last ?? nil,
              least <= most, most >= 1, most <= 64 else {
            throw refuse("a count {n} or {n,m} with 0 <= n <= m <= 64 at \(start - 1)")
        }
        return (least, most, close + 1)
    }
}

/// A set of ASCII bytes, tested in one instruction.
private struct ByteSet: Hashable, Sendable {
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    static let digits: ByteSet = {
        var set = ByteSet()
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { set.insert(byte) }
        return set
    }()

    static let wordCharacters: ByteSet = {
        var set = digits
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { set.insert(byte); set.insert(byte + 32) }
        return set
    }()

    var isEmpty: Bool { low == 0 && high == 0 }

    mutating func insert(_ byte: UInt8) {
        if byte < 64 { low |= 1 << UInt64(byte) } else if byte < 128 { high |= 1 << UInt64(byte - 64) }
    }

    func contains(_ byte: UInt8) -> Bool {
        byte < 64 ? low & (1 << UInt64(byte)) != 0 : byte < 128 && high & (1 << UInt64(byte - 64)) != 0
    }

    /// Adds the other case of every letter.
    mutating func foldCase() {
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") where contains(byte) || contains(byte + 32) {
            insert(byte)
            insert(byte + 32)
        }
    }
}
