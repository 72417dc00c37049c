import ArgumentParser
import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import MilesMapping
import MilesSync

/// `miles-adapter credit …`: credit notes under the matrix's credit limits, maker-checker, pushed
/// to MILES once by `push`.
struct CreditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credit", abstract: "Credit notes: raise, approve, reject, list, show.",
        discussion: """
            Reason codes are MILES's, from status-codes.yaml creditReasons; who may approve what is 'credits' in \
            authority-matrix.yaml. The final approval queues RaiseCreditNote; 'miles-adapter push' sends it.
            """,
        subcommands: [Raise.self, List.self, Show.self, Approve.self, Reject.self])

    struct Raise: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Raise a credit note against a contract's open invoices, as the acting person.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The contract number.") var contract: String
        @Option(help: "The amount in the contract's currency, or 'full' for everything open on the invoices.") var amount: String
        @Option(help: "MILES's reason code (status-codes.yaml creditReasons).") var reason: String
        @Option(name: .customLong("invoice"), help: "An invoice credited (repeat for several; none: the contract's open invoices, oldest first).")
        var invoices: [String] = []
        @Option(help: "Why, kept with the request and in the audit log.") var comment: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.raiseCreditNote)])
                try await session.requireIntactAudit()
                switch try await session.creditDesk.raiseCreditNote(
                    contractNumber: contract, amount: amount, invoiceNumbers: invoices, reasonCode: reason, comment: comment,
                    by: try await session.person()) {
                case let .created(id): print("credit note \(id) raised; it waits for approval")
                case let .alreadyRequested(id): print("credit note \(id) is already open for this; nothing new")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List credit notes.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only those in this state: \(ApprovalTrail.State.allCases.map(\.rawValue).joined(separator: ", ")).") var state: String?

        func validate() throws { try CreditCommand.validate(state: state) }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                for credit in try await session.store.creditNotes(state: state.flatMap(ApprovalTrail.State.init)) {
                    print("\(credit.id)\t\(credit.trail.state.rawValue)\t\(credit.contractNumber)\t\(credit.amount)\t\(credit.reasonCode)"
                          + "\t" + CreditCommand.summary(credit.trail))
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one credit note in full.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The credit note id.") var id: Int64

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                guard let credit = try await session.store.creditNote(id: id) else {
                    throw CommandFailure(message: "no credit note \(id)", exitCode: .failed)
                }
                print(CreditCommand.describe("credit note \(credit.id)", credit.trail, details: [
                    "contract:        \(credit.contractNumber)",
                    "amount:          \(credit.amount)" + (credit.invoiceNumbers.isEmpty ? "" : " on \(credit.invoiceNumbers.joined(separator: ", "))"),
                    "reason:          \(credit.reasonCode): \(credit.comment)",
                ]))
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve credit notes as the acting person; the final approval queues them for MILES.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Credit note ids.") var ids: [Int64]
        @Option(help: "A comment kept with the approval.") var comment: String?

        func run() async throws { try await reportingFailures { try await CreditCommand.approve(.raiseCreditNote, ids: ids, comment: comment, global) } }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject credit notes as the acting person, with a reason.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Credit note ids.") var ids: [Int64]
        @Option(help: "Why (kept in the audit log).") var reason: String

        func run() async throws { try await reportingFailures { try await CreditCommand.reject(.raiseCreditNote, ids: ids, reason: reason, global) } }
    }

    static func validate(state: String?) throws {
        if let state, ApprovalTrail.State(rawValue: state) == nil {
            throw ValidationError("--state '\(state)' is not one of \(ApprovalTrail.State.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// Approves credit notes or reversals, one line each; exit 1 or 6 when some were refused. Run inside `reportingFailures`.
    static func approve(_ kind: OutboxKind, ids: [Int64], comment: String?, _ global: GlobalOptions) async throws {
        let session = try await CommandSession(global)
        try await session.requireIntactAudit()
        try DecisionResults.approvals(await session.creditDesk.approve(kind, ids: ids, by: try await session.person(), comment: comment))
    }

    static func reject(_ kind: OutboxKind, ids: [Int64], reason: String, _ global: GlobalOptions) async throws {
        let session = try await CommandSession(global)
        try await session.requireIntactAudit()
        try DecisionResults.rejections(await session.creditDesk.reject(kind, ids: ids, by: try await session.person(), reason: reason))
    }

    static func summary(_ trail: ApprovalTrail) -> String {
        "by \(trail.requestedBy)\tneeds \(trail.requiredRole) x\(trail.approvalsNeeded)\tapproved by \(trail.approvals.map(\.approver).joined(separator: "+"))"
            + (trail.milesReference.map { "\tMILES \($0)" } ?? "")
    }

    static func describe(_ title: String, _ trail: ApprovalTrail, details: [String]) -> String {
        var lines = ["\(title): \(trail.state.rawValue)"] + details.map { "  " + $0 } + [
            "  requested by:    \(trail.requestedBy) at \(trail.requestedAt)",
            "  needs:           \(trail.requiredRole), \(trail.approvalsNeeded) approver(s), matrix v\(trail.matrixVersion)",
        ]
        for approval in trail.approvals {
            lines.append("  approved by:     \(approval.approver) (\(approval.role), matrix v\(approval.matrixVersion)) at \(approval.at)")
        }
        if let reference = trail.milesReference { lines.append("  MILES id:        \(reference)") }
        if let rejection = trail.rejection { lines.append("  rejected:        \(rejection)") }
        if let failure = trail.failureReason { lines.append("  failed:          \(failure)") }
        return lines.joined(separator: "\n")
    }
}
