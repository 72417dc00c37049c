import CollectionsDomain
import Testing

/// The shipped matrix's numbers: agent 250, team leader 5,000, head of credit 25,000, finance director unlimited;
/// a second approver above 10,000; insolvency needs a team leader.
func standardMatrix(version: Int = 1, agentLimit: Int64 = 25_000) -> AuthorityMatrix {
    let names = ["agent", "teamLeader", "headOfCredit", "financeDirector"]
    let roles = names.enumerated().map { CollectionsRole(name: $1, rank: $0) }
    return AuthorityMatrix(
        version: version, currency: .gbp,
        tiers: [AuthorityMatrix.Tier(role: roles[0], approvalLimit: agentLimit), AuthorityMatrix.Tier(role: roles[1], approvalLimit: 500_000),
                AuthorityMatrix.Tier(role: roles[2], approvalLimit: 2_500_000), AuthorityMatrix.Tier(role: roles[3], approvalLimit: nil)],
        secondApproverAbove: 1_000_000, reasonMinimumRoles: [.insolvency: roles[1]])
}

func pounds(_ pence: Int64) -> Money { Money(minorUnits: pence, currency: .gbp) }

func request(amount: Int64, reason: WriteOffReason = .uneconomicalToPursue, by maker: String = "alice",
             approvals: [Approval] = []) -> WriteOffRequest {
    WriteOffRequest(id: 1, contractNumber: "C00000001", invoiceNumbers: [], amount: pounds(amount), reason: reason, comment: "",
                    requestedBy: maker, requestedAt: Timestamp(secondsSinceEpoch: 0), state: .pendingApproval, requiredRole: "",
                    approvalsNeeded: 1, matrixVersion: 1, approvals: approvals, customerMustBeTold: false)
}

@Suite("Authority matrix and maker-checker")
struct AuthorityMatrixTests {
    let matrix = standardMatrix()

    func user(_ name: String, _ role: String) -> CollectionsUser { CollectionsUser(name: name, role: matrix.role(named: role)!) }

    @Test("each tier boundary: at the limit the role suffices, a penny above needs the next", arguments: [
        (Int64(25_000), "agent"), (25_001, "teamLeader"), (500_000, "teamLeader"), (500_001, "headOfCredit"),
        (2_500_000, "headOfCredit"), (2_500_001, "financeDirector"),
    ])
    func tierBoundaries(amount: Int64, role: String) throws {
        #expect(matrix.requiredRole(for: pounds(amount), reason: .uneconomicalToPursue).name == role)
        let approver = user("bob", role)
        let outcome = try WriteOffApprovalPolicy.approve(request(amount: amount), by: approver, under: matrix,
                                                         at: Timestamp(secondsSinceEpoch: 1), comment: nil)
        #expect(outcome.approval.role == role)
        if approver.role.rank > 0 {
            let below = user("carol", matrix.tiers[approver.role.rank - 1].role.name)
            #expect(throws: MakerChecker.Refusal.roleTooLow(user: "carol", role: below.role.name, required: role, record: "write-off request")) {
                try WriteOffApprovalPolicy.approve(request(amount: amount), by: below, under: matrix, at: Timestamp(secondsSinceEpoch: 1),
                                                   comment: nil)
            }
        }
    }

    @Test("a reason can demand more than the amount does: insolvency needs a team leader even for £10")
    func reasonMinimum() {
        #expect(matrix.requiredRole(for: pounds(1_000), reason: .insolvency).name == "teamLeader")
        #expect(matrix.requiredRole(for: pounds(1_000), reason: .uneconomicalToPursue).name == "agent")
    }

    @Test("above the dual-approval threshold the request waits for a second, different approver")
    func dualApproval() throws {
        #expect(matrix.approvalsNeeded(for: pounds(1_000_000)) == 1)
        #expect(matrix.approvalsNeeded(for: pounds(1_000_001)) == 2)
        let first = try WriteOffApprovalPolicy.approve(request(amount: 1_500_000), by: user("bob", "headOfCredit"), under: matrix,
                                                       at: Timestamp(secondsSinceEpoch: 1), comment: nil)
        #expect(!first.isFinal)
        let waiting = request(amount: 1_500_000, approvals: [first.approval])
        #expect(throws: MakerChecker.Refusal.alreadyApproved(user: "bob", record: "write-off request")) {
            try WriteOffApprovalPolicy.approve(waiting, by: user("bob", "headOfCredit"), under: matrix, at: Timestamp(secondsSinceEpoch: 2),
                                               comment: nil)
        }
        let second = try WriteOffApprovalPolicy.approve(waiting, by: user("dave", "financeDirector"), under: matrix,
                                                        at: Timestamp(secondsSinceEpoch: 2), comment: nil)
        #expect(second.isFinal)
    }

    @Test("the maker can never approve their own request, whatever their role")
    func makerIsNotChecker() {
        #expect(throws: MakerChecker.Refusal.raisedBy(user: "alice", record: "write-off request")) {
            try WriteOffApprovalPolicy.approve(request(amount: 100, by: "alice"), by: user("alice", "financeDirector"), under: matrix,
                                               at: Timestamp(secondsSinceEpoch: 1), comment: nil)
        }
    }

    @Test("a role the matrix does not know cannot approve")
    func unknownRole() {
        let stranger = CollectionsUser(name: "eve", role: CollectionsRole(name: "intern", rank: 9))
        #expect(throws: MakerChecker.Refusal.unknownRole(user: "eve", role: "intern")) {
            try WriteOffApprovalPolicy.approve(request(amount: 100), by: stranger, under: matrix, at: Timestamp(secondsSinceEpoch: 1),
                                               comment: nil)
        }
    }

    @Test("a new matrix version judges new approvals; earlier approvals keep the version they were made under")
    func matrixVersionChange() throws {
        let first = try WriteOffApprovalPolicy.approve(request(amount: 1_500_000), by: user("bob", "headOfCredit"), under: matrix,
                                                       at: Timestamp(secondsSinceEpoch: 1), comment: nil)
        #expect(first.approval.matrixVersion == 1)
        let raised = standardMatrix(version: 2, agentLimit: 50_000)
        let second = try WriteOffApprovalPolicy.approve(
            request(amount: 1_500_000, approvals: [first.approval]),
            by: CollectionsUser(name: "dave", role: raised.role(named: "financeDirector")!), under: raised,
            at: Timestamp(secondsSinceEpoch: 2), comment: nil)
        #expect(second.approval.matrixVersion == 2)
        #expect(first.approval.matrixVersion == 1)
        #expect(raised.requiredRole(for: pounds(40_000), reason: .uneconomicalToPursue).name == "agent")
        #expect(matrix.requiredRole(for: pounds(40_000), reason: .uneconomicalToPursue).name == "teamLeader")
    }
}
