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
                                        "auditAcknowledgement", "userAdministration", "outboxDecisions", "riskAlerts",
                                        "personalData", "arrangements", "credits"], file, &problems)
        let version = root[key: "version"]?.int
        if version == nil { problems.append(file.problem(root[key: "version"] ?? root, .invalidValue, "'version' must be a whole number")) }
        var currency: CurrencyCode?
        if let code = requiredString(root, "currency", file, &problems) {
            do { currency = try CurrencyCode(code) } catch {
                problems.append(file.problem(root[key: "currency"], .invalidValue, "'\(code)' is not an ISO 4217 currency code"))
            }
        }
        func amount(_ node: Node?, _ what: String) -> Int64?? { Self.amount(node, what, in: currency, root, file, &problems) }

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
        let riskAlerts = namedRole("riskAlerts")
        let personalData = namedRole("personalData")
        let arrangements = root[key: "arrangements"].map { loadArrangements($0, roles: tiers.map(\.role), currency: currency, file, &problems) }
        let credits = root[key: "credits"].map { loadCredits($0, roles: tiers.map(\.role), currency: currency, file, &problems) }
        guard problems.count == before, let version, let currency, let secondLimit = second, let secondApproverAbove = secondLimit else {
            if problems.count == before {
                problems.append(file.problem(root[key: "secondApproverAbove"], .invalidValue, "secondApproverAbove must be an amount"))
            }
            return nil
        }
        return AuthorityMatrix(version: version, currency: currency, tiers: tiers, secondApproverAbove: secondApproverAbove,
                               reasonMinimumRoles: reasons, guardOverrideRoles: overrides, auditAcknowledgementRole: acknowledgement,
                               userAdministrationRole: administration, outboxDecisionRole: outboxDecisions,
                               personalDataRole: personalData, arrangementLimits: arrangements ?? nil, riskAlertRole: riskAlerts,
                               creditLimits: credits ?? nil)
    }

    /// The `credits` section: the largest credit note each role may approve, in the order of
    /// `roles`, the last 'unlimited'; and above what a second approver is needed.
    static func loadCredits(_ node: Node, roles: [CollectionsRole], currency: CurrencyCode?, _ file: YAMLFile,
                            _ problems: inout [MappingProblem]) -> CreditLimits? {
        let before = problems.count
        checkKeys(node, allowed: ["limits", "secondApproverAbove"], file, &problems)
        var limits: [Node] = []
        if case let .sequence(nodes)? = node[key: "limits"] { limits = Array(nodes) }
        if limits.count != roles.count {
            problems.append(file.problem(node[key: "limits"] ?? node, .missingField, "credits.limits must list every role of 'roles', in their order"))
        }
        var tiers: [CreditLimits.Tier] = []
        for (index, tierNode) in limits.enumerated() where index < roles.count {
            checkKeys(tierNode, allowed: ["role", "approveUpTo"], file, &problems)
            guard tierNode[key: "role"]?.string == roles[index].name else {
                problems.append(file.problem(tierNode[key: "role"] ?? tierNode, .unknownInternalValue,
                    "credits.limits must list the roles in the order of 'roles': expected '\(roles[index].name)' here"))
                continue
            }
            guard let limit = amount(tierNode[key: "approveUpTo"], "approveUpTo of '\(roles[index].name)' in credits.limits", in: currency,
                                     tierNode, file, &problems) else { continue }
            tiers.append(CreditLimits.Tier(role: roles[index], approveUpTo: limit))
        }
        if let last = tiers.last, last.approveUpTo != nil {
            problems.append(file.problem(limits.last, .invalidValue,
                "the last role ('\(last.role.name)') in credits.limits must be 'unlimited', or some credit notes could be approved by nobody"))
        }
        let second = node[key: "secondApproverAbove"].flatMap { amount($0, "credits.secondApproverAbove", in: currency, node, file, &problems) }
        guard let currency, problems.count == before, tiers.count == roles.count else { return nil }
        return CreditLimits(currency: currency, tiers: tiers, secondApproverAbove: second ?? nil)
    }

    /// An amount in the matrix's currency, `.some(nil)` for 'unlimited', nil (with the problem
    /// reported) when missing or not an amount.
    static func amount(_ node: Node?, _ what: String, in currency: CurrencyCode?, _ parent: Node, _ file: YAMLFile,
                       _ problems: inout [MappingProblem]) -> Int64?? {
        guard let node, let text = node.string else {
            problems.append(file.problem(node ?? parent, .missingField, "\(what) is missing"))
            return nil
        }
        if text == "unlimited" { return .some(nil) }
        guard let currency, let value = DecimalAmount.parse(text)?.money(in: currency), value.minorUnits >= 0 else {
            problems.append(file.problem(node, .invalidValue, "\(what) '\(text)' is not an amount in \(currency?.code ?? "the currency") or 'unlimited'"))
            return nil
        }
        return .some(value.minorUnits)
    }

    /// The `arrangements` section: a tier per role, in the order of `roles`, the last without limits;
    /// when a second approver is needed; token plans.
    static func loadArrangements(_ node: Node, roles: [CollectionsRole], currency: CurrencyCode?, _ file: YAMLFile,
                                 _ problems: inout [MappingProblem]) -> ArrangementLimits? {
        let before = problems.count
        func amount(_ value: Node?, _ what: String) -> Int64?? { Self.amount(value, what, in: currency, node, file, &problems) }
        checkKeys(node, allowed: ["limits", "secondApproverAbove", "tokenPlans", "graceDays"], file, &problems)
        func months(_ value: Node?, _ what: String) -> Int?? {
            guard let value, let text = value.string else {
                problems.append(file.problem(value ?? node, .missingField, "\(what) is missing"))
                return nil
            }
            if text == "unlimited" { return .some(nil) }
            guard let number = Int(text), number >= 0 else {
                problems.append(file.problem(value, .invalidValue, "\(what) '\(text)' is not a whole number of months or 'unlimited'"))
                return nil
            }
            return .some(number)
        }
        func role(_ value: Node?, _ what: String) -> CollectionsRole? {
            guard let name = value?.string, let role = roles.first(where: { $0.name == name }) else {
                problems.append(file.problem(value ?? node, .unknownInternalValue,
                    "unknown role '\(value?.string ?? "")' for \(what); roles are \(roles.map(\.name).joined(separator: ", "))"))
                return nil
            }
            return role
        }
        var tiers: [ArrangementLimits.Tier] = []
        guard case let .sequence(tierNodes)? = node[key: "limits"] else {
            problems.append(file.problem(node[key: "limits"] ?? node, .missingField, "'arrangements.limits' must list every role, in the order of 'roles'"))
            return nil
        }
        for (index, tierNode) in tierNodes.enumerated() {
            checkKeys(tierNode, allowed: ["role", "longestTermMonths", "lowestInstalmentPercent", "largestReduction"], file, &problems)
            guard let tierRole = role(tierNode[key: "role"], "arrangements.limits") else { continue }
            guard index < roles.count, roles[index] == tierRole else {
                problems.append(file.problem(tierNode[key: "role"], .invalidValue,
                    "arrangements.limits must list the roles in the order of 'roles': expected '\(index < roles.count ? roles[index].name : "no more roles")' here"))
                continue
            }
            let what = "of '\(tierRole.name)' in arrangements.limits"
            guard let term = months(tierNode[key: "longestTermMonths"], "longestTermMonths \(what)"),
                  let percent = months(tierNode[key: "lowestInstalmentPercent"], "lowestInstalmentPercent \(what)"),
                  let reduction = amount(tierNode[key: "largestReduction"], "largestReduction \(what)") else { continue }
            if let percent, percent > 100 {
                problems.append(file.problem(tierNode[key: "lowestInstalmentPercent"], .invalidValue, "lowestInstalmentPercent \(what) is above 100"))
            }
            tiers.append(ArrangementLimits.Tier(role: tierRole, longestTermMonths: term, lowestInstalmentPercent: percent, largestReduction: reduction))
        }
        if tiers.count == roles.count, let last = tiers.last, last.longestTermMonths != nil || last.largestReduction != nil
            || (last.lowestInstalmentPercent ?? 0) != 0 {
            problems.append(file.problem(node[key: "limits"], .invalidValue,
                "the last role ('\(last.role.name)') in arrangements.limits must have no limits ('unlimited', and lowestInstalmentPercent 0), or some plans could be approved by nobody"))
        } else if tiers.count != roles.count, problems.count == before {
            problems.append(file.problem(node[key: "limits"], .missingField, "arrangements.limits must list every role of 'roles'"))
        }
        let second = node[key: "secondApproverAbove"]
        if let second { checkKeys(second, allowed: ["reduction", "termMonths"], file, &problems) }
        let secondReduction = amount(second?[key: "reduction"], "arrangements.secondApproverAbove.reduction")
        let secondTerm = months(second?[key: "termMonths"], "arrangements.secondApproverAbove.termMonths")
        let token = node[key: "tokenPlans"]
        if let token { checkKeys(token, allowed: ["upTo", "role", "longestTermMonths"], file, &problems) }
        let tokenUpTo = amount(token?[key: "upTo"], "arrangements.tokenPlans.upTo")
        let tokenRole = role(token?[key: "role"], "arrangements.tokenPlans")
        let tokenTerm = months(token?[key: "longestTermMonths"], "arrangements.tokenPlans.longestTermMonths")
        var graceDays = 0
        if let grace = node[key: "graceDays"] {
            if let days = grace.int, days >= 0 { graceDays = days } else {
                problems.append(file.problem(grace, .invalidValue, "arrangements.graceDays must be a whole number of days, 0 or more"))
            }
        }
        guard problems.count == before, let reductionLimit = secondReduction ?? nil, let termLimit = secondTerm ?? nil,
              let upTo = tokenUpTo ?? nil, let tokenRole, let tokenMonths = tokenTerm ?? nil else {
            if problems.count == before {
                problems.append(file.problem(node, .invalidValue,
                    "arrangements.secondApproverAbove and arrangements.tokenPlans need amounts and months, not 'unlimited'"))
            }
            return nil
        }
        return ArrangementLimits(tiers: tiers, secondApproverAboveReduction: reductionLimit, secondApproverAboveTermMonths: termLimit,
                                 tokenPlans: ArrangementLimits.TokenPlans(upTo: upTo, role: tokenRole, longestTermMonths: tokenMonths),
                                 graceDays: graceDays)
    }
}
