import CollectionsDomain
import Foundation
import MilesMapping
import Testing

/// A copy of the shipped mappings with `original` replaced by `replacement` in `file` (below `bank/`);
/// returns the folder and the line the replacement starts on.
private func bankCopy(_ file: String, replacing original: String, with replacement: String) throws -> (String, Int) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mappings-bank-\(UUID().uuidString)").path
    try FileManager.default.copyItem(atPath: mappingsDirectory, toPath: directory)
    let path = directory + "/bank/" + file
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let range = try #require(text.range(of: original), "'\(original)' not in \(file)")
    try text.replacingCharacters(in: range, with: replacement).write(toFile: path, atomically: true, encoding: .utf8)
    return (directory, text[..<range.lowerBound].filter { $0 == "\n" }.count + 1)
}

private func problems(in directory: String) -> [MappingProblem] {
    defer { try? FileManager.default.removeItem(atPath: directory) }
    do {
        _ = try MappingSet.load(directory: directory)
        return []
    } catch {
        return error.problems
    }
}

@Suite("Bank matching rules in mappings/bank/*.yaml (issue 17)")
struct BankRulesTests {
    @Test("the shipped files configure the GBP and the EUR account with their banks' patterns; a third account is not configured")
    func shippedBankFiles() throws {
        let rules = try MappingSet.load(directory: mappingsDirectory).bank
        #expect(rules.accounts.keys.sorted() == ["DE89370400440532013000", "GB33BUKB20201555555555"])
        let northern = try #require(rules.account("GB33 BUKB 2020 1555 5555 55"))
        #expect(northern.bankName == "Northern Example Bank")
        #expect(northern.currency == .gbp)
        #expect((northern.allocateAt, northern.margin, northern.nameSimilarity, northern.transitDays) == (80, 20, 85, 10))
        #expect(northern.weights == BankMatchWeights(contractNumber: 70, invoiceNumber: 70, payerAccount: 50, amount: 20, name: 20,
                                                     paymentInTransit: 30))
        let entry = BankEntry(position: 1, bankReference: nil, bookingDate: LocalDate.parse("2026-12-01")!, valueDate: LocalDate.parse("2026-12-01")!,
                              amount: Money(minorUnits: 100, currency: .gbp), mark: .credit, isReversal: false, returnReason: nil,
                              remittance: "lease c 0000 0008 inv-00000008-003", counterpartyName: nil, counterpartyAccount: nil, endToEndId: nil)
        #expect(northern.lookup(for: entry).contractNumbers == ["C00000008"])
        #expect(northern.lookup(for: entry).invoiceNumbers == ["INV-00000008-003"])
        #expect(rules.account("DE89370400440532013000")?.currency == .eur)
        #expect(rules.account("DE89370400440532013000")?.returnReasons == ["901": "AC04", "902": "AC06"])
        #expect(rules.account("DE89370400440532013000")?.milesReturnReason("903") == "903")
        #expect(northern.returnReasons.isEmpty)
        #expect(rules.account("FR1420041010050500013M02606") == nil)
    }

    @Test("no bank folder: no account is configured, and the other mappings still load")
    func noBankFolder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mappings-nobank-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: mappingsDirectory, toPath: directory)
        try FileManager.default.removeItem(atPath: directory + "/bank")
        #expect(try MappingSet.load(directory: directory).bank.accounts.isEmpty)
    }

    @Test("a pattern the scanner cannot read is reported at its line with the key, the value and why")
    func badPattern() throws {
        let (directory, line) = try bankCopy("northern-example-bank.yaml", replacing: #"    - pattern: 'C\d{8}'"#, with: #"    - pattern: 'C(\d{8})'"#)
        let found = problems(in: directory)
        #expect(found.count == 1)
        #expect(found.first?.file.hasSuffix("/bank/northern-example-bank.yaml") == true)
        #expect(found.first?.line == line)
        #expect(found.first?.kind == .invalidValue)
        #expect(found.first?.message == #"references.contract[0].pattern 'C(\d{8})' is not a pattern this adapter reads: expected no groups or "#
                + "alternatives ('(' at 1): list several patterns instead")
    }

    @Test("a return reason MILES's schema cannot take (over 32 characters, or with spaces) is reported at its line with the bank's code")
    func badReturnReason() throws {
        let (directory, line) = try bankCopy("example-eu-bank.yaml", replacing: #"  "902": AC06"#, with: #"  "902": account blocked"#)
        let found = problems(in: directory)
        #expect(found.count == 1)
        #expect(found.first?.line == line && found.first?.kind == .invalidValue)
        #expect(found.first?.message == "returnReasons.902 'account blocked' must be the code MILES is sent: 1 to 32 characters, no spaces")
    }

    @Test("an unknown key is reported at its line, naming the key and the keys allowed")
    func unknownKey() throws {
        let (directory, line) = try bankCopy("example-eu-bank.yaml", replacing: "margin: 20", with: "marjin: 20")
        let found = problems(in: directory)
        #expect(found.contains { $0.kind == .unknownKey && $0.line == line && $0.file.hasSuffix("/bank/example-eu-bank.yaml")
                                 && $0.message.hasPrefix("unknown key 'marjin'; expected one of accounts, allocateAt, bank, margin") })
        #expect(found.contains { $0.kind == .missingField && $0.message == "'margin' is missing" })
    }

    @Test("a file without an account, an IBAN that is not one, or a currency that is not one, is refused with the value")
    func accounts() throws {
        let (none, _) = try bankCopy("northern-example-bank.yaml", replacing: "  - iban: GB33BUKB20201555555555\n    currency: GBP\n", with: "")
        #expect(problems(in: none).contains { $0.kind == .missingField && $0.message == "'accounts' must list at least one account (iban and currency)" })
        let (typo, typoLine) = try bankCopy("northern-example-bank.yaml", replacing: "GB33BUKB20201555555555", with: "GB33BUKB20201555555556")
        #expect(problems(in: typo) == [MappingProblem(file: typo + "/bank/northern-example-bank.yaml", line: typoLine, kind: .invalidValue,
                                                      message: "accounts[0].iban 'GB33BUKB20201555555556' is not an IBAN (its check digits do not add up)")])
        let (money, moneyLine) = try bankCopy("example-eu-bank.yaml", replacing: "currency: EUR", with: "currency: Euro")
        #expect(problems(in: money).map(\.description)
                == ["\(money)/bank/example-eu-bank.yaml:\(moneyLine): accounts[0].currency 'Euro' is not an ISO 4217 currency code"])
    }

    @Test("the same IBAN in two files is reported in the second, naming the first")
    func duplicateAccount() throws {
        let (directory, line) = try bankCopy("northern-example-bank.yaml", replacing: "GB33BUKB20201555555555", with: "de89 3704 0044 0532 0130 00")
        let found = problems(in: directory)
        #expect(found == [MappingProblem(file: directory + "/bank/northern-example-bank.yaml", line: line, kind: .duplicateCode,
                                         message: "IBAN DE89370400440532013000 is already configured in \(directory)/bank/example-eu-bank.yaml")])
    }

    @Test("weights and thresholds out of range are reported with the key and the range")
    func ranges() throws {
        let (weight, _) = try bankCopy("northern-example-bank.yaml", replacing: "contractNumber: 70", with: "contractNumber: 120")
        #expect(problems(in: weight).map(\.message) == ["weights.contractNumber '120' must be a whole number from 0 to 100"])
        let (threshold, _) = try bankCopy("northern-example-bank.yaml", replacing: "allocateAt: 80", with: "allocateAt: 0")
        #expect(problems(in: threshold).map(\.message) == ["allocateAt '0' must be a whole number from 1 to 100"])
        let (flag, _) = try bankCopy("northern-example-bank.yaml", replacing: "      ignoreSpaces: true", with: "      ignoreSpaces: sometimes")
        #expect(problems(in: flag).map(\.message) == ["references.contract[0].ignoreSpaces 'sometimes' must be true or false"])
    }
}
