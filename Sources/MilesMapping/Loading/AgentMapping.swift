import CollectionsDomain
import Foundation
import Yams

/// One external agent, from `mappings/third-party/NAME.yaml`: who they are and the columns of the
/// placement file they take.
public struct AgentMapping: Sendable {
    /// The values a placement file column can carry.
    public enum PlacementField: String, CaseIterable, Sendable {
        case contractNumber, partnerId, customerName, addressLine1, addressLine2, town, postcode, country, phone, email
        case balanceMinorUnits, currency, delinquencyDate, defaultDate, lastPaymentDate, statuteBarredDate
        case vulnerable, holds, assignmentNoticeSent
    }

    public struct Column: Sendable, Equatable {
        public var header: String
        public var field: PlacementField
    }

    /// What an agent's update can say; each agent code maps onto one of these.
    public enum UpdateKind: Sendable, Equatable {
        case paymentCollected
        case status(AgentStatus)
        case traceResult
        case vehicleRecovered
        case soldAtAuction
        case note

        init?(name: String) {
            switch name {
            case "paymentCollected": self = .paymentCollected
            case "traceResult": self = .traceResult
            case "vehicleRecovered": self = .vehicleRecovered
            case "soldAtAuction": self = .soldAtAuction
            case "note": self = .note
            default:
                guard let status = AgentStatus(rawValue: name) else { return nil }
                self = .status(status)
            }
        }

        static let names = ["paymentCollected", "traceResult", "vehicleRecovered", "soldAtAuction", "note"]
            + AgentStatus.allCases.map(\.rawValue)
    }

    /// The values an update row can carry, by where the agent puts them.
    public enum UpdateField: String, CaseIterable, Sendable {
        case contractNumber, code, date, amount, reference, note, addressLine1, addressLine2, town, postcode, phone, email
        case location, proceeds
    }

    /// The character encodings an agent's CSV may come in (XML declares its own).
    public enum TextEncoding: String, CaseIterable, Sendable {
        case utf8 = "utf-8"
        case latin1 = "iso-8859-1"
        /// What spreadsheet exports on Windows produce.
        case windows1252 = "windows-1252"
    }

    /// How large an agent's delivery may be (`updates.limits`): over a limit, a delivery (file size,
    /// rows) is refused before anything of it is stored, and a row (field length, note length) is
    /// rejected with the limit named. The defaults suit a day's work from one agency.
    public struct Limits: Sendable, Equatable {
        /// The largest delivery, in bytes (64 MiB).
        public var maxFileBytes = 64 << 20
        /// The longest field, in bytes (16 KiB: a 4,000-character note in any script fits); longer
        /// values are not kept in memory while the file is read.
        public var maxFieldBytes = 16 << 10
        /// The most rows (or XML records) in one delivery (500,000).
        public var maxRows = 500_000
        /// The longest note, in characters: MILES's own limit for AddContractNote, and the most it may be set to.
        public var maxNoteLength = ContractNote.maxTextLength

        public init() {}

        static let keys: Set<String> = ["maxFileBytes", "maxFieldBytes", "maxRows", "maxNoteLength"]

        static func load(_ node: Node?, _ file: YAMLFile, _ problems: inout [MappingProblem]) -> Limits {
            var limits = Limits()
            guard let node else { return limits }
            checkKeys(node, allowed: keys, file, &problems)
            func read(_ key: String, at most: Int, into value: inout Int) {
                guard let entry = node[key: key] else { return }
                guard let number = entry.int, number > 0, number <= most else {
                    problems.append(file.problem(entry, .invalidValue, "updates.limits.\(key) must be a whole number from 1 to \(most)"))
                    return
                }
                value = number
            }
            read("maxFileBytes", at: 1 << 40, into: &limits.maxFileBytes)
            read("maxFieldBytes", at: 1 << 30, into: &limits.maxFieldBytes)
            read("maxRows", at: 100_000_000, into: &limits.maxRows)
            read("maxNoteLength", at: ContractNote.maxTextLength, into: &limits.maxNoteLength)
            return limits
        }
    }

