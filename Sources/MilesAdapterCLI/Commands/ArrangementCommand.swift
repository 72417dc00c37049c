import ArgumentParser
import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import MilesMapping
import MilesSync

/// `miles-adapter arrangement …`: payment arrangements (CONC 7.3) under the matrix's arrangement
/// limits and maker-checker, created in MILES by `push`, checked against the payments at every sync.
struct ArrangementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arrangement", abstract: "Payment arrangements: propose, approve, reject, cancel, close, list, show.",
        discussion: """
            A plan is judged when proposed: affordable against the customer's income and expenditure, not in breathing space, \
            within the limits of 'arrangements' in authority-matrix.yaml, which also say who approves it. The final approval \
            queues CreatePaymentArrangement ('push' sends it). Every 'sync contracts' then checks the payments MILES received: \
            an instalment unpaid past the grace days breaks the plan, and an approver closes it ('arrangement close'), which \
            requests the move back to arrears through the guards, with the reason status-codes.yaml's defaultReasons gives \
            inArrears; a plan paid in full is closed back to active.
            """,
        subcommands: [Propose.self, Approve.self, Reject.self, Cancel.self, Close.self, List.self, Show.self, Reported.self])

    struct Propose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Propose a plan of equal instalments, as the acting person.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The contract number.") var contract: String
        @Option(help: "How often: \(PaymentArrangement.Frequency.allCases.map(\.rawValue).joined(separator: ", ")).") var frequency = "monthly"
        @Option(help: "The first instalment's date (YYYY-MM-DD).") var first: String
        @Option(help: "How many instalments.") var count: Int
        @Option(help: "Each instalment, in the contract's currency.") var amount: String
        @Flag(help: "In full and final settlement of the arrears: what the plan leaves unpaid is given up.") var settlement = false
        @Option(help: "The customer's monthly income, as recorded with them (CONC 7.3).") var income: String
        @Option(help: "The customer's monthly expenditure, as recorded with them.") var expenditure: String

        func validate() throws {
            guard PaymentArrangement.Frequency(rawValue: frequency) != nil else {
                throw ValidationError("--frequency '\(frequency)' is not one of \(PaymentArrangement.Frequency.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard LocalDate.parse(first) != nil else { throw ValidationError("--first '\(first)' is not a date like 2026-12-10") }
            guard count > 0 else { throw ValidationError("--count must be 1 or more") }
        }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.createPaymentArrangement)])
                try await session.requireIntactAudit()
                let person = try await session.person()
                guard let stored = try await session.store.contract(number: contract) else {
                    throw CommandFailure(message: "contract \(contract) is not in the store (run sync contracts first, or check the number)",
                                         exitCode: .failed)
                }
                func money(_ text: String, _ option: String) throws -> Money {
                    guard let value = DecimalAmount.parse(text)?.money(in: stored.currency), value.minorUnits >= 0 else {
                        throw CommandFailure(message: "\(option) '\(text)' is not an amount in \(stored.currency.code)", exitCode: .failed)
                    }
                    return value
                }
                let plan = try PaymentArrangement.regular(
                    contractNumber: contract, frequency: PaymentArrangement.Frequency(rawValue: frequency)!, firstDate: LocalDate.parse(first)!,
                    count: count, amount: try money(amount, "--amount"), isSettlement: settlement)
                let statement = IncomeAndExpenditure(monthlyIncome: try money(income, "--income"), monthlyExpenditure: try money(expenditure, "--expenditure"),
                                                     recordedOn: CommandSession.clock().date, recordedBy: person.name)
                let id = try await session.arrangementDesk.propose(plan, income: statement, by: person)
                guard let proposal = try await session.store.arrangement(id: id) else { return }
                print("arrangement \(id) proposed: \(plan.instalments.count) \(plan.frequency.rawValue) instalments of \(plan.instalments[0].amount), "
                      + "\(plan.firstDate) to \(plan.lastDate), \(plan.total); needs \(proposal.assessment.requiredRole.name) "
                      + "x\(proposal.assessment.approvalsNeeded)")
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve arrangements as the acting person; the final approval queues them for MILES.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Arrangement ids.") var ids: [Int64]
        @Option(help: "A comment kept with the approval.") var comment: String?

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                try await session.requireIntactAudit()
                try DecisionResults.approvals(await session.arrangementDesk.approve(ids: ids, by: try await session.person(), comment: comment))
            }
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a waiting arrangement, with a reason.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The arrangement id.") var id: Int64
        @Option(help: "Why (kept in the audit log).") var reason: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                try await session.requireIntactAudit()
                try await session.arrangementDesk.reject(id: id, by: try await session.person(), reason: reason)
                print("\(id): rejected")
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel an arrangement: a waiting one at once, an active one in MILES ('push' sends it).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The arrangement id.") var id: Int64
        @Option(help: "Why (kept in the audit log and sent to MILES).") var reason: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.cancelPaymentArrangement)])
                try await session.requireIntactAudit()
                try await session.arrangementDesk.cancel(id: id, by: try await session.person(), reason: reason)
                let state = try await session.store.arrangement(id: id)?.state
                print(state == .cancelled ? "\(id): cancelled" : "\(id): cancellation queued for MILES")
            }
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decide what follows a broken arrangement (back to arrears) or a completed one (back to active), through the guards.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The arrangement id.") var id: Int64

        func run() async throws {
            try await reportingFailures {
                // It queues the status change and ends the plan in MILES.
                let session = try await CommandSession(global, requiring: [.outbox(.updateContractStatus), .outbox(.cancelPaymentArrangement)])
                try await session.requireIntactAudit()
                let change = try await session.arrangementDesk.close(id: id, by: try await session.person())
                print("\(id): closed; status change \(change) queued for MILES")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List arrangements.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only those in this state: \(ArrangementProposal.State.allCases.map(\.rawValue).joined(separator: ", ")).") var state: String?

        func validate() throws {
            if let state, ArrangementProposal.State(rawValue: state) == nil {
                throw ValidationError("--state '\(state)' is not one of \(ArrangementProposal.State.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                for arrangement in try await session.store.arrangements(state: state.flatMap(ArrangementProposal.State.init)) {
                    let plan = arrangement.plan
                    print("\(arrangement.id)\t\(arrangement.state.rawValue)\t\(plan.contractNumber)\t\(plan.instalments.count) x \(plan.frequency.rawValue)"
                          + "\t\(plan.total)\t\(plan.firstDate)..\(plan.lastDate)\tby \(arrangement.proposedBy)"
                          + (arrangement.outcome.map { "\t\($0)" } ?? ""))
                }
            }
        }
    }

    struct Reported: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Arrangements agents report they agreed: each waits for someone to propose a plan with the customer's income and expenditure.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Also those already proposed.") var all = false

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                for report in try await session.store.reportedArrangements(open: !all, limit: 1_000) {
                    print("\(report.id)\t\(report.contractNumber)\t\(report.agent)\t\(report.reportedOn)\t\(report.details)\t\(report.source)"
                          + (report.proposal.map { "\tproposed as arrangement \($0)" } ?? ""))
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one arrangement in full.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The arrangement id.") var id: Int64

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                guard let arrangement = try await session.store.arrangement(id: id) else {
                    throw CommandFailure(message: "no arrangement \(id)", exitCode: .failed)
                }
                let plan = arrangement.plan
                var lines = ["arrangement \(id): \(arrangement.state.rawValue)",
                             "  contract:        \(plan.contractNumber)" + (plan.isSettlement ? " (in full and final settlement)" : ""),
                             "  proposed by:     \(arrangement.proposedBy)",
                             "  needs:           \(arrangement.assessment.requiredRole.name), \(arrangement.assessment.approvalsNeeded) approver(s), "
                                + "matrix v\(arrangement.assessment.matrixVersion); term \(arrangement.assessment.termMonths) months"
                                + (arrangement.assessment.isTokenPlan ? ", token plan" : "")]
                if let income = arrangement.income {
                    lines.append("  income:          \(income.monthlyIncome) a month, expenditure \(income.monthlyExpenditure), "
                                 + "disposable \(income.disposableIncome) (recorded \(income.recordedOn) by \(income.recordedBy))")
                }
                for instalment in plan.instalments { lines.append("  instalment:      \(instalment.dueDate)  \(instalment.amount)") }
                for approval in arrangement.approvals {
                    lines.append("  approved by:     \(approval.approver) (\(approval.role), matrix v\(approval.matrixVersion)) at \(approval.at)")
                }
                if let milesId = arrangement.milesArrangementId { lines.append("  MILES id:        \(milesId)") }
                if let paid = arrangement.paidBefore { lines.append("  paid before it:  \(paid)") }
                if let outcome = arrangement.outcome { lines.append("  outcome:         \(outcome)") }
                print(lines.joined(separator: "\n"))
            }
        }
    }
}
