import CollectionsDomain
import Foundation
import Yams

/// Reads `mappings/bank/*.yaml`, one file per bank, into `BankRules`, reporting every problem at its
/// line with the key and the value: an IBAN that is not one, a reference pattern the scanner cannot
/// compile, a weight out of range, an account configured twice (in one file or across two).
enum BankRulesLoader {
    static let keys: Set<String> = ["bank", "accounts", "references", "weights", "allocateAt", "margin", "nameSimilarity", "transitDays", "returnReasons"]
    static let weightKeys: Set<String> = ["contractNumber", "invoiceNumber", "payerAccount", "amount", "name", "paymentInTransit"]

    /// Every `*.yaml` in `directory/bank`; no folder means no bank account is configured.
    static func loadAll(directory: String, displayDirectory: String, problems: inout [MappingProblem]) -> BankRules {
        let folder = directory + "/bank"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else { return BankRules() }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        var accounts: [String: BankAccountRules] = [:]
        var configuredIn: [String: String] = [:]
        for name in files {
            guard let file = YAMLFile.load(path: folder + "/" + name, displayName: displayDirectory + "/bank/" + name, problems: &problems),
                  let loaded = load(file, problems: &problems) else { continue }
            for (account, node) in loaded {
                if let earlier = configuredIn[account.iban] {
                    problems.append(file.problem(node, .duplicateCode, "IBAN \(account.iban) is already configured in \(earlier)"))
                    continue
                }
                configuredIn[account.iban] = file.displayName
                accounts[account.iban] = account
            }
        }
        return BankRules(accounts: accounts)
    }

    /// One bank's file: its accounts, each with the file's rules, and the node of each account's IBAN.
    static func load(_ file: YAMLFile, problems: inout [MappingProblem]) -> [(BankAccountRules, Node)]? {
        guard let root = file.root, root.orderedPairs != nil else {
            problems.append(file.problem(file.root, .syntax, "expected a mapping at the top of the file"))
            return nil
        }
        let before = problems.count
        checkKeys(root, allowed: keys, file, &problems)
        let bank = requiredString(root, "bank", file, &problems)
        let accounts = loadAccounts(root, file, &problems)
        let contractPatterns = loadPatterns(root[key: "references"], "contract", file, &problems)
        let invoicePatterns = loadPatterns(root[key: "references"], "invoice", file, &problems)
        if let references = root[key: "references"] {
            checkKeys(references, allowed: ["contract", "invoice"], file, &problems)
            if contractPatterns.isEmpty, invoicePatterns.isEmpty, problems.count == before {
                problems.append(file.problem(references, .missingField, "references lists no contract or invoice pattern"))
            }
        } else {
            problems.append(file.problem(root, .missingField, "'references' is missing: the contract and invoice patterns of this bank"))
        }
        let weights = loadWeights(root[key: "weights"], root, file, &problems)
        let allocateAt = number(root, "allocateAt", in: 1...100, file, &problems)
        let margin = number(root, "margin", in: 0...100, file, &problems)
        let nameSimilarity = number(root, "nameSimilarity", in: 1...100, file, &problems)
        let transitDays = number(root, "transitDays", in: 0...90, file, &problems)
        let returnReasons = loadReturnReasons(root[key: "returnReasons"], file, &problems)
        guard problems.count == before, let bank, let weights, let allocateAt, let margin, let nameSimilarity, let transitDays else { return nil }
        return accounts.map { iban, currency, node in
            (BankAccountRules(iban: iban, currency: currency, bankName: bank, contractPatterns: contractPatterns, invoicePatterns: invoicePatterns,
                              weights: weights, allocateAt: allocateAt, margin: margin, nameSimilarity: nameSimilarity, transitDays: transitDays,
                              returnReasons: returnReasons),
             node)
        }
    }

    private static func loadAccounts(_ root: Node, _ file: YAMLFile, _ problems: inout [MappingProblem]) -> [(String, CurrencyCode, Node)] {
        guard case let .sequence(list)? = root[key: "accounts"], !list.isEmpty else {
            problems.append(file.problem(root[key: "accounts"] ?? root, .missingField,
                                         "'accounts' must list at least one account (iban and currency)"))
            return []
        }
        var accounts: [(String, CurrencyCode, Node)] = []
        for (index, node) in list.enumerated() {
            let key = "accounts[\(index)]"
            guard node.orderedPairs != nil else {
                problems.append(file.problem(node, .invalidValue, "\(key) must be a mapping with iban and currency"))
                continue
            }
            checkKeys(node, allowed: ["iban", "currency"], file, &problems)
            guard let iban = requiredString(node, "iban", file, &problems), let code = requiredString(node, "currency", file, &problems) else { continue }
            guard BankAccountRules.isValidIBAN(iban) else {
                problems.append(file.problem(node[key: "iban"], .invalidValue, "\(key).iban '\(iban)' is not an IBAN (its check digits do not add up)"))
                continue
            }
            guard let currency = try? CurrencyCode(code) else {
                problems.append(file.problem(node[key: "currency"], .invalidValue, "\(key).currency '\(code)' is not an ISO 4217 currency code"))
                continue
            }
            accounts.append((BankAccountRules.normalisedIBAN(iban), currency, node[key: "iban"] ?? node))
        }
        return accounts
    }

