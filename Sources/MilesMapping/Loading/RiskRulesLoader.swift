import CollectionsDomain
import Yams

/// Reads `mappings/risk-rules.yaml` into `RiskRules`, reporting every problem at its line: an unknown
/// rule or agent status, a count or amount that is not one.
enum RiskRulesLoader {
    static func load(_ file: YAMLFile, problems: inout [MappingProblem]) -> RiskRules? {
        guard let root = file.root, root.orderedPairs != nil else {
            problems.append(file.problem(file.root, .syntax, "expected a mapping at the top of the file"))
            return nil
        }
        let before = problems.count
        checkKeys(root, allowed: ["version", "currency", "rules"], file, &problems)
        let version = root[key: "version"]?.int
        if version == nil { problems.append(file.problem(root[key: "version"] ?? root, .invalidValue, "'version' must be a whole number")) }
        var currency: CurrencyCode?
        if let code = requiredString(root, "currency", file, &problems) {
            do { currency = try CurrencyCode(code) } catch {
                problems.append(file.problem(root[key: "currency"], .invalidValue, "'\(code)' is not an ISO 4217 currency code"))
            }
        }
        guard let rules = root[key: "rules"], rules.orderedPairs != nil else {
            problems.append(file.problem(root[key: "rules"] ?? root, .missingField, "'rules' must be a mapping of rule to setting"))
            return nil
        }
        checkKeys(rules, allowed: ["exposureAbove", "arrearsGrowingSyncs", "brokenArrangements", "newlyVulnerable", "agentStatuses"],
                  file, &problems)
        func count(_ node: Node?, _ what: String) -> Int? {
            guard let node else { return nil }
            guard let number = node.int, number > 0 else {
                problems.append(file.problem(node, .invalidValue, "\(what) '\(node.string ?? "")' must be a whole number above zero"))
                return nil
            }
            return number
        }
        var exposure: Money?
        if let node = rules[key: "exposureAbove"] {
            if let currency, let text = node.string, let value = DecimalAmount.parse(text)?.money(in: currency), value.minorUnits >= 0 {
                exposure = value
            } else {
                problems.append(file.problem(node, .invalidValue, "exposureAbove '\(node.string ?? "")' is not an amount in \(currency?.code ?? "the currency")"))
            }
        }
        let growing = count(rules[key: "arrearsGrowingSyncs"], "arrearsGrowingSyncs")
        var broken: RiskRules.BrokenArrangements?
        if let node = rules[key: "brokenArrangements"] {
            checkKeys(node, allowed: ["count", "withinMonths"], file, &problems)
            if let times = count(node[key: "count"] ?? node, "brokenArrangements.count"),
               let months = count(node[key: "withinMonths"] ?? node, "brokenArrangements.withinMonths") {
                broken = RiskRules.BrokenArrangements(count: times, withinMonths: months)
            }
        }
        var vulnerable = false
        if let node = rules[key: "newlyVulnerable"] {
            guard let flag = node.bool else {
                problems.append(file.problem(node, .invalidValue, "newlyVulnerable must be true or false"))
                return nil
            }
            vulnerable = flag
        }
        var statuses: Set<AgentStatus> = []
        if let node = rules[key: "agentStatuses"] {
            guard case let .sequence(entries) = node else {
                problems.append(file.problem(node, .invalidValue, "agentStatuses must be a list of agent statuses"))
                return nil
            }
            for entry in entries {
                guard let status = entry.string.flatMap(AgentStatus.init(rawValue:)) else {
                    problems.append(file.problem(entry, .unknownInternalValue, "unknown agent status '\(entry.string ?? "")'; expected one of "
                                                 + AgentStatus.allCases.map(\.rawValue).joined(separator: ", ")))
                    continue
                }
                statuses.insert(status)
            }
        }
        guard problems.count == before, let version else { return nil }
        return RiskRules(version: version, exposureAbove: exposure, arrearsGrowingSyncs: growing, brokenArrangements: broken,
                         newlyVulnerable: vulnerable, agentStatuses: statuses)
    }
}
