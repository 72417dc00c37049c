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

    public var agent: String
    public var name: String
    public var kind: String
    public var placementColumns: [Column]

    static func load(_ file: YAMLFile, problems: inout [MappingProblem]) -> AgentMapping? {
        guard let root = file.root, root.orderedPairs != nil else {
            problems.append(file.problem(file.root, .syntax, "expected a mapping at the top of the file"))
            return nil
        }
        let before = problems.count
        checkKeys(root, allowed: ["agent", "name", "kind", "placementFile"], file, &problems)
        let agent = requiredString(root, "agent", file, &problems)
        let name = requiredString(root, "name", file, &problems)
        let kind = requiredString(root, "kind", file, &problems)
        checkKeys(root[key: "placementFile"], allowed: ["columns"], file, &problems)
        var columns: [Column] = []
        guard case let .sequence(nodes)? = root[key: "placementFile"]?[key: "columns"] else {
            problems.append(file.problem(root[key: "placementFile"] ?? root, .missingField, "placementFile.columns must be a list of columns"))
            return nil
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
        if !columns.contains(where: { $0.field == .contractNumber }) {
            problems.append(file.problem(root[key: "placementFile"], .missingField, "the placement file needs a contractNumber column"))
        }
        guard problems.count == before, let agent, let name, let kind else { return nil }
        return AgentMapping(agent: agent, name: name, kind: kind, placementColumns: columns)
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
