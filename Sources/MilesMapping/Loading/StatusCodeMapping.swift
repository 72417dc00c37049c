import CollectionsDomain
import Yams

/// `mappings/status-codes.yaml`: MILES's codes for contract statuses, agreement types and
/// customer kinds, and the collections values they mean, in both directions.
///
/// A MILES status code that is not listed is kept on the contract as MILES sent it
/// (`internalStatus(forMilesCode:)` is `nil`); it never stops a sync.
public struct StatusCodeMapping: Sendable {
    public let version: Int
    public let contractStatuses: [String: ContractStatus]
    public let agreementTypes: [String: AgreementType]
    public let customerKinds: [String: Customer.Kind]
    public let writeOffReasons: [String: WriteOffReason]
    /// MILES's reason codes for status changes, with what each means.
    public let statusChangeReasons: [String: String]
    /// MILES's reason codes for a credit note, with what each means.
    public let creditReasons: [String: String]
    /// MILES's reason codes for reversing a write-off, with what each means.
    public let writeOffReversalReasons: [String: String]
    /// The reason code a status change gets when whoever asks for it names none (an agent reporting
    /// legal action, a placement, a recall, closing an arrangement), by the status it moves to; each is one of
    /// `statusChangeReasons`.
    public let defaultReasons: [ContractStatus: String]
    /// MILES's note category for an agent's news, and for a payment an agent collected.
    public let agentNoteCategory: String
    public let agentPaymentNoteCategory: String
    private let milesCodeByStatus: [ContractStatus: String]
    private let milesCodeByReason: [WriteOffReason: String]
    /// MILES's letter type codes, by the letter each issues.
    public let letterTypes: [String: LetterType]
    private let milesCodeByLetter: [LetterType: String]
    /// MILES's codes for how often a payment arrangement's instalments fall due.
    private let milesCodeByFrequency: [PaymentArrangement.Frequency: String]

    /// The statuses whose default reason code the adapter needs: agents' updates (legal action),
    /// placement and recall, and closing a broken or completed payment arrangement.
    static let requiredDefaultReasons: [ContractStatus] = [.legal, .placedWithAgent, .defaulted, .inArrears, .active]

    public func internalStatus(forMilesCode code: String) -> ContractStatus? { contractStatuses[code] }

    /// The MILES code to send for a status: the first code listed for it.
    public func milesCode(for status: ContractStatus) -> String? { milesCodeByStatus[status] }

    /// The MILES code to send for a write-off reason.
    public func milesCode(for reason: WriteOffReason) -> String? { milesCodeByReason[reason] }

    /// The MILES code for an arrangement's frequency.
    public func milesCode(for frequency: PaymentArrangement.Frequency) -> String? { milesCodeByFrequency[frequency] }

    /// The MILES code for a letter type.
    public func milesCode(for letter: LetterType) -> String? { milesCodeByLetter[letter] }

    /// The reason a code from a write-off file or from MILES means, by its MILES code or its internal name.
    public func writeOffReason(forCode code: String) -> WriteOffReason? {
        writeOffReasons[code] ?? WriteOffReason(rawValue: code)
    }

    /// The sections only one job uses, by that job: a mapping that leaves the job out (contract.yaml
    /// maps not its operations) may leave its sections out too. The statuses, agreement types and
    /// customer kinds every contract sync decodes are always needed.
    static let sectionJobs: [String: MilesJob] = [
        "writeOffReasons": .outbox(.postWriteOff), "statusChangeReasons": .outbox(.updateContractStatus),
        "defaultReasons": .outbox(.updateContractStatus), "noteCategories": .outbox(.addContractNote),
        "creditReasons": .outbox(.raiseCreditNote), "writeOffReversalReasons": .outbox(.reverseWriteOff),
        "letterTypes": .outbox(.requestCustomerLetter), "arrangementFrequencies": .outbox(.createPaymentArrangement),
    ]

