import ArgumentParser
import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesMapping
import MilesSync

/// `miles-adapter writeoff …`: prepare, approve, reject, list, show and export bad-debt write-offs.
struct WriteOffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "writeoff", abstract: "Bad-debt write-offs under the authority matrix.",
        discussion: "The CLI acts as the user named by 'user:' in the configuration or MILES_ADAPTER_USER; roles come from 'users:'.",
        subcommands: [Prepare.self, List.self, Show.self, Approve.self, Reject.self, Export.self, Reverse.self, Reversals.self,
                      ApproveReversal.self, RejectReversal.self])

    struct Prepare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a write-off file against the store and raise a request for each good row.",
            discussion: "Columns: contract_number, amount (or 'full'), invoice_numbers (optional, ';'-separated), reason_code, comment.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The write-off CSV file.") var file: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.postWriteOff)])
                try await session.requireIntactAudit()
                let user = try await session.person()
                let writeOffFile: WriteOffFile
                do { writeOffFile = try WriteOffFile(path: file) } catch {
                    throw CommandFailure(message: "\(error)", exitCode: .failed)
                }
                let report = try await session.desk.prepare(file: writeOffFile, by: user)
                for (line, id) in report.created { print("\(file):\(line): request \(id) raised") }
                for (line, id, state) in report.alreadyRequested { print("\(file):\(line): already requested as \(id) (\(state.rawValue)); nothing new") }
                for (line, reason) in report.refused { printError("\(file):\(line): refused: \(reason)") }
                print("\(report.created.count) raised, \(report.alreadyRequested.count) already requested, \(report.refused.count) refused")
                try CommandFailure.Code.outcome(done: report.created.count + report.alreadyRequested.count, refused: report.refused.count)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List write-off requests.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only requests in this state: \(WriteOffRequest.State.allCases.map(\.rawValue).joined(separator: ", ")).")
        var state: String?

        func validate() throws {
            if let state, WriteOffRequest.State(rawValue: state) == nil {
                throw ValidationError("--state '\(state)' is not one of \(WriteOffRequest.State.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                for request in try await session.store.writeOffRequests(state: state.flatMap(WriteOffRequest.State.init)) {
                    print("\(request.id)\t\(request.state.rawValue)\t\(request.contractNumber)\t\(request.amount)\t\(request.reason.rawValue)"
                          + "\tby \(request.requestedBy)\tneeds \(request.requiredRole) x\(request.approvalsNeeded)"
                          + "\tapproved by \(request.approvals.map(\.approver).joined(separator: "+"))")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one write-off request in full.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The request id.") var id: Int64

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                guard let request = try await session.store.writeOffRequest(id: id) else {
                    throw CommandFailure(message: "no write-off request \(id)", exitCode: .failed)
                }
                print(WriteOffCommand.describe(request))
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve requests as the acting user; the final approval queues the write-off for MILES.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Request ids.") var ids: [Int64]
        @Option(help: "A comment kept with the approval.") var comment: String?

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                try await session.requireIntactAudit()
                try DecisionResults.approvals(await session.desk.approve(ids: ids, by: try await session.person(), comment: comment))
            }
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject requests as the acting user, with a reason.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Request ids.") var ids: [Int64]
        @Option(help: "Why (kept in the audit log).") var reason: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                try await session.requireIntactAudit()
                try DecisionResults.rejections(await session.desk.reject(ids: ids, by: try await session.person(), reason: reason))
            }
        }
    }

    struct Reverse: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask to reverse (part of) a posted write-off: the customer paid after all, or it was written off in error.",
            discussion: """
                Reason codes are MILES's, from status-codes.yaml writeOffReversalReasons. The reversal is approved like a write-off \
                of its amount ('writeoff approve-reversal'); 'miles-adapter push' sends ReverseWriteOff once.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The write-off request id.") var id: Int64
        @Option(help: "The amount to reverse, or 'full'.") var amount: String
        @Option(help: "MILES's reason code (status-codes.yaml writeOffReversalReasons).") var reason: String
        @Option(help: "Why, kept with the request and in the audit log.") var comment: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.reverseWriteOff)])
                try await session.requireIntactAudit()
                switch try await session.creditDesk.requestReversal(writeOffRequestId: id, amount: amount, reasonCode: reason, comment: comment,
                                                                    by: try await session.person()) {
                case let .created(reversal): print("reversal \(reversal) of write-off request \(id) raised; it waits for approval")
                case let .alreadyRequested(reversal): print("reversal \(reversal) is already open for this; nothing new")
                }
            }
        }
    }

    struct Reversals: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List write-off reversals.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only those in this state: \(ApprovalTrail.State.allCases.map(\.rawValue).joined(separator: ", ")).") var state: String?

        func validate() throws { try CreditCommand.validate(state: state) }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                for reversal in try await session.store.writeOffReversals(state: state.flatMap(ApprovalTrail.State.init)) {
                    print("\(reversal.id)\t\(reversal.trail.state.rawValue)\twrite-off \(reversal.writeOffRequestId)\t\(reversal.contractNumber)"
                          + "\t\(reversal.amount)\t\(reversal.reasonCode)\t" + CreditCommand.summary(reversal.trail))
                }
            }
        }
    }

    struct ApproveReversal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve reversals as the acting person; the final approval queues them for MILES.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Reversal ids.") var ids: [Int64]
        @Option(help: "A comment kept with the approval.") var comment: String?

        func run() async throws { try await reportingFailures { try await CreditCommand.approve(.reverseWriteOff, ids: ids, comment: comment, global) } }
    }

    struct RejectReversal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject reversals as the acting person, with a reason.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Reversal ids.") var ids: [Int64]
        @Option(help: "Why (kept in the audit log).") var reason: String

        func run() async throws { try await reportingFailures { try await CreditCommand.reject(.reverseWriteOff, ids: ids, reason: reason, global) } }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export every request for the finance audit: maker, approvers, matrix version, MILES id, times, CONC 7.4 notice.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Output format (csv).") var format = "csv"
        @Option(help: "Write the export to this file, readable by you only, instead of standard output.") var output: String?

        func validate() throws {
            guard format == "csv" else { throw ValidationError("--format must be csv") }
        }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                let requests = try await session.store.writeOffRequests(state: nil)
                guard let output else { return print(WriteOffExport.csv(requests), terminator: "") }
                do {
                    try WriteOffExport.write(requests, to: output)
                } catch {
                    throw CommandFailure(message: "cannot write the export to \(output): \(error)", exitCode: .failed)
                }
                print("\(requests.count) write-off requests exported to \(output)")
            }
        }
    }

    static func describe(_ request: WriteOffRequest) -> String {
        var lines = [
            "write-off request \(request.id): \(request.state.rawValue)",
            "  contract:        \(request.contractNumber)",
            "  amount:          \(request.amount)" + (request.invoiceNumbers.isEmpty ? "" : " on \(request.invoiceNumbers.joined(separator: ", "))"),
            "  reason:          \(request.reason.rawValue): \(request.comment)",
            "  requested by:    \(request.requestedBy) at \(request.requestedAt)",
            "  needs:           \(request.requiredRole), \(request.approvalsNeeded) approver(s), matrix v\(request.matrixVersion)",
        ]
        for approval in request.approvals {
            lines.append("  approved by:     \(approval.approver) (\(approval.role), matrix v\(approval.matrixVersion)) at \(approval.at)")
        }
        if request.customerMustBeTold { lines.append("  CONC 7.4:        partial write-off: the customer must be told the rest of the debt still exists") }
        if let id = request.milesWriteOffId { lines.append("  MILES write-off: \(id)") }
        if let reason = request.failureReason { lines.append("  failed:          \(reason)") }
        if let rejection = request.rejection { lines.append("  rejected:        \(rejection)") }
        return lines.joined(separator: "\n")
    }
}
