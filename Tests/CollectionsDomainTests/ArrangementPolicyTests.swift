import CollectionsDomain
import Testing

/// The shipped matrix's arrangement numbers: agent 12 months, 50 %, nothing unpaid; team leader 24
/// months, 25 %, £500; head of credit 60 months, 10 %, £5,000; finance director unlimited. A second
/// approver above £1,000 unpaid or 36 months; token plans up to £5 a month, team leader, 6 months.
private let roles = ["agent", "teamLeader", "headOfCredit", "financeDirector"].enumerated().map { CollectionsRole(name: $1, rank: $0) }
private let matrix = AuthorityMatrix(
    version: 3, currency: .gbp,
    tiers: roles.map { AuthorityMatrix.Tier(role: $0, approvalLimit: $0.rank == 3 ? nil : Int64(($0.rank + 1) * 100_000)) },
    secondApproverAbove: 1_000_000, reasonMinimumRoles: [:],
    arrangementLimits: ArrangementLimits(
        tiers: [
            .init(role: roles[0], longestTermMonths: 12, lowestInstalmentPercent: 50, largestReduction: 0),
            .init(role: roles[1], longestTermMonths: 24, lowestInstalmentPercent: 25, largestReduction: 50_000),
            .init(role: roles[2], longestTermMonths: 60, lowestInstalmentPercent: 10, largestReduction: 500_000),
            .init(role: roles[3], longestTermMonths: nil, lowestInstalmentPercent: nil, largestReduction: nil),
        ],
        secondApproverAboveReduction: 100_000, secondApproverAboveTermMonths: 36,
        tokenPlans: .init(upTo: 500, role: roles[1], longestTermMonths: 6)))

private let planDay = LocalDate.parse("2026-12-01")!
private let first = LocalDate.parse("2027-01-05")!
/// £600 in arrears on a £250-a-month contract.
private let behind = contract(arrears: 60_000, monthly: 25_000)
private let statement = IncomeAndExpenditure(monthlyIncome: pounds(200_000), monthlyExpenditure: pounds(100_000), recordedOn: planDay,
                                             recordedBy: "alice")

private func plan(_ amounts: [Int64], every frequency: PaymentArrangement.Frequency = .monthly, lastDayShift: Int = 0,
                  settlement: Bool = false) throws -> PaymentArrangement {
    let count = amounts.count
    return try PaymentArrangement(contractNumber: behind.contractNumber, frequency: frequency, instalments: amounts.enumerated().map { index, pence in
        let date = PaymentArrangement.Frequency.monthly == frequency ? first.adding(months: index) : first.adding(days: (frequency == .weekly ? 7 : 14) * index)
        return .init(dueDate: index == count - 1 ? date.adding(days: lastDayShift) : date, amount: pounds(pence))
    }, isSettlement: settlement)
}

private func assess(_ plan: PaymentArrangement, contract: Contract = behind, income: IncomeAndExpenditure? = statement,
                    holds: [ContractHold] = []) throws -> ArrangementPolicy.Assessment {
    try ArrangementPolicy.assess(plan, contract: contract, income: income, holds: holds, on: planDay, under: matrix)
}

private func refusal(_ plan: PaymentArrangement, income: IncomeAndExpenditure? = statement, holds: [ContractHold] = []) -> ArrangementPolicy.Refusal? {
    do {
        _ = try ArrangementPolicy.assess(plan, contract: behind, income: income, holds: holds, on: planDay, under: matrix)
        return nil
    } catch {
        return error
    }
}

@Suite("Payment arrangements under the authority matrix: each limit at its boundary, affordability, four eyes (issue 14)")
struct ArrangementPolicyTests {
    @Test("term: the last instalment twelve months after the first is an agent's; one day later a team leader's; 36 months and a day needs two")
    func termBoundary() throws {
        let twelveMonths = Array(repeating: Int64(12_500), count: 13)
        #expect(try assess(plan(twelveMonths)).requiredRole.name == "agent")
        #expect(try assess(plan(twelveMonths, lastDayShift: -1)).requiredRole.name == "agent")
        #expect(try assess(plan(twelveMonths, lastDayShift: 1)).requiredRole.name == "teamLeader")
        #expect(try assess(plan(twelveMonths, lastDayShift: 1)).termMonths == 13)
        let thirtySixMonths = Array(repeating: Int64(2_500), count: 37)
        #expect(try assess(plan(thirtySixMonths)).approvalsNeeded == 1)
        #expect(try assess(plan(thirtySixMonths, lastDayShift: 1)).approvalsNeeded == 2)
    }

