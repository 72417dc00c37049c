import CollectionsDomain
import Testing

/// The shipped rules: exposure above £25,000, arrears growing three syncs in a row, two arrangements
/// broken within twelve months, newly vulnerable, an agent reporting bankruptcy or death.
private let rules = RiskRules(version: 1, exposureAbove: pounds(2_500_000), arrearsGrowingSyncs: 3,
                              brokenArrangements: .init(count: 2, withinMonths: 12), newlyVulnerable: true,
                              agentStatuses: [.bankrupt, .deceased])
private let syncDay = LocalDate.parse("2026-12-01")!

private func facts(open: Int64 = 10_000, earlierOpen: Int64? = 10_000, arrears: Int64 = 40_000, earlier: [Int64] = [], vulnerable: Bool = false,
                   wasVulnerable: Bool? = false) -> RiskFacts {
    var subject = contract(arrears: arrears)
    subject.openInvoices = [Invoice(number: "INV1", issueDate: syncDay, dueDate: syncDay, amount: pounds(open), openAmount: pounds(open))]
    subject.customer.vulnerable = vulnerable
    return RiskFacts(contract: subject, earlierArrears: earlier.map(pounds), earlierOpenBalance: earlierOpen.map(pounds), wasVulnerable: wasVulnerable,
                     today: syncDay)
}

private func fired(_ facts: RiskFacts) -> [String] { rules.alerts(for: facts).map(\.rule) }

@Suite("Risky customers: each rule fires on its change and not on the near miss (issue 14)")
struct RiskRulesTests {
    @Test("exposure: rising a penny above £25,000 fires, to £25,000 does not, nor staying above it; the alert gives the balance")
    func exposure() {
        #expect(fired(facts(open: 2_500_001)) == [RiskRules.exposure])
        #expect(fired(facts(open: 2_500_000)).isEmpty)
        #expect(fired(facts(open: 2_600_000, earlierOpen: 2_500_001)).isEmpty, "already above at the last sync")
        #expect(fired(facts(open: 2_500_001, earlierOpen: nil)) == [RiskRules.exposure], "a contract new to the store")
        #expect(rules.alerts(for: facts(open: 2_500_001)).first?.facts == "open balance 25000.01 GBP, above 25000.00 (was 100.00)")
    }

    @Test("arrears growing: three rises in a row fire; two rises and a standstill do not, nor too short a history")
    func arrearsGrowing() {
        #expect(fired(facts(arrears: 40_000, earlier: [10_000, 20_000, 30_000])) == [RiskRules.arrearsGrowing])
        #expect(fired(facts(arrears: 40_000, earlier: [5_000, 10_000, 20_000, 30_000])) == [RiskRules.arrearsGrowing])
        #expect(fired(facts(arrears: 30_000, earlier: [10_000, 20_000, 30_000])).isEmpty, "no rise at the last sync")
        #expect(fired(facts(arrears: 40_000, earlier: [20_000, 20_000, 30_000])).isEmpty, "a standstill in the run")
        #expect(fired(facts(arrears: 40_000, earlier: [20_000, 30_000])).isEmpty, "only two syncs before this one")
        #expect(rules.alerts(for: facts(arrears: 40_000, earlier: [10_000, 20_000, 30_000])).first?.facts
                == "arrears grew at each of the last 3 syncs: 100.00 → 200.00 → 300.00 → 400.00 GBP")
    }

    @Test("broken arrangements: two within twelve months fire; the second a day outside them does not")
    func brokenArrangements() {
        func alert(_ dates: [String]) -> RiskAlert? {
            rules.brokenArrangementsAlert(contractNumber: "C1", brokenOn: dates.compactMap(LocalDate.parse), today: syncDay)
        }
        #expect(alert(["2026-03-01", "2025-12-02"])?.rule == RiskRules.arrangementsBroken)
        #expect(alert(["2026-03-01", "2025-12-02"])?.facts == "2 arrangements broken within 12 months: 2025-12-02, 2026-03-01")
        #expect(alert(["2026-03-01", "2025-12-01"]) == nil, "twelve months before the sync is outside")
        #expect(alert(["2026-03-01"]) == nil)
    }

    @Test("newly vulnerable fires once: not for a customer already flagged, nor for one new to the store")
    func newlyVulnerable() {
        #expect(fired(facts(vulnerable: true, wasVulnerable: false)) == [RiskRules.vulnerable])
        #expect(fired(facts(vulnerable: true, wasVulnerable: true)).isEmpty)
        #expect(fired(facts(vulnerable: true, wasVulnerable: nil)).isEmpty)
        #expect(fired(facts(vulnerable: false, wasVulnerable: true)).isEmpty)
    }

    @Test("an agent reporting bankruptcy or death fires, naming the agent and the day; a dispute does not")
    func agentReports() {
        let day = LocalDate.parse("2026-11-28")!
        #expect(rules.agentReportAlert(contractNumber: "C1", agent: "acme-dca", status: .bankrupt, on: day)?.facts
            == "acme-dca reported bankrupt on 2026-11-28")
        #expect(rules.agentReportAlert(contractNumber: "C1", agent: "acme-dca", status: .deceased, on: day)?.rule == RiskRules.agentReport)
        #expect(rules.agentReportAlert(contractNumber: "C1", agent: "tracewise", status: .disputed, on: day) == nil)
    }

    @Test("a rule left out of the file is not applied")
    func rulesLeftOut() {
        let none = RiskRules(version: 1, exposureAbove: nil, arrearsGrowingSyncs: nil, brokenArrangements: nil, newlyVulnerable: false,
                             agentStatuses: [])
        #expect(none.alerts(for: facts(open: 9_000_000, arrears: 40_000, earlier: [10_000, 20_000, 30_000], vulnerable: true)).isEmpty)
        #expect(none.brokenArrangementsAlert(contractNumber: "C1", brokenOn: [syncDay, syncDay], today: syncDay) == nil)
        #expect(none.agentReportAlert(contractNumber: "C1", agent: "acme-dca", status: .deceased, on: syncDay) == nil)
    }
}
