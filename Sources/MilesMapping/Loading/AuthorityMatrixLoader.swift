import CollectionsDomain
import Yams

/// Reads `mappings/authority-matrix.yaml` into an `AuthorityMatrix`, reporting every problem at its line:
/// unknown roles, limits that do not rise, a top tier with a limit (amounts above it could not be
/// approved by anyone), unknown reasons.
enum AuthorityMatrixLoader {
    static func load(_ file: YAMLFile, problems: inout [MappingProblem]) -> AuthorityMatrix? {
        guard let root = file.root, root.orderedPairs != nil else {
            problems.append(file.problem(file.root, .syntax, "expected a mapping at the top of the file"))
            return nil
        }
        let before = problems.count
        checkKeys(root, allowed: ["version", "currency", "roles", "secondApproverAbove", "reasons", "guardOverrides",
                                        "auditAcknowledgement", "userAdministration", "outboxDecisions",
                                        "personalData"], file, &problems)
        let version = root[key: "version"]?.int
        if version == nil { problems.append(file.problem(root[key: "version"] ?? root, .invalidValue, "'version' must be a whole number")) }
        var currency: CurrencyCode?
        if let code = requiredString(root, "currency", file, &problems) {
            do { currency = try CurrencyCode(code) } catch {
                problems.append(file.problem(root[key: "currency"], .invalidValue, "'\(code)' is not an ISO 4217 currency code"))
            }
        }
        func amount(_ node: Node?, _ what: String) -> Int64?? {
            guard let node, let text = node.string else {
                problems.append(file.problem(node ?? root, .missingField, "\(what) is missing"))
                return nil
            }
            if text == "unlimited" { return .some(nil) }
            guard let currency, let value = DecimalAmount.parse(text)?.money(in: currency), value.minorUnits >= 0 else {
                problems.append(file.problem(node, .invalidValue, "\(what) '\(text)' is not an amount in \(currency?.code ?? "the currency") or 'unlimited'"))
                return nil
            }
            return .some(value.minorUnits)
        }

        var tiers: [AuthorityMatrix.Tier] = []
        guard case let .sequence(roleNodes)? = root[key: "roles"] else {
            problems.append(file.problem(root[key: "roles"] ?? root, .missingField, "'roles' must be a list of roles in ascending order of authority"))
            return nil
        }
        for node in roleNodes {
            checkKeys(node, allowed: ["role", "approveUpTo"], file, &problems)
            guard let name = requiredString(node, "role", file, &problems) else { continue }
            if tiers.contains(where: { $0.role.name == name }) {
                problems.append(file.problem(node[key: "role"], .duplicateCode, "role '\(name)' is listed twice"))
                continue
            }
            guard let limit = amount(node[key: "approveUpTo"], "approveUpTo of '\(name)'") else { continue }
            if let previous = tiers.last {
                guard let previousLimit = previous.approvalLimit else {
                    problems.append(file.problem(node, .invalidValue,
                        "role '\(name)' comes after '\(previous.role.name)', which is unlimited: only the last role may be unlimited"))
                    continue
                }
                if let limit, limit <= previousLimit {
                    problems.append(file.problem(node[key: "approveUpTo"], .invalidValue,
                        "limits must rise: '\(name)' may approve up to \(limit) minor units, not more than '\(previous.role.name)' (\(previousLimit))"))
                }
            }
            tiers.append(AuthorityMatrix.Tier(role: CollectionsRole(name: name, rank: tiers.count), approvalLimit: limit))
        }
        if tiers.isEmpty {
            problems.append(file.problem(root[key: "roles"], .missingField, "no roles: at least one role must be able to approve"))
        } else if tiers.last?.approvalLimit != nil {
            problems.append(file.problem(root[key: "roles"], .missingField,
                "missing tier: the last role ('\(tiers.last!.role.name)') has a limit, so nobody could approve more; give it 'approveUpTo: unlimited'"))
        }
        let second = amount(root[key: "secondApproverAbove"], "secondApproverAbove")
        var reasons: [WriteOffReason: CollectionsRole] = [:]
        for (key, value) in root[key: "reasons"]?.orderedPairs ?? [] {
            guard let reasonName = key.string, let reason = WriteOffReason(rawValue: reasonName) else {
                problems.append(file.problem(key, .unknownInternalValue,
                    "unknown reason '\(key.string ?? "")'; expected one of \(WriteOffReason.allCases.map(\.rawValue).joined(separator: ", "))"))
                continue
            }
            guard let roleName = value.string, let role = tiers.first(where: { $0.role.name == roleName })?.role else {
                problems.append(file.problem(value, .unknownInternalValue,
                    "unknown role '\(value.string ?? "")' for reason '\(reasonName)'; roles are \(tiers.map(\.role.name).joined(separator: ", "))"))
                continue
            }
            reasons[reason] = role
        }
        var overrides: [String: CollectionsRole] = [:]
        let knownRules = [CollectionsGuards.protectedGoods, CollectionsGuards.defaultNoticeRule, CollectionsGuards.holdRule,
                          CollectionsGuards.ombudsmanRule]
        for (key, value) in root[key: "guardOverrides"]?.orderedPairs ?? [] {
            guard let rule = key.string, knownRules.contains(rule) else {
                problems.append(file.problem(key, .unknownInternalValue,
                    "unknown guard rule '\(key.string ?? "")'; rules are \(knownRules.joined(separator: ", "))"))
                continue
            }
            guard let roleName = value.string, let role = tiers.first(where: { $0.role.name == roleName })?.role else {
                problems.append(file.problem(value, .unknownInternalValue,
                    "unknown role '\(value.string ?? "")' for overriding \(rule); roles are \(tiers.map(\.role.name).joined(separator: ", "))"))
                continue
            }
            overrides[rule] = role
        }
        func namedRole(_ key: String) -> CollectionsRole? {
            guard let node = root[key: key] else { return nil }
            guard let role = node.string.flatMap({ name in tiers.first { $0.role.name == name }?.role }) else {
                problems.append(file.problem(node, .unknownInternalValue,
                    "unknown role '\(node.string ?? "")' for \(key); roles are \(tiers.map(\.role.name).joined(separator: ", "))"))
                return nil
            }
            return role
        }
        let acknowledgement = namedRole("auditAcknowledgement")
        let administration = namedRole("userAdministration")
        let outboxDecisions = namedRole("outboxDecisions")
        let personalData = namedRole("personalData")
        guard problems.count == before, let version, let currency, let secondLimit = second, let secondApproverAbove = secondLimit else {
            if problems.count == before {
                problems.append(file.problem(root[key: "secondApproverAbove"], .invalidValue, "secondApproverAbove must be an amount"))
            }
            return nil
        }
        return AuthorityMatrix(version: version, currency: currency, tiers: tiers, secondApproverAbove: secondApproverAbove,
                               reasonMinimumRoles: reasons, guardOverrideRoles: overrides, auditAcknowledgementRole: acknowledgement,
                               userAdministrationRole: administration, outboxDecisionRole: outboxDecisions,
                               personalDataRole: personalData)
    }
}