    @Test("lowest instalment: half the £250 payment is an agent's, a penny less a team leader's; weekly instalments judged as monthly figures")
    func instalmentBoundary() throws {
        #expect(try assess(plan([12_500, 12_500, 12_500, 12_500, 12_500])).requiredRole.name == "agent")
        #expect(try assess(plan([12_500, 12_500, 12_499, 12_500, 12_500])).requiredRole.name == "teamLeader")
        // £28.85 a week is £125.01 a month (52 / 12); £28.84 is £124.97.
        #expect(try assess(plan(Array(repeating: 2_885, count: 21), every: .weekly)).requiredRole.name == "agent")
        #expect(try assess(plan(Array(repeating: 2_884, count: 21), every: .weekly)).requiredRole.name == "teamLeader")
    }

    @Test("settlement: paying all £600 is an agent's, a penny short a team leader's; £500 short a team leader's, a penny more a head of credit's")
    func reductionBoundary() throws {
        #expect(try assess(plan([30_000, 30_000], settlement: true)).reduction == pounds(0))
        #expect(try assess(plan([30_000, 30_000], settlement: true)).requiredRole.name == "agent")
        #expect(try assess(plan([30_000, 29_999], settlement: true)).requiredRole.name == "teamLeader")
        #expect(try assess(plan([30_000, 29_999])).requiredRole.name == "agent", "no settlement: the penny is still owed")
        #expect(try assess(plan([30_000, 29_999])).reduction == pounds(0))
        #expect(try assess(plan([10_000], settlement: true)).reduction == pounds(50_000))
        #expect(try assess(plan([10_000], settlement: true)).requiredRole.name == "teamLeader")
        #expect(try assess(plan([9_999], settlement: true)).requiredRole.name == "headOfCredit")
        let large = contract(arrears: 200_000, monthly: 25_000)
        #expect(try assess(plan([100_000], settlement: true), contract: large).approvalsNeeded == 1, "£1,000 given up: one approver")
        #expect(try assess(plan([99_999], settlement: true), contract: large).approvalsNeeded == 2, "£1,000.01 given up: two")
    }

    @Test("a token plan of £5 a month needs a team leader whatever the share, and is reviewed after six months; £5.01 is no token plan")
    func tokenPlans() throws {
        let token = try assess(plan(Array(repeating: 500, count: 7)))
        #expect(token.isTokenPlan)
        #expect(token.requiredRole.name == "teamLeader")
        #expect(refusal(try plan(Array(repeating: 500, count: 7), lastDayShift: 1)) == .tokenPlanTooLong(months: 7, longest: 6))
        let notToken = try assess(plan(Array(repeating: 501, count: 7)))
        #expect(!notToken.isTokenPlan)
        #expect(notToken.requiredRole.name == "financeDirector", "2 % of the payment is below every other role's share")
    }

