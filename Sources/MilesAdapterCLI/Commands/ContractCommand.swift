import ArgumentParser
import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesSync

/// `miles-adapter contract …`: one contract's collections state, status changes, holds and notices.
struct ContractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contract", abstract: "A contract's status, holds and notices, and what the guards allow.",
        subcommands: [Show.self, Status.self, StatusFile.self, Hold.self, Notice.self, Note.self])

    static func today() -> LocalDate { CommandSession.clock().date }

    static func parseDate(_ text: String, option: String) throws -> LocalDate {
        guard let date = LocalDate.parse(text) else { throw ValidationError("\(option) '\(text)' is not a date like 2026-11-28") }
        return date
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Status, version, holds, notices, and the guards that block each action now.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The contract number.") var number: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                guard let view = try await session.contractDesk.view(contractNumber: number) else {
                    throw CommandFailure(message: "contract \(number) is not in the store", exitCode: .failed)
                }
                let contract = view.contract
                let status = session.mappings.statusCodes.internalStatus(forMilesCode: contract.statusCode)?.rawValue ?? "UNKNOWN to the mapping"
                var lines = [
                    "contract \(contract.contractNumber), version \(contract.version): MILES status \(contract.statusCode) (\(status))",
                    "  \(contract.agreementType.rawValue), \(contract.paidToDate) paid of \(contract.totalPrice); open \(contract.openBalance); "
                        + "arrears \(contract.arrears.amount), \(contract.arrears.missedPayments) missed",
                    "  customer \(contract.customer.partnerId)" + (contract.customer.vulnerable ? ", flagged vulnerable in MILES" : ""),
                    "  last payment " + (contract.lastPaymentDate.map {
                        "\($0); statute-barred from \(CollectionsGuards.statuteBarredDate(lastPaymentOrAcknowledgement: $0, address: contract.customer.address))"
                            + (CollectionsGuards.isScottish(contract.customer.address) ? " (Scottish address: 5 years)" : " (6 years)")
                    } ?? "not known to MILES"),
                ]
                let open = contract.openInvoices.filter { $0.openAmount.minorUnits > 0 }
                lines.append("  open invoices: " + (open.isEmpty ? "none" : "\(open.count)"))
                for invoice in open {
                    lines.append("    \(invoice.number)  due \(invoice.dueDate)  \(invoice.openAmount) open of \(invoice.amount)")
                }
                if let agent = view.placedWith { lines.append("  placed with \(agent)") }
                for hold in view.holds {
                    lines.append("  hold: \(hold.kind.rawValue) since \(hold.setOn) by \(hold.setBy): \(hold.reason)"
                                 + (hold.liftedOn.map { " (lifted \($0))" } ?? ""))
                }
                for sent in view.notices.arrearsNoticesSent { lines.append("  arrears notice sent \(sent)") }
                if let notice = view.notices.defaultNotice { lines.append("  default notice served \(notice.served), remedy by \(notice.remedyDate)") }
                if view.arrearsNoticeDue { lines.append("  s.86B: a notice of sums in arrears is due") }
                for (action, refusals) in view.refusals {
                    lines.append("  \(action.rawValue) (to \(action.targetStatus.rawValue)): " + (refusals.isEmpty ? "allowed" : "refused"))
                    lines += GuardHints.lines(refusals.map(\.description), contractNumber: contract.contractNumber, mappings: session.mappings)
                        .map { "  " + $0 }
                }
                print(lines.joined(separator: "\n"))
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask for a status change; it is checked against the guards and queued for MILES ('push' sends it).",
            discussion: "Statuses: \(ContractStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The contract number.") var number: String
        @Option(help: "The new status.") var to: String
        @Option(help: "MILES's reason code for the change.") var reason: String
        @Option(help: "A court order reference (repossession of protected goods, CCA s.90).") var courtOrder: String?
        @Option(help: "What shows the customer consented to the repossession at the time (CCA s.90); recorded and audited.")
        var customerConsent: String?
        @Option(help: "What shows the vehicle was abandoned (CCA s.90); recorded and audited.") var abandoned: String?
        @Option(help: "Effective date (YYYY-MM-DD; default today).") var effective: String?
        @Option(help: "Set aside a guard: RULE=REASON (needs the role authority-matrix.yaml names for the rule).")
        var override: [String] = []

        func validate() throws {
            guard ContractStatus(rawValue: to) != nil else {
                throw ValidationError("--to '\(to)' is not one of \(ContractStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let effective { _ = try ContractCommand.parseDate(effective, option: "--effective") }
            for item in override where !item.contains("=") {
                throw ValidationError("--override '\(item)' must be RULE=REASON, e.g. \(CollectionsGuards.defaultNoticeRule)=\"customer asked\"")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.updateContractStatus)])
                try await session.requireIntactAudit()
                var overrides: [String: String] = [:]
                for item in override {
                    let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                    overrides[parts[0]] = parts.count > 1 ? parts[1] : ""
                }
                do {
                    let id = try await session.contractDesk.requestStatusChange(
                        contractNumber: number, to: ContractStatus(rawValue: to)!, reasonCode: reason,
                        effectiveDate: try effective.map { try ContractCommand.parseDate($0, option: "--effective") } ?? ContractCommand.today(),
                        evidence: CollectionsGuards.Evidence(courtOrderReference: courtOrder, customerConsent: customerConsent, abandonment: abandoned),
                        by: try await session.person(), overrides: overrides)
                    print("status change \(id) queued: \(number) to \(to); run 'miles-adapter push'")
                } catch let error as ContractDeskError where error.code == .refusedByRules {
                    throw CommandFailure(message: "status change refused:\n"
                                         + GuardHints.lines(error.refusals, contractNumber: number, mappings: session.mappings).joined(separator: "\n"),
                                         exitCode: .failed)
                }
            }
        }
    }

    struct Hold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set (or lift) a hold that stops recovery, with a reason; audited.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The contract number.") var number: String
        @Option(help: "Hold type: \(ContractHold.Kind.allCases.map(\.rawValue).joined(separator: ", ")).") var type: String
        @Option(help: "Why.") var reason: String
        @Flag(help: "Lift the active hold of this type instead of setting one.") var lift = false

        func validate() throws {
            guard ContractHold.Kind(rawValue: type) != nil else {
                throw ValidationError("--type '\(type)' is not one of \(ContractHold.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                try await session.requireIntactAudit()
                let user = try await session.person().name
                let kind = ContractHold.Kind(rawValue: type)!
                if lift {
                    try await session.contractDesk.liftHold(contractNumber: number, kind: kind, by: user)
                    print("\(number): \(type) hold lifted")
                } else {
                    try await session.contractDesk.setHold(contractNumber: number, kind: kind, reason: reason, by: user)
                    print("\(number): \(type) hold set")
                }
            }
        }
    }

    struct Notice: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask MILES to issue a letter (an s.86B arrears notice, an s.87 default notice, …), or record one it served before.",
            discussion: """
                --letter queues RequestCustomerLetter ('push' sends it, once); MILES answers with the date it serves the \
                letter (and a default notice's remedy date), and the guards read those dates. --arrears-sent and \
                --default-served record a notice MILES served outside the adapter, with the dates on it.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The contract number.") var number: String
        @Option(help: "The letter MILES issues: \(LetterType.allCases.map(\.rawValue).joined(separator: ", ")).") var letter: String?
        @Option(help: "Date a notice of sums in arrears was sent outside the adapter.") var arrearsSent: String?
        @Option(help: "Date a default notice was served outside the adapter.") var defaultServed: String?
        @Option(help: "That default notice's remedy date (at least 14 days after service).") var remedy: String?

        func validate() throws {
            if let letter {
                guard LetterType(rawValue: letter) != nil else {
                    throw ValidationError("--letter '\(letter)' is not one of \(LetterType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard arrearsSent == nil, defaultServed == nil else { throw ValidationError("--letter asks MILES; it goes without --arrears-sent or --default-served") }
                return
            }
            guard arrearsSent != nil || defaultServed != nil else { throw ValidationError("give --letter, --arrears-sent or --default-served") }
            if (defaultServed == nil) != (remedy == nil) { throw ValidationError("--default-served and --remedy go together") }
        }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: letter == nil ? [] : [.outbox(.requestCustomerLetter)])
                try await session.requireIntactAudit()
                if let type = letter.flatMap(LetterType.init) {
                    switch try await session.contractDesk.requestLetter(contractNumber: number, type: type, by: try await session.person().name) {
                    case let .created(id): print("\(number): letter \(id) (\(type.rawValue)) queued; 'push' asks MILES, which answers with the date it serves it")
                    case let .alreadyRequested(id): print("\(number): letter \(id) (\(type.rawValue)) is already queued; nothing new")
                    }
                    return
                }
                let arrears = try arrearsSent.map { try ContractCommand.parseDate($0, option: "--arrears-sent") }
                var notice: ContractNotices.DefaultNotice?
                if let defaultServed, let remedy {
                    notice = ContractNotices.DefaultNotice(served: try ContractCommand.parseDate(defaultServed, option: "--default-served"),
                                                           remedyDate: try ContractCommand.parseDate(remedy, option: "--remedy"))
                }
                try await session.contractDesk.recordNotice(contractNumber: number, arrearsNoticeSentOn: arrears, defaultNotice: notice,
                                                            by: try await session.person().name)
                print("\(number): notice recorded")
            }
        }
    }

    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a note for the contract file in MILES ('push' sends it).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The contract number.") var number: String
        @Option(help: "MILES's note category, e.g. COLL (1 to 32 characters).") var category: String
        @Option(help: "The note (up to 4,000 characters).") var text: String

        func validate() throws {
            guard !text.isEmpty, text.count <= ContractNote.maxTextLength else {
                throw ValidationError("--text must be 1 to \(ContractNote.maxTextLength) characters (MILES takes no more)")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.addContractNote)])
                try await session.requireIntactAudit()
                let id = try await session.contractDesk.queueNote(contractNumber: number, category: category, text: text,
                                                                  by: try await session.person().name)
                print("note \(id) queued for \(number); run 'miles-adapter push'")
            }
        }
    }

    struct StatusFile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status-file",
            abstract: "Ask for a batch of status changes from a CSV; refused rows are reported with their line.",
            discussion: "Columns: contract_number, to, reason_code, effective_date (optional), court_order_reference (optional).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The CSV file.") var file: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.updateContractStatus)])
                try await session.requireIntactAudit()
                let changes: StatusChangeFile
                do { changes = try StatusChangeFile(path: file) } catch { throw CommandFailure(message: "\(error)", exitCode: .failed) }
                let report = await session.contractDesk.requestStatusChanges(changes, by: try await session.person(), today: ContractCommand.today())
                for (line, id) in report.queued { print("\(file):\(line): status change \(id) queued") }
                for (line, reason) in report.refused { printError("\(file):\(line): refused: \(reason)") }
                print("\(report.queued.count) queued, \(report.refused.count) refused")
                try CommandFailure.Code.outcome(done: report.queued.count, refused: report.refused.count)
            }
        }
    }
}
