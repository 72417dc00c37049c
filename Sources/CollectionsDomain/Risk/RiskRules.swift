/// When a customer is becoming risky, as `mappings/risk-rules.yaml` says (seed: "identify risky
/// customers and report to the team leader"). A rule left out of the file is not applied.
public struct RiskRules: Sendable, Equatable {
    public struct BrokenArrangements: Sendable, Equatable {
        /// This many arrangements broken…
        public let count: Int
        /// …within this many months up to the day of the sync.
        public let withinMonths: Int

        public init(count: Int, withinMonths: Int) {
            self.count = count
            self.withinMonths = withinMonths
        }
    }

    public let version: Int
    /// An open balance that rises above this, in its currency.
    public let exposureAbove: Money?
    /// Arrears higher at each of this many syncs in a row than at the one before.
    public let arrearsGrowingSyncs: Int?
    public let brokenArrangements: BrokenArrangements?
    /// The customer flagged vulnerable in MILES since the last sync.
    public let newlyVulnerable: Bool
    /// What an agent may report that makes the customer risky (insolvency, death).
    public let agentStatuses: Set<AgentStatus>

    public init(version: Int, exposureAbove: Money?, arrearsGrowingSyncs: Int?, brokenArrangements: BrokenArrangements?,
                newlyVulnerable: Bool, agentStatuses: Set<AgentStatus>) {
        self.version = version
        self.exposureAbove = exposureAbove
        self.arrearsGrowingSyncs = arrearsGrowingSyncs
        self.brokenArrangements = brokenArrangements
        self.newlyVulnerable = newlyVulnerable
        self.agentStatuses = agentStatuses
    }

    /// The rule ids alerts carry.
    public static let exposure = "exposure"
    public static let arrearsGrowing = "arrears-growing"
    public static let arrangementsBroken = "arrangements-broken"
    public static let vulnerable = "newly-vulnerable"
    public static let agentReport = "agent-report"
}

/// What a risk rule is judged on, for one contract at one sync.
public struct RiskFacts: Sendable {
    /// The contract as this sync brought it.
    public let contract: Contract
    /// The arrears at the syncs before this one, oldest first.
    public let earlierArrears: [Money]
    /// The open balance the store held before this sync; nil for a contract new to it.
    public let earlierOpenBalance: Money?
    /// Whether the store had the customer flagged vulnerable before this sync; nil for a customer new to it.
    public let wasVulnerable: Bool?
    /// The day of the sync.
    public let today: LocalDate

    public init(contract: Contract, earlierArrears: [Money], earlierOpenBalance: Money?, wasVulnerable: Bool?, today: LocalDate) {
        self.contract = contract
        self.earlierArrears = earlierArrears
        self.earlierOpenBalance = earlierOpenBalance
        self.wasVulnerable = wasVulnerable
        self.today = today
    }
}

/// One rule that fired, with the facts that made it fire, in words a team leader reads.
public struct RiskAlert: Sendable, Equatable {
    public let rule: String
    public let contractNumber: String
    public let facts: String

    public init(rule: String, contractNumber: String, facts: String) {
        self.rule = rule
        self.contractNumber = contractNumber
        self.facts = facts
    }
}

extension RiskRules {
    /// The arrangements-broken rule alone: what the sync's arrangement check asks when it finds a
    /// plan broken, with the dates the contract's plans broke (this one included).
    public func brokenArrangementsAlert(contractNumber: String, brokenOn dates: [LocalDate], today: LocalDate) -> RiskAlert? {
        guard let broken = brokenArrangements else { return nil }
        let since = today.adding(months: -broken.withinMonths)
        let recent = dates.filter { $0 > since && $0 <= today }.sorted()
        guard recent.count >= broken.count else { return nil }
        return RiskAlert(rule: Self.arrangementsBroken, contractNumber: contractNumber,
                         facts: "\(recent.count) arrangements broken within \(broken.withinMonths) months: " + recent.map(\.description).joined(separator: ", "))
    }

    /// The agent-report rule alone: what the ingest asks of each status an agent reports.
    public func agentReportAlert(contractNumber: String, agent: String, status: AgentStatus, on date: LocalDate) -> RiskAlert? {
        guard agentStatuses.contains(status) else { return nil }
        return RiskAlert(rule: Self.agentReport, contractNumber: contractNumber, facts: "\(agent) reported \(status.rawValue) on \(date)")
    }

    /// The rules a sync judges each contract by, in the order of the file. Broken arrangements are
    /// judged by the sync's arrangement check (`brokenArrangementsAlert`), and agents' reports by
    /// the ingest (`agentReportAlert`), when they happen.
    public func alerts(for facts: RiskFacts) -> [RiskAlert] {
        let contract = facts.contract
        var alerts: [RiskAlert] = []
        func alert(_ rule: String, _ text: String) { alerts.append(RiskAlert(rule: rule, contractNumber: contract.contractNumber, facts: text)) }
        let balance = contract.openBalance
        // Fires when the balance rises above the limit, not at every sync while it stays there.
        if let limit = exposureAbove, limit.currency == balance.currency, balance.minorUnits > limit.minorUnits,
           (facts.earlierOpenBalance.map { $0.minorUnits <= limit.minorUnits } ?? true) {
            alert(Self.exposure, "open balance \(balance.decimalString) \(balance.currency.code), above \(limit.decimalString)"
                  + (facts.earlierOpenBalance.map { " (was \($0.decimalString))" } ?? ""))
        }
        if let syncs = arrearsGrowingSyncs, syncs > 0 {
            let series = Array((facts.earlierArrears + [contract.arrears.amount]).suffix(syncs + 1))
            if series.count == syncs + 1, zip(series, series.dropFirst()).allSatisfy({ $0.minorUnits < $1.minorUnits }) {
                alert(Self.arrearsGrowing, "arrears grew at each of the last \(syncs) syncs: "
                      + series.map(\.decimalString).joined(separator: " → ") + " \(contract.currency.code)")
            }
        }
        if newlyVulnerable, facts.wasVulnerable == false, contract.customer.vulnerable {
            alert(Self.vulnerable, "customer \(contract.customer.partnerId) flagged vulnerable in MILES since the last sync")
        }
        return alerts
    }
}
