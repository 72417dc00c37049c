#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CollectionsDomain
import MilesSOAP

/// SWIFT MT940 read line by line as its bytes arrive: each field (a tag and the lines up to the next
/// tag) is decoded when it is complete, and an entry (`:61:`) is reported once its `:86:`, if any,
/// has been read. SWIFT block wrappers (`{1:…}{2:…}{4:` … `-}`) are optional, several statements may
/// follow each other, lines end in CR LF or LF. Lines before a statement's `:20:` (a bank's own
/// preamble) are skipped; inside a statement every line must belong to a field.
struct MT940StatementParser {
    /// A statement between its `:20:` and its closing balance.
    private struct OpenStatement {
        let startLine: Int
        let id: String
        var account: String?
        var sequence: String?
        var tally: StatementTally?
        var closed = false

        var label: String { "'\(id)' (line \(startLine))" }
    }

    private let limits: BankStatementLimits
    /// The start of a line whose end is in a later chunk.
    private var carry: [UInt8] = []
    private var lineNumber = 0
    /// The field being collected, from its tag to the next tag: its content with lines joined by LF.
    private var fieldTag: String?
    private var fieldLine = 0
    private var fieldBytes: [UInt8] = []
    private var statement: OpenStatement?
    /// An entry waiting for the `:86:` that may follow its `:61:`.
    private var pending: BankEntry?
    private var pendingHasInformation = false
    private var pendingLine = 0
    private var position = 0
    private var statementsRead = 0

    init(limits: BankStatementLimits) {
        self.limits = limits
        fieldBytes.reserveCapacity(512)
    }

