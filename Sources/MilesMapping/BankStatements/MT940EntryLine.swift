import CollectionsDomain

/// The first line of an MT940 `:61:` field: value date YYMMDD, optional entry date MMDD, mark
/// (C, D, RC, RD), optional funds code, amount with a decimal comma, transaction type (N, F or S
/// and three characters), the customer's reference and, after `//`, the bank's.
/// `:61:2611031103CR1250,00NTRFNONREF//BANK-REF-1`
struct MT940EntryLine {
    let line: Int
    let currency: CurrencyCode

    func entry(_ bytes: UnsafeBufferPointer<UInt8>, position: Int) throws -> BankEntry {
        func refuse(_ what: String) -> BankStatementError {
            let text = String(decoding: bytes, as: UTF8.self)
            return BankStatementError(.invalidValue, format: .mt940, location: "line \(line)", value: text,
                               ":61: '\(text)' has \(what); the form is YYMMDD[MMDD], C/D/RC/RD, the amount with a decimal comma, "
                               + "the transaction type, the references (2611031103C1250,00NTRFNONREF//BANKREF)")
        }
        var index = 0
        guard bytes.count >= 6, let valueDate = Self.date(UnsafeBufferPointer(rebasing: bytes[0..<6])) else {
            throw refuse("a bad value date")
        }
        index = 6
        var bookingDate = valueDate
        if bytes.count >= index + 4, bytes[index..<(index + 4)].allSatisfy(Self.isDigit) {
            guard let entryDate = Self.entryDate(UnsafeBufferPointer(rebasing: bytes[index..<(index + 4)]), near: valueDate) else {
                throw refuse("a bad entry date")
            }
            bookingDate = entryDate
            index += 4
        }
        var isReversal = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "R") {
            isReversal = true
            index += 1
        }
        guard index < bytes.count else { throw refuse("no debit/credit mark") }
        // RC reverses a credit, so it is booked as a debit; RD the other way round (SWIFT's field 61 rules).
        let mark: CreditDebit
        switch bytes[index] {
        case UInt8(ascii: "C"): mark = isReversal ? .debit : .credit
        case UInt8(ascii: "D"): mark = isReversal ? .credit : .debit
        default: throw refuse("no debit/credit mark")
        }
        index += 1
        // The funds code: the third letter of the currency code, when the bank gives it.
        if index < bytes.count, bytes[index] >= UInt8(ascii: "A"), bytes[index] <= UInt8(ascii: "Z") { index += 1 }
        let amountStart = index
        while index < bytes.count, Self.isDigit(bytes[index]) || bytes[index] == UInt8(ascii: ",") { index += 1 }
        let amountBytes = UnsafeBufferPointer(rebasing: bytes[amountStart..<index])
        guard amountBytes.contains(UInt8(ascii: ",")),
              let amount = parseStatementAmount(amountBytes, separator: UInt8(ascii: ","), currency: currency) else {
            throw refuse("a bad amount")
        }
        guard bytes.count >= index + 4, bytes[index] == UInt8(ascii: "N") || bytes[index] == UInt8(ascii: "F") || bytes[index] == UInt8(ascii: "S") else {
            throw refuse("a bad transaction type")
        }
        index += 4
        var bankReference: String?
        while index + 1 < bytes.count, !(bytes[index] == UInt8(ascii: "/") && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
        if index + 1 < bytes.count {
            let reference = String(decoding: UnsafeBufferPointer(rebasing: bytes[(index + 2)...]), as: UTF8.self).trimmed(of: " ")
            // NONREF says there is no reference; kept, it would make unrelated entries one.
            if !reference.isEmpty, reference != "NONREF" { bankReference = reference }
        }
        return BankEntry(position: position, bankReference: bankReference, bookingDate: bookingDate, valueDate: valueDate,
                         amount: amount, mark: mark, isReversal: isReversal, returnReason: nil, remittance: "",
                         counterpartyName: nil, counterpartyAccount: nil, endToEndId: nil)
    }

    /// YYMMDD; years 80 to 99 are the 1900s, the rest the 2000s.
    static func date(_ bytes: UnsafeBufferPointer<UInt8>) -> LocalDate? {
        guard bytes.count == 6, bytes.allSatisfy(isDigit) else { return nil }
        let year = number(bytes, 0), month = number(bytes, 2), day = number(bytes, 4)
        return LocalDate(year: year >= 80 ? 1900 + year : 2000 + year, month: month, day: day)
    }

    /// MMDD in the year that puts it nearest the value date: a 31 December booking of a 2 January
    /// value is in the year before, a 2 January booking of a 31 December value in the year after.
    static func entryDate(_ bytes: UnsafeBufferPointer<UInt8>, near valueDate: LocalDate) -> LocalDate? {
        let month = number(bytes, 0), day = number(bytes, 2)
        let year = valueDate.components.year
        var nearest: LocalDate?
        for candidate in year - 1...year + 1 {
            guard let date = LocalDate(year: candidate, month: month, day: day) else { continue }
            if nearest.map({ abs(date.days(since: valueDate)) < abs($0.days(since: valueDate)) }) ?? true { nearest = date }
        }
        return nearest
    }

    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        Int(bytes[start] - UInt8(ascii: "0")) * 10 + Int(bytes[start + 1] - UInt8(ascii: "0"))
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

extension StringProtocol {
    /// Without leading and trailing `character`s.
    func trimmed(of character: Character) -> String {
        guard let first = firstIndex(where: { $0 != character }), let last = lastIndex(where: { $0 != character }) else { return "" }
        return String(self[first...last])
    }
}
