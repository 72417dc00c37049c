import CollectionsDomain
import Testing

/// The matrix's limits are in pounds; a decision in euros cannot be compared with them.
@Suite("An amount in another currency than the authority matrix's is taken as above every limit")
struct MatrixCurrencyTests {
    let matrix = standardMatrix()

    func euros(_ cents: Int64) -> Money { Money(minorUnits: cents, currency: .eur) }

    @Test("a write-off of one euro needs the top role and two approvers; one pound stays an agent's, with one")
    func writeOffs() {
        #expect(matrix.requiredRole(for: euros(100), reason: .uneconomicalToPursue).name == "financeDirector")
        #expect(matrix.approvalsNeeded(for: euros(100)) == 2)
        #expect(matrix.requiredRole(for: pounds(100), reason: .uneconomicalToPursue).name == "agent")
        #expect(matrix.approvalsNeeded(for: pounds(100)) == 1)
    }

    @Test("a credit note of one euro needs the top role, and two approvers where the matrix has a second-approver limit")
    func creditNotes() {
        let roles = ["agent", "teamLeader"].enumerated().map { CollectionsRole(name: $1, rank: $0) }
        let limits = CreditLimits(currency: .gbp, tiers: [.init(role: roles[0], approveUpTo: 5_000), .init(role: roles[1], approveUpTo: nil)],
                                  secondApproverAbove: 250_000)
        #expect(limits.requiredRole(for: euros(100)) == roles[1])
        #expect(limits.approvalsNeeded(for: euros(100)) == 2)
        #expect(limits.requiredRole(for: pounds(100)) == roles[0])
        #expect(limits.approvalsNeeded(for: pounds(100)) == 1)
        let noSecond = CreditLimits(currency: .gbp, tiers: limits.tiers, secondApproverAbove: nil)
        #expect(noSecond.approvalsNeeded(for: euros(100)) == 1)
    }

    @Test("a payment arrangement in euros needs the matrix's top role and two approvers, however small")
    func arrangements() throws {
        var euroContract = contract(arrears: 60_000, monthly: 25_000)
        euroContract.currency = .eur
        let today = LocalDate.parse("2026-12-01")!
        let plan = try PaymentArrangement(contractNumber: euroContract.contractNumber, frequency: .monthly, instalments: [
            .init(dueDate: today.adding(days: 5), amount: euros(30_000)), .init(dueDate: today.adding(days: 5).adding(months: 1), amount: euros(30_000)),
        ])
        let income = IncomeAndExpenditure(monthlyIncome: euros(200_000), monthlyExpenditure: euros(100_000), recordedOn: today, recordedBy: "alice")
        let assessment = try ArrangementPolicy.assess(plan, contract: euroContract, income: income, holds: [], on: today, under: matrix)
        #expect(assessment.requiredRole == matrix.arrangementLimits.tiers.last?.role)
        #expect(assessment.approvalsNeeded == 2)
    }
}