    mutating func feed<V: BankStatementVisitor>(_ chunk: UnsafeBufferPointer<UInt8>, into visitor: inout V) throws {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        while start < chunk.count {
            guard let found = memchr(base + start, 0x0A, chunk.count - start) else {
                carry.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start...]))
                // One byte over for the CR a line may end with before its LF.
                guard carry.count <= limits.maxTextBytes + 1 else { throw lineTooLong(lineNumber + 1) }
                return
            }
            let end = UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) - base
            if carry.isEmpty {
                try line(UnsafeBufferPointer(rebasing: chunk[start..<end]), into: &visitor)
            } else {
                carry.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[start..<end]))
                let whole = carry
                carry.removeAll(keepingCapacity: true)
                try whole.withUnsafeBufferPointer { try line($0, into: &visitor) }
            }
            start = end + 1
        }
    }

    mutating func finish<V: BankStatementVisitor>(into visitor: inout V) throws {
        if !carry.isEmpty {
            let last = carry
            carry = []
            try last.withUnsafeBufferPointer { try line($0, into: &visitor) }
        }
        try completeField(into: &visitor)
        try endMessage(atLine: max(lineNumber, 1))
        guard statementsRead > 0 else {
            throw BankStatementError(.missingField, format: .mt940, location: "line \(max(lineNumber, 1))",
                                     "the file holds no statement (:20: to :62F:)")
        }
    }

    // MARK: Lines

    private mutating func line<V: BankStatementVisitor>(_ raw: UnsafeBufferPointer<UInt8>, into visitor: inout V) throws {
        lineNumber += 1
        var bytes = raw
        if bytes.last == 0x0D { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }
        if lineNumber == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = UnsafeBufferPointer(rebasing: bytes.dropFirst(3)) }
        guard bytes.count <= limits.maxTextBytes else { throw lineTooLong(lineNumber) }
        guard let first = bytes.first else { return }
        if first == UInt8(ascii: "{") {
            // A SWIFT block header line: the message body starts after `{4:`, possibly on this line.
            try completeField(into: &visitor)
            try endMessage(atLine: lineNumber)
            guard let body = Self.range(of: Array("{4:".utf8), in: bytes) else { return }
            let rest = UnsafeBufferPointer(rebasing: bytes[body.upperBound...])
            if !rest.isEmpty { try tagOrContinuation(rest, into: &visitor) }
            return
        }
        if first == UInt8(ascii: "-"), bytes.count == 1 || bytes[1] == UInt8(ascii: "}") {
            try completeField(into: &visitor)
            try endMessage(atLine: lineNumber)
            return
        }
        try tagOrContinuation(bytes, into: &visitor)
    }

    private mutating func tagOrContinuation<V: BankStatementVisitor>(_ bytes: UnsafeBufferPointer<UInt8>, into visitor: inout V) throws {
        if let tagEnd = Self.tagEnd(bytes) {
            try completeField(into: &visitor)
            fieldTag = String(decoding: UnsafeBufferPointer(rebasing: bytes[1..<(tagEnd - 1)]), as: UTF8.self)
            fieldLine = lineNumber
            fieldBytes.removeAll(keepingCapacity: true)
            fieldBytes.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[tagEnd...]))
            return
        }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        switch fieldTag {
        case nil:
            guard statement == nil || statement?.closed == true else {
                throw BankStatementError(.malformed, format: .mt940, location: "line \(lineNumber)", value: text(bytes),
                                         "this line belongs to no field: every line of a statement starts with a tag such as :61:, or continues :86:")
            }
        case "20", "25", "28C", "28", "60F", "60M", "62F", "62M":
            throw BankStatementError(.malformed, format: .mt940, location: "line \(lineNumber)", value: text(bytes),
                                     "this line continues :\(fieldTag!):, which is one line only; is a tag's leading ':' missing?")
        default:
            fieldBytes.append(0x0A)
            fieldBytes.append(contentsOf: bytes)
            guard fieldBytes.count <= limits.maxTextBytes else {
                throw BankStatementError(.overLimit, format: .mt940, location: "line \(fieldLine)",
                                         "the :\(fieldTag!): field is longer than \(limits.maxTextBytes) bytes (BankStatementLimits.maxTextBytes)")
            }
        }
    }

    /// The index after a tag such as `:20:`, `:28C:` or `:NS:` at the start of the line; nil when there is none.
    private static func tagEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= 4, bytes[0] == UInt8(ascii: ":"), isAlphanumeric(bytes[1]), isAlphanumeric(bytes[2]) else { return nil }
        if bytes[3] == UInt8(ascii: ":") { return 4 }
        if bytes.count >= 5, bytes[3] >= UInt8(ascii: "A"), bytes[3] <= UInt8(ascii: "Z"), bytes[4] == UInt8(ascii: ":") { return 5 }
        return nil
    }

    // MARK: Fields

    private mutating func completeField<V: BankStatementVisitor>(into visitor: inout V) throws {
        guard let tag = fieldTag else { return }
        fieldTag = nil
        let line = fieldLine
        switch tag {
        case "20":
            try flushEntry(into: &visitor)
            if let open = statement, !open.closed { throw missingClosing(open, atLine: line) }
            statement = OpenStatement(startLine: line, id: try firstLine(tag, required: true))
        case "25":
            var open = try openStatement(tag, line)
            open.account = Self.account(try firstLine(tag, required: true))
            statement = open
        case "28C", "28":
            var open = try openStatement(tag, line)
            open.sequence = try firstLine(tag, required: false)
            statement = open
        case "60F", "60M":
            try opening(tag, line, into: &visitor)
        case "61":
            try flushEntry(into: &visitor)
            try entry(line)
        case "86":
            guard pending != nil, !pendingHasInformation else { return }
            try information(line)
        case "62F", "62M":
            try flushEntry(into: &visitor)
            try closing(tag, line, into: &visitor)
        default:
            // :21:, :64:, :65:, :13D:, :34F:, :90C:, :90D:, :NS: and the like: nothing the entries need.
            try flushEntry(into: &visitor)
        }
    }

    private mutating func opening<V: BankStatementVisitor>(_ tag: String, _ line: Int, into visitor: inout V) throws {
        var open = try openStatement(tag, line)
        guard open.tally == nil else {
            throw BankStatementError(.malformed, format: .mt940, location: "line \(line)", "statement \(open.label) has a second opening balance (:\(tag):)")
        }
        guard let account = open.account else {
            throw BankStatementError(.missingField, format: .mt940, location: "line \(line)",
                                     "statement \(open.label) has no account (:25:) before its opening balance")
        }
        let balance = try self.balance(tag, line)
        open.tally = StatementTally(opening: balance)
        statement = open
        try visitor.beginStatement(BankStatementHeader(format: .mt940, account: account, currency: balance.amount.currency,
                                                       statementId: open.id, sequenceNumber: open.sequence, opening: balance))
    }

    private mutating func closing<V: BankStatementVisitor>(_ tag: String, _ line: Int, into visitor: inout V) throws {
        let open = try openStatement(tag, line)
        guard let tally = open.tally else {
            throw BankStatementError(.malformed, format: .mt940, location: "line \(line)",
                                     ":\(tag): comes before the opening balance (:60F:) of statement \(open.label)")
        }
        guard !open.closed else {
            throw BankStatementError(.malformed, format: .mt940, location: "line \(line)", "statement \(open.label) has a second closing balance (:\(tag):)")
        }
        let balance = try self.balance(tag, line)
        guard balance.amount.currency == tally.opening.amount.currency else {
            throw BankStatementError(.currencyMismatch, format: .mt940, location: "line \(line)", value: balance.amount.currency.code,
                                     "the closing balance is in \(balance.amount.currency), the statement in \(tally.opening.amount.currency)")
        }
        if let mismatch = tally.mismatch(closing: balance, statement: open.label) {
            throw BankStatementError(.balanceMismatch, format: .mt940, location: "line \(line)", mismatch)
        }
        statement?.closed = true
        statementsRead += 1
        try visitor.endStatement(closing: balance)
    }

    private mutating func entry(_ line: Int) throws {
        guard let open = statement, let tally = open.tally, !open.closed else {
            let what = statement?.closed == true ? "after the closing balance (:62F:) of statement \(statement!.label)"
                : "before the statement's opening balance (:60F:)"
            throw BankStatementError(.malformed, format: .mt940, location: "line \(line)", ":61: comes \(what)")
        }
        guard tally.entries < limits.maxEntriesPerStatement else {
            throw BankStatementError(.overLimit, format: .mt940, location: "line \(line)",
                                     "statement \(open.label) has more than \(limits.maxEntriesPerStatement) entries (BankStatementLimits.maxEntriesPerStatement)")
        }
        let firstLineEnd = fieldBytes.firstIndex(of: 0x0A) ?? fieldBytes.count
        pending = try fieldBytes.withUnsafeBufferPointer { bytes in
            try MT940EntryLine(line: line, currency: tally.opening.amount.currency)
                .entry(UnsafeBufferPointer(rebasing: bytes[0..<firstLineEnd]), position: position + 1)
        }
        pendingHasInformation = false
        pendingLine = line
    }

    private mutating func information(_ line: Int) throws {
        guard String(validating: fieldBytes, as: UTF8.self) != nil else {
            throw BankStatementError(.invalidValue, format: .mt940, location: "line \(line)", "the :86: field is not UTF-8 text")
        }
        MT940Information(fieldBytes).apply(to: &pending!)
        pendingHasInformation = true
    }

    private mutating func flushEntry<V: BankStatementVisitor>(into visitor: inout V) throws {
        guard let entry = pending else { return }
        pending = nil
        guard statement!.tally!.add(entry) else {
            throw BankStatementError(.invalidValue, format: .mt940, location: "line \(pendingLine)", "the statement's entries add up to more than can be counted")
        }
        position += 1
        try visitor.entry(entry)
    }

    /// The end of a SWIFT message (`-}`), of the file, or a new block header: a statement still open has no closing balance.
    private mutating func endMessage(atLine line: Int) throws {
        if let open = statement, !open.closed { throw missingClosing(open, atLine: line) }
        statement = nil
    }

    // MARK: Values

    private func openStatement(_ tag: String, _ line: Int) throws -> OpenStatement {
        guard let open = statement else {
            throw BankStatementError(.malformed, format: .mt940, location: "line \(line)", ":\(tag): comes before any statement's :20:")
        }
        return open
    }

    /// The field's first line, trimmed.
    private func firstLine(_ tag: String, required: Bool) throws -> String {
        let end = fieldBytes.firstIndex(of: 0x0A) ?? fieldBytes.count
        guard let text = String(validating: fieldBytes[0..<end], as: UTF8.self) else {
            throw BankStatementError(.invalidValue, format: .mt940, location: "line \(fieldLine)", "the :\(tag): field is not UTF-8 text")
        }
        let trimmed = text.trimmingXMLWhitespace
        if required && trimmed.isEmpty {
            throw BankStatementError(.missingField, format: .mt940, location: "line \(fieldLine)", "the :\(tag): field is empty")
        }
        return trimmed
    }

    /// `:60F:`, `:62F:` and their intermediate forms: mark, YYMMDD, currency, amount (`C261101EUR1234,56`).
    private func balance(_ tag: String, _ line: Int) throws -> BankBalance {
        let text = try firstLine(tag, required: true)
        let bytes = Array(text.utf8)
        func refuse(_ what: String) -> BankStatementError {
            BankStatementError(.invalidValue, format: .mt940, location: "line \(line)", value: text,
                               ":\(tag): '\(text)' has \(what); the form is C or D, the date as YYMMDD, the currency, the amount with a decimal comma (C261101EUR1234,56)")
        }
        guard bytes.count > 10 else { throw refuse("too few characters") }
        let mark: CreditDebit
        switch bytes[0] {
        case UInt8(ascii: "C"): mark = .credit
        case UInt8(ascii: "D"): mark = .debit
        default: throw refuse("no C or D mark")
        }
        guard let date = bytes.withUnsafeBufferPointer({ MT940EntryLine.date(UnsafeBufferPointer(rebasing: $0[1..<7])) }) else {
            throw refuse("a bad date")
        }
        guard let currency = try? CurrencyCode(String(decoding: bytes[7..<10], as: UTF8.self)) else { throw refuse("a bad currency") }
        guard let amount = bytes.withUnsafeBufferPointer({
            parseStatementAmount(UnsafeBufferPointer(rebasing: $0[10...]), separator: UInt8(ascii: ","), currency: currency)
        }), bytes[10...].contains(UInt8(ascii: ",")) else { throw refuse("a bad amount") }
        return BankBalance(amount: amount, mark: mark, date: date)
    }

    /// `:25:` as the bank writes it, spaces removed; of `BIC/IBAN` only the IBAN, the account's name in camt.053 too.
    private static func account(_ text: String) -> String {
        let compact = text.filter { $0 != " " }
        if let slash = compact.lastIndex(of: "/") {
            let tail = compact[compact.index(after: slash)...]
            if looksLikeIBAN(tail) { return String(tail) }
        }
        return compact
    }

    static func looksLikeIBAN(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard (15...34).contains(bytes.count) else { return false }
        return bytes[0...1].allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
            && bytes[2...3].allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            && bytes[4...].allSatisfy(isAlphanumeric)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
    }

    private static func range(of needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard bytes.count >= needle.count else { return nil }
        for start in 0...(bytes.count - needle.count) where bytes[start..<(start + needle.count)].elementsEqual(needle) {
            return start..<(start + needle.count)
        }
        return nil
    }

    private func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: bytes.prefix(80), as: UTF8.self)
    }

    private func lineTooLong(_ line: Int) -> BankStatementError {
        BankStatementError(.overLimit, format: .mt940, location: "line \(line)",
                           "the line is longer than \(limits.maxTextBytes) bytes (BankStatementLimits.maxTextBytes)")
    }

    private func missingClosing(_ open: OpenStatement, atLine line: Int) -> BankStatementError {
        BankStatementError(.missingField, format: .mt940, location: "line \(line)",
                           "statement \(open.label) ends without its closing balance (:62F:)")
    }
}