    /// Reads the file; `contract` says which jobs' sections must be there (nil when contract.yaml could
    /// not be read: then none is required).
    static func load(_ file: YAMLFile, contract: ContractMapping?, problems: inout [MappingProblem]) -> StatusCodeMapping? {
        guard let root = file.root, root.orderedPairs != nil else {
            problems.append(file.problem(file.root, .syntax, "expected a mapping at the top of the file"))
            return nil
        }
        let before = problems.count
        checkKeys(root, allowed: Set(["version", "contractStatuses", "agreementTypes", "customerKinds"]).union(sectionJobs.keys), file, &problems)
        // A section that may be left out is read only when it is there; one a job needs is reported missing, naming the job.
        func reads(_ section: String) -> Bool {
            if root[key: section] != nil { return true }
            // With contract.yaml unreadable (its problems reported), which jobs it maps is unknown: nothing is claimed.
            guard let job = sectionJobs[section], let contract, contract.refusal(for: job) == nil else { return false }
            problems.append(file.problem(root, .missingField, "section '\(section)' is missing: \(job.name) need it, as contract.yaml maps "
                + job.operations.map(\.name).joined(separator: ", ") + " (leave them out of contract.yaml and the section may go too)"))
            return false
        }
        let statusChangeReasons = reads("statusChangeReasons") ? describedCodes(root, "statusChangeReasons", file, &problems) : [:]
        let creditReasons = reads("creditReasons") ? describedCodes(root, "creditReasons", file, &problems) : [:]
        let reversalReasons = reads("writeOffReversalReasons") ? describedCodes(root, "writeOffReversalReasons", file, &problems) : [:]
        var defaultReasons: [ContractStatus: String] = [:]
        let defaultsNode = reads("defaultReasons") ? root[key: "defaultReasons"] : nil
        if let defaultsNode, defaultsNode.orderedPairs == nil {
            problems.append(file.problem(defaultsNode, .missingField, "section 'defaultReasons' is not a mapping"))
        }
        for (key, value) in defaultsNode?.orderedPairs ?? [] {
            guard let status = key.string.flatMap(ContractStatus.init(rawValue:)) else {
                problems.append(file.problem(key, .unknownInternalValue, "defaultReasons: '\(key.string ?? "")' is not a status; one of "
                    + ContractStatus.allCases.map(\.rawValue).joined(separator: ", ")))
                continue
            }
            guard let code = value.string, statusChangeReasons[code] != nil else {
                problems.append(file.problem(value, .invalidValue, "defaultReasons: '\(value.string ?? "")' for \(status.rawValue) is not "
                    + "one of statusChangeReasons (" + statusChangeReasons.keys.sorted().joined(separator: ", ") + ")"))
                continue
            }
            defaultReasons[status] = code
        }
        let needed = requiredDefaultReasons.filter { defaultReasons[$0] == nil }
        if let defaultsNode, defaultsNode.orderedPairs != nil, !needed.isEmpty {
            problems.append(file.problem(defaultsNode, .missingField, "defaultReasons has no reason code for "
                + needed.map(\.rawValue).joined(separator: ", ") + " (agents' updates, placement, recall and closing arrangements use them)"))
        }
        let categories = reads("noteCategories") ? root[key: "noteCategories"] : nil
        var noteCategories: [String: String] = [:]
        for (key, value) in categories?.orderedPairs ?? [] {
            guard let name = key.string, ["agentUpdate", "agentPayment"].contains(name) else {
                problems.append(file.problem(key, .unknownKey, "noteCategories: '\(key.string ?? "")' is not agentUpdate or agentPayment"))
                continue
            }
            guard let category = value.string, !category.isEmpty else {
                problems.append(file.problem(value, .invalidValue, "noteCategories: \(name) needs MILES's category code"))
                continue
            }
            noteCategories[name] = category
        }
        if categories != nil, noteCategories["agentUpdate"] == nil || noteCategories["agentPayment"] == nil {
            problems.append(file.problem(categories ?? root, .missingField, "noteCategories needs agentUpdate and agentPayment (MILES note categories)"))
        }
        let version = root[key: "version"]?.int
        if version == nil {
            problems.append(file.problem(root[key: "version"] ?? root, .invalidValue, "'version' must be a whole number"))
        }
        let statuses: [(String, ContractStatus)] = codes(root[key: "contractStatuses"], "contractStatuses", file, &problems)
        let agreements: [(String, AgreementType)] = codes(root[key: "agreementTypes"], "agreementTypes", file, &problems)
        let kinds: [(String, Customer.Kind)] = codes(root[key: "customerKinds"], "customerKinds", file, &problems)
        let reasons: [(String, WriteOffReason)] = reads("writeOffReasons") ? codes(root[key: "writeOffReasons"], "writeOffReasons", file, &problems) : []
        let letters: [(String, LetterType)] = reads("letterTypes") ? codes(root[key: "letterTypes"], "letterTypes", file, &problems) : []
        let frequencies: [(String, PaymentArrangement.Frequency)] = reads("arrangementFrequencies")
            ? codes(root[key: "arrangementFrequencies"], "arrangementFrequencies", file, &problems) : []
        let unmappedFrequencies = PaymentArrangement.Frequency.allCases.filter { frequency in !frequencies.contains { $0.1 == frequency } }
        if root[key: "arrangementFrequencies"] != nil, !unmappedFrequencies.isEmpty {
            problems.append(file.problem(root[key: "arrangementFrequencies"], .missingField,
                                         "arrangementFrequencies has no MILES code for " + unmappedFrequencies.map(\.rawValue).joined(separator: ", ")))
        }
        let unmappedLetters = LetterType.allCases.filter { letter in !letters.contains { $0.1 == letter } }
        if root[key: "letterTypes"] != nil, !unmappedLetters.isEmpty {
            problems.append(file.problem(root[key: "letterTypes"], .missingField,
                                         "letterTypes has no MILES code for " + unmappedLetters.map(\.rawValue).joined(separator: ", ")))
        }
        guard problems.count == before, let version else { return nil }
        var reverse: [ContractStatus: String] = [:]
        for (code, status) in statuses where reverse[status] == nil { reverse[status] = code }
        var reasonCodes: [WriteOffReason: String] = [:]
        for (code, reason) in reasons where reasonCodes[reason] == nil { reasonCodes[reason] = code }
        return StatusCodeMapping(
            version: version,
            contractStatuses: Dictionary(statuses, uniquingKeysWith: { first, _ in first }),
            agreementTypes: Dictionary(agreements, uniquingKeysWith: { first, _ in first }),
            customerKinds: Dictionary(kinds, uniquingKeysWith: { first, _ in first }),
            writeOffReasons: Dictionary(reasons, uniquingKeysWith: { first, _ in first }),
            statusChangeReasons: statusChangeReasons, creditReasons: creditReasons, writeOffReversalReasons: reversalReasons,
            defaultReasons: defaultReasons,
            agentNoteCategory: noteCategories["agentUpdate"] ?? "", agentPaymentNoteCategory: noteCategories["agentPayment"] ?? "",
            milesCodeByStatus: reverse, milesCodeByReason: reasonCodes,
            letterTypes: Dictionary(letters, uniquingKeysWith: { first, _ in first }),
            milesCodeByLetter: Dictionary(letters.map { ($0.1, $0.0) }, uniquingKeysWith: { first, _ in first }),
            milesCodeByFrequency: Dictionary(frequencies.map { ($0.1, $0.0) }, uniquingKeysWith: { first, _ in first }))
    }