    /// How the agent sends updates: CSV with a header (columns by name) or XML (elements inside each record).
    public struct UpdateFormat: Sendable {
        public enum Syntax: Sendable, Equatable {
            case csv(delimiter: UnicodeScalar)
            case xml(recordElement: String)
        }

        public var syntax: Syntax
        public var encoding: TextEncoding
        /// `yyyy-MM-dd` or `dd/MM/yyyy`.
        public var dateFormat: String
        /// Update field to CSV column header or XML element name.
        public var fields: [UpdateField: String]
        /// Agent code to what it means.
        public var codes: [String: UpdateKind]
        /// The currency of the amounts in the file.
        public var currency: CurrencyCode
        public var limits: Limits
    }

    public var agent: String
    public var name: String
    public var kind: String
    public var placementColumns: [Column]
    public var updates: UpdateFormat?

    static func load(_ file: YAMLFile, problems: inout [MappingProblem]) -> AgentMapping? {
        guard let root = file.root, root.orderedPairs != nil else {
            problems.append(file.problem(file.root, .syntax, "expected a mapping at the top of the file"))
            return nil
        }
        let before = problems.count
        checkKeys(root, allowed: ["agent", "name", "kind", "placementFile", "updates"], file, &problems)
        let agent = requiredString(root, "agent", file, &problems)
        let name = requiredString(root, "name", file, &problems)
        let kind = requiredString(root, "kind", file, &problems)
        checkKeys(root[key: "placementFile"], allowed: ["columns"], file, &problems)
        var columns: [Column] = []
        let nodes: [Node]
        if case let .sequence(list)? = root[key: "placementFile"]?[key: "columns"] {
            nodes = Array(list)
        } else if root[key: "placementFile"] != nil {
            problems.append(file.problem(root[key: "placementFile"], .missingField, "placementFile.columns must be a list of columns"))
            nodes = []
        } else {
            nodes = []
        }
        for node in nodes {
            checkKeys(node, allowed: ["header", "field"], file, &problems)
            guard let header = requiredString(node, "header", file, &problems),
                  let fieldName = requiredString(node, "field", file, &problems) else { continue }
            guard let field = PlacementField(rawValue: fieldName) else {
                problems.append(file.problem(node[key: "field"], .unknownModelField,
                    "unknown placement field '\(fieldName)'; expected one of \(PlacementField.allCases.map(\.rawValue).joined(separator: ", "))"))
                continue
            }
            if columns.contains(where: { $0.header == header }) {
                problems.append(file.problem(node[key: "header"], .duplicateCode, "column header '\(header)' appears twice"))
                continue
            }
            columns.append(Column(header: header, field: field))
        }
        if root[key: "placementFile"] != nil, !columns.contains(where: { $0.field == .contractNumber }) {
            problems.append(file.problem(root[key: "placementFile"], .missingField, "the placement file needs a contractNumber column"))
        }
        let updates = root[key: "updates"].flatMap { loadUpdates($0, file, &problems) }
        guard problems.count == before, let agent, let name, let kind else { return nil }
        return AgentMapping(agent: agent, name: name, kind: kind, placementColumns: columns, updates: updates)
    }