    @Test("affordability: an instalment up to the disposable income is allowed, a penny more is refused with both figures")
    func affordability() throws {
        let tight = IncomeAndExpenditure(monthlyIncome: pounds(150_000), monthlyExpenditure: pounds(120_000), recordedOn: planDay, recordedBy: "alice")
        #expect(refusal(try plan([30_000, 30_000]), income: tight) == nil)
        let refused = try #require(refusal(try plan([30_001, 29_999]), income: tight))
        #expect(refused == .unaffordable(monthly: pounds(30_001), disposable: pounds(30_000), frequency: .monthly))
        #expect(refused.description.contains("300.01") && refused.description.contains("300.00"))
        #expect(refused.rule == "CONC7.3-affordability")
        // £69.23 a week is £300.00 a month (rounded up); £69.24 is £300.04.
        #expect(refusal(try plan(Array(repeating: 6_923, count: 9), every: .weekly), income: tight) == nil)
        #expect(refusal(try plan(Array(repeating: 6_924, count: 9), every: .weekly), income: tight)
                == .unaffordable(monthly: pounds(30_004), disposable: pounds(30_000), frequency: .weekly))
        #expect(refusal(try plan([60_000]), income: nil) == .noIncomeAndExpenditure(contract: behind.contractNumber))
        // A negative expenditure would have made £5,000 a month affordable on £1,000 of income.
        let negative = IncomeAndExpenditure(monthlyIncome: pounds(100_000), monthlyExpenditure: pounds(-500_000), recordedOn: planDay, recordedBy: "alice")
        #expect(refusal(try plan([500_000]), income: negative) == .negativeIncomeOrExpenditure(income: pounds(100_000), expenditure: pounds(-500_000)))
        #expect(refusal(try plan([500_000]), income: negative)?.rule == "CONC7.3-affordability")
    }

    @Test("a plan stays within the calendar and within what Money holds: too many instalments, a date past 9999 or an absurd amount is an error, not a crash")
    func boundedPlans() throws {
        func regular(_ first: String, _ count: Int, _ pence: Int64, every frequency: PaymentArrangement.Frequency = .monthly) throws -> PaymentArrangement {
            try PaymentArrangement.regular(contractNumber: behind.contractNumber, frequency: frequency, firstDate: LocalDate.parse(first)!,
                                           count: count, amount: pounds(pence))
        }
        #expect { try regular("2027-01-05", 100_000, 100) } throws: {
            ($0 as? ArrangementError)?.code == .tooManyInstalments && ($0 as? ArrangementError)?.input == "100000"
        }
        #expect(try regular("2027-01-05", PaymentArrangement.mostInstalments, 100, every: .weekly).instalments.count == 520)
        #expect { try regular("9999-12-15", 2, 10_000) } throws: {
            ($0 as? ArrangementError)?.code == .invalidInstalment && ($0 as? ArrangementError)?.input == "9999-12-15"
        }
        #expect(try regular("9999-01-15", 12, 10_000).lastDate.description == "9999-12-15")
        // A plan stored before these limits still reads back: the stores rebuild plans through the initialiser.
        #expect(try PaymentArrangement(contractNumber: behind.contractNumber, frequency: .weekly, instalments: (0..<600).map {
            .init(dueDate: first.adding(days: 7 * $0), amount: pounds(100))
        }).instalments.count == 600)
        #expect { try regular("9999-12-20", 2, 10_000, every: .fortnightly) } throws: { ($0 as? ArrangementError)?.code == .invalidInstalment }
        #expect { try regular("2027-01-05", 2, PaymentArrangement.largestInstalment + 1) } throws: {
            ($0 as? ArrangementError)?.code == .invalidInstalment
        }
        // The largest plan's sums fit: its total and its monthly figure are worked out without overflowing.
        let largest = try regular("2027-01-05", PaymentArrangement.mostInstalments, PaymentArrangement.largestInstalment, every: .weekly)
        #expect(largest.total.minorUnits == PaymentArrangement.largestInstalment * 520)
        #expect(largest.highestMonthlyInstalment.minorUnits > 0)
        // A one-instalment plan in the calendar's last month is judged; its term limits reach past 9999.
        let last = try regular("9999-12-15", 1, 60_000)
        #expect(try assess(last).termMonths == 0)
    }

    @Test("breathing space, a first instalment in the past, and plans that are no plans are refused with what caused them")
    func refusals() throws {
        let space = ContractHold(kind: .breathingSpace, reason: "DRS", setBy: "bob", setOn: LocalDate.parse("2026-11-20")!)
        #expect(refusal(try plan([60_000]), holds: [space]) == .breathingSpace(contract: behind.contractNumber))
        var ended = space
        ended.liftedOn = LocalDate.parse("2026-11-30")!
        #expect(refusal(try plan([60_000]), holds: [ended]) == nil, "a lifted breathing space no longer stops a plan")
        let past = try PaymentArrangement(contractNumber: "C00000001", frequency: .monthly,
                                          instalments: [.init(dueDate: LocalDate.parse("2026-11-30")!, amount: pounds(60_000))])
        #expect(refusal(past) == .firstInstalmentPast(first: LocalDate.parse("2026-11-30")!, today: planDay))
        #expect(throws: ArrangementError.self) { try PaymentArrangement(contractNumber: "C1", frequency: .monthly, instalments: []) }
        #expect { try plan([10_000, 0]) } throws: { ($0 as? ArrangementError)?.code == .invalidInstalment }
        #expect { try PaymentArrangement(contractNumber: "C1", frequency: .monthly, instalments: [
            .init(dueDate: first, amount: pounds(100)), .init(dueDate: first, amount: pounds(100)),
        ]) } throws: { ($0 as? ArrangementError)?.input == first.description }
    }

    @Test("four eyes: never the proposer, a role the plan's limits allow, two different approvers when the matrix asks")
    func fourEyes() throws {
        let now = Timestamp(secondsSinceEpoch: 1_800_000_000)
        func user(_ name: String, _ role: Int) -> CollectionsUser { CollectionsUser(name: name, role: roles[role]) }
        let single = ArrangementProposal(id: 1, plan: try plan([10_000]), assessment: try assess(plan([10_000])), proposedBy: "alice",
                                         state: .pendingApproval, approvals: [])
        #expect(throws: MakerChecker.Refusal.raisedBy(user: "alice", record: "arrangement")) {
            try ArrangementApprovalPolicy.approve(single, by: user("alice", 3), under: matrix, at: now, comment: nil)
        }
        #expect(throws: MakerChecker.Refusal.roleTooLow(user: "ann", role: "agent", required: "teamLeader", record: "arrangement")) {
            try ArrangementApprovalPolicy.approve(single, by: user("ann", 0), under: matrix, at: now, comment: nil)
        }
        let approved = try ArrangementApprovalPolicy.approve(single, by: user("bob", 1), under: matrix, at: now, comment: "affordable")
        #expect(approved.isFinal)
        #expect(approved.approval.matrixVersion == 3)

        let large = contract(arrears: 200_000, monthly: 25_000)
        var double = ArrangementProposal(id: 2, plan: try plan([99_999], settlement: true),
                                         assessment: try assess(plan([99_999], settlement: true), contract: large),
                                         proposedBy: "alice", state: .pendingApproval, approvals: [])
        #expect(double.assessment.requiredRole.name == "headOfCredit")
        let firstApproval = try ArrangementApprovalPolicy.approve(double, by: user("carol", 2), under: matrix, at: now, comment: nil)
        #expect(!firstApproval.isFinal)
        double.approvals.append(firstApproval.approval)
        #expect(throws: MakerChecker.Refusal.alreadyApproved(user: "carol", record: "arrangement")) {
            try ArrangementApprovalPolicy.approve(double, by: user("carol", 2), under: matrix, at: now, comment: nil)
        }
        #expect(try ArrangementApprovalPolicy.approve(double, by: user("dave", 3), under: matrix, at: now, comment: nil).isFinal)
        double.state = .rejected
        #expect(throws: MakerChecker.Refusal.notPending(state: "rejected", record: "arrangement")) {
            try ArrangementApprovalPolicy.approve(double, by: user("dave", 3), under: matrix, at: now, comment: nil)
        }
    }
}