    /// Reads a section of `MILES code: what it means` pairs.
    private static func describedCodes(_ root: Node, _ section: String, _ file: YAMLFile, _ problems: inout [MappingProblem]) -> [String: String] {
        guard let pairs = root[key: section]?.orderedPairs else {
            problems.append(file.problem(root, .missingField, "section '\(section)' is missing or not a mapping"))
            return [:]
        }
        var codes: [String: String] = [:]
        for (key, value) in pairs {
            guard let code = key.string, !code.isEmpty, let meaning = value.string, !meaning.isEmpty else {
                problems.append(file.problem(key, .unknownInternalValue, "\(section): '\(key.string ?? "")' needs a description"))
                continue
            }
            codes[code] = meaning
        }
        return codes
    }

    /// Reads `MILES code: internal value` pairs, reporting duplicate codes and values the model does not know.
    private static func codes<Value: RawRepresentable & CaseIterable>(
        _ node: Node?, _ section: String, _ file: YAMLFile, _ problems: inout [MappingProblem]
    ) -> [(String, Value)] where Value.RawValue == String {
        guard let pairs = node?.orderedPairs else {
            problems.append(file.problem(node ?? file.root, .missingField, "section '\(section)' is missing or not a mapping"))
            return []
        }
        var seen: Set<String> = []
        var result: [(String, Value)] = []
        for (key, value) in pairs {
            guard let code = key.string, !code.isEmpty else {
                problems.append(file.problem(key, .invalidValue, "a MILES code must be a non-empty text"))
                continue
            }
            guard seen.insert(code).inserted else {
                problems.append(file.problem(key, .duplicateCode, "MILES code '\(code)' is listed twice in '\(section)'"))
                continue
            }
            guard let name = value.string, !name.isEmpty else {
                problems.append(file.problem(key, .unknownInternalValue, "MILES code '\(code)' in '\(section)' has no internal value"))
                continue
            }
            guard let internalValue = Value(rawValue: name) else {
                problems.append(file.problem(value, .unknownInternalValue,
                    "'\(name)' (for MILES code '\(code)') is not one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))"))
                continue
            }
            result.append((code, internalValue))
        }
        return result
    }
}