    private static func loadUpdates(_ node: Node, _ file: YAMLFile, _ problems: inout [MappingProblem]) -> UpdateFormat? {
        checkKeys(node, allowed: ["format", "delimiter", "encoding", "record", "dateFormat", "fields", "codes", "currency", "limits"], file, &problems)
        guard let encoding = TextEncoding(rawValue: node[key: "encoding"]?.string?.lowercased() ?? "utf-8") else {
            problems.append(file.problem(node[key: "encoding"], .invalidValue,
                                         "encoding must be one of \(TextEncoding.allCases.map(\.rawValue).joined(separator: ", "))"))
            return nil
        }
        let currency: CurrencyCode
        do { currency = try CurrencyCode(node[key: "currency"]?.string ?? "GBP") } catch {
            problems.append(file.problem(node[key: "currency"], .invalidValue, "currency must be an ISO 4217 code such as GBP"))
            return nil
        }
        let syntax: UpdateFormat.Syntax
        switch node[key: "format"]?.string {
        case "csv":
            let delimiter = node[key: "delimiter"]?.string ?? ","
            guard delimiter.unicodeScalars.count == 1, let scalar = delimiter.unicodeScalars.first else {
                problems.append(file.problem(node[key: "delimiter"], .invalidValue, "delimiter must be one character"))
                return nil
            }
            syntax = .csv(delimiter: scalar)
        case "xml":
            if node[key: "encoding"] != nil {
                problems.append(file.problem(node[key: "encoding"], .invalidValue, "an XML file declares its own encoding in its prolog"))
                return nil
            }
            guard let record = requiredString(node, "record", file, &problems) else { return nil }
            syntax = .xml(recordElement: record)
        default:
            problems.append(file.problem(node[key: "format"] ?? node, .invalidValue, "updates.format must be csv or xml"))
            return nil
        }
        let dateFormat = node[key: "dateFormat"]?.string ?? "yyyy-MM-dd"
        guard ["yyyy-MM-dd", "dd/MM/yyyy"].contains(dateFormat) else {
            problems.append(file.problem(node[key: "dateFormat"], .invalidValue, "dateFormat must be yyyy-MM-dd or dd/MM/yyyy"))
            return nil
        }
        var fields: [UpdateField: String] = [:]
        for (key, value) in node[key: "fields"]?.orderedPairs ?? [] {
            guard let name = key.string, let field = UpdateField(rawValue: name) else {
                problems.append(file.problem(key, .unknownModelField,
                    "unknown update field '\(key.string ?? "")'; expected one of \(UpdateField.allCases.map(\.rawValue).joined(separator: ", "))"))
                continue
            }
            guard let source = value.string, !source.isEmpty else {
                problems.append(file.problem(value, .invalidValue, "update field '\(name)' needs a column or element name"))
                continue
            }
            fields[field] = source
        }
        for required in [UpdateField.contractNumber, .code] where fields[required] == nil {
            problems.append(file.problem(node[key: "fields"] ?? node, .missingField, "update field '\(required.rawValue)' is not mapped"))
        }
        var codes: [String: UpdateKind] = [:]
        for (key, value) in node[key: "codes"]?.orderedPairs ?? [] {
            guard let code = key.string, !code.isEmpty, let meaning = value.string, let kind = UpdateKind(name: meaning) else {
                problems.append(file.problem(value, .unknownInternalValue,
                    "code '\(key.string ?? "")' maps to '\(value.string ?? "")', which is not one of \(UpdateKind.names.joined(separator: ", "))"))
                continue
            }
            codes[code] = kind
        }
        if codes.isEmpty { problems.append(file.problem(node, .missingField, "updates.codes lists no codes")) }
        let limits = Limits.load(node[key: "limits"], file, &problems)
        return UpdateFormat(syntax: syntax, encoding: encoding, dateFormat: dateFormat, fields: fields, codes: codes, currency: currency,
                            limits: limits)
    }

    /// Every `*.yaml` in `directory/third-party`, by agent name.
    static func loadAll(directory: String, displayDirectory: String, problems: inout [MappingProblem]) -> [String: AgentMapping] {
        let folder = directory + "/third-party"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        var agents: [String: AgentMapping] = [:]
        for name in files {
            guard let file = YAMLFile.load(path: folder + "/" + name, displayName: displayDirectory + "/third-party/" + name, problems: &problems),
                  let agent = load(file, problems: &problems) else { continue }
            if agents[agent.agent] != nil {
                problems.append(file.problem(file.root?[key: "agent"], .duplicateCode, "agent '\(agent.agent)' is defined by two files"))
            }
            agents[agent.agent] = agent
        }
        return agents
    }
}