@Suite("Monitoring an arrangement against the payments: the grace days at their boundary, a penny short, paid in full")
struct ArrangementMonitorTests {
    let first = LocalDate.parse("2027-01-05")!

    func plan() throws -> PaymentArrangement {
        try PaymentArrangement.regular(contractNumber: "C1", frequency: .monthly, firstDate: first, count: 3,
                                       amount: Money(minorUnits: 10_000, currency: .gbp))
    }

    func paid(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: .gbp) }

    @Test("an instalment unpaid on the last day of grace stands; the day after it breaks the plan, naming it")
    func graceBoundary() throws {
        let plan = try plan()
        #expect(ArrangementMonitor.judge(plan, paidSince: paid(0), graceDays: 3, on: first.adding(days: 3)) == .onTrack)
        #expect(ArrangementMonitor.judge(plan, paidSince: paid(0), graceDays: 3, on: first.adding(days: 4))
            == .broken(missed: plan.instalments[0], due: paid(10_000), paid: paid(0)))
    }

    @Test("a penny short of what is due breaks it; what is due exactly keeps it; payments ahead cover later instalments")
    func pennyShort() throws {
        let plan = try plan()
        let afterSecond = plan.instalments[1].dueDate.adding(days: 4)
        #expect(ArrangementMonitor.judge(plan, paidSince: paid(19_999), graceDays: 3, on: afterSecond)
            == .broken(missed: plan.instalments[1], due: paid(20_000), paid: paid(19_999)))
        #expect(ArrangementMonitor.judge(plan, paidSince: paid(20_000), graceDays: 3, on: afterSecond) == .onTrack)
        #expect(ArrangementMonitor.judge(plan, paidSince: paid(25_000), graceDays: 0, on: plan.instalments[1].dueDate.adding(days: 1)) == .onTrack)
    }

    @Test("paid in full, even early, completes it")
    func completed() throws {
        let plan = try plan()
        #expect(ArrangementMonitor.judge(plan, paidSince: paid(30_000), graceDays: 3, on: first) == .completed)
        #expect(ArrangementMonitor.judge(plan, paidSince: paid(29_999), graceDays: 3, on: first) == .onTrack)
    }
}