    private static func loadPatterns(_ references: Node?, _ kind: String, _ file: YAMLFile, _ problems: inout [MappingProblem]) -> [ReferencePattern] {
        guard let node = references?[key: kind] else { return [] }
        guard case let .sequence(list) = node else {
            problems.append(file.problem(node, .invalidValue, "references.\(kind) must be a list of patterns"))
            return []
        }
        var patterns: [ReferencePattern] = []
        for (index, entry) in list.enumerated() {
            let key = "references.\(kind)[\(index)]"
            checkKeys(entry, allowed: ["pattern", "ignoreCase", "ignoreSpaces"], file, &problems)
            guard let source = requiredString(entry, "pattern", file, &problems) else { continue }
            var flags: [Bool] = []
            for flag in ["ignoreCase", "ignoreSpaces"] {
                guard let value = entry[key: flag] else { flags.append(false); continue }
                guard let bool = value.bool else {
                    problems.append(file.problem(value, .invalidValue, "\(key).\(flag) '\(value.string ?? "")' must be true or false"))
                    flags.append(false)
                    continue
                }
                flags.append(bool)
            }
            do {
                patterns.append(try ReferencePattern(source, ignoreCase: flags[0], ignoreSpaces: flags[1]))
            } catch {
                let why = if case let .invalidValue(_, _, expected) = error { expected } else { error.description }
                problems.append(file.problem(entry[key: "pattern"], .invalidValue, "\(key).pattern '\(source)' is not a pattern this adapter reads: expected \(why)"))
            }
        }
        return patterns
    }

    /// The bank's return reason codes and the code MILES is sent for each: texts, the MILES code as
    /// its schema's `Code` allows (1 to 32 characters). Optional: without it, codes go as given.
    private static func loadReturnReasons(_ node: Node?, _ file: YAMLFile, _ problems: inout [MappingProblem]) -> [String: String] {
        guard let node else { return [:] }
        guard let pairs = node.orderedPairs else {
            problems.append(file.problem(node, .invalidValue, "'returnReasons' must be a mapping of the bank's code to the code MILES is sent"))
            return [:]
        }
        var reasons: [String: String] = [:]
        for (key, value) in pairs {
            guard let code = key.string, !code.isEmpty else {
                problems.append(file.problem(key, .invalidValue, "returnReasons: a bank's code must be a non-empty text"))
                continue
            }
            guard let miles = value.string, (1...32).contains(miles.count), !miles.contains(where: \.isWhitespace) else {
                problems.append(file.problem(value, .invalidValue,
                                             "returnReasons.\(code) '\(value.string ?? "")' must be the code MILES is sent: 1 to 32 characters, no spaces"))
                continue
            }
            reasons[code] = miles
        }
        return reasons
    }

    private static func loadWeights(_ node: Node?, _ root: Node, _ file: YAMLFile, _ problems: inout [MappingProblem]) -> BankMatchWeights? {
        guard let node, node.orderedPairs != nil else {
            problems.append(file.problem(node ?? root, .missingField, "'weights' must be a mapping of rule to weight (0 to 100)"))
            return nil
        }
        checkKeys(node, allowed: weightKeys, file, &problems)
        func weight(_ key: String) -> Int {
            guard node[key: key] != nil else { return 0 }
            return number(node, key, in: 0...100, file, &problems, path: "weights.") ?? 0
        }
        return BankMatchWeights(contractNumber: weight("contractNumber"), invoiceNumber: weight("invoiceNumber"), payerAccount: weight("payerAccount"),
                                amount: weight("amount"), name: weight("name"), paymentInTransit: weight("paymentInTransit"))
    }

    private static func number(_ node: Node, _ key: String, in range: ClosedRange<Int>, _ file: YAMLFile, _ problems: inout [MappingProblem],
                               path: String = "") -> Int? {
        guard let value = node[key: key] else {
            problems.append(file.problem(node, .missingField, "'\(path)\(key)' is missing"))
            return nil
        }
        guard let number = value.int, range.contains(number) else {
            problems.append(file.problem(value, .invalidValue,
                                         "\(path)\(key) '\(value.string ?? "")' must be a whole number from \(range.lowerBound) to \(range.upperBound)"))
            return nil
        }
        return number
    }
}
