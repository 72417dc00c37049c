import ArgumentParser
import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesSync

/// `miles-adapter report aged-debt`: the aged-debt table from the store.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Reports from the collections store.", subcommands: [AgedDebt.self, NoticesDue.self, Risky.self])

    struct AgedDebt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "aged-debt", abstract: "Open invoice amounts by days past due: current, 1-30, 31-60, 61-90, 91-120, 121+.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "The date to age the debt to (YYYY-MM-DD; default: the date of the last completed contract sync).")
        var asOf: String?

        func validate() throws {
            if let asOf, LocalDate.parse(asOf) == nil { throw ValidationError("--as-of '\(asOf)' is not a date like 2026-11-28") }
        }

        func run() async throws {
            try await reportingFailures {
                let configuration = try await global.loadConfiguration()
                let store = try await CommandSession.openStore(configuration)
                let desk = ReportDesk(store: store)
                let (date, source): (LocalDate, String)
                if let given = asOf.flatMap(LocalDate.parse) {
                    (date, source) = (given, "--as-of")
                } else {
                    (date, source) = try await ReportDesk.businessDate(from: store, today: CommandSession.clock().date)
                }
                print("aged to \(date): \(source)")
                print(AgedDebtTable.render(try await desk.agedDebt(asOf: date)))
            }
        }
    }

    struct NoticesDue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "notices-due",
            abstract: "Contracts owed a notice of sums in arrears (CCA s.86B): two payments behind and none sent within 14 days, or none in 6 months.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "The date to judge on (YYYY-MM-DD; default: today, UTC).")
        var asOf: String?

        @Flag(help: "Ask MILES to issue each of them (once: a notice already queued is not asked again), as the acting person.")
        var request = false

        func validate() throws {
            if let asOf, LocalDate.parse(asOf) == nil { throw ValidationError("--as-of '\(asOf)' is not a date like 2026-11-28") }
        }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                let today = asOf.flatMap(LocalDate.parse) ?? CommandSession.clock().date
                let due = try await ReportDesk(store: session.store).arrearsNoticesDue(on: today)
                for contract in due {
                    print("\(contract.contractNumber)\t\(contract.arrears.missedPayments) missed\tarrears \(contract.arrears.amount)"
                          + "\toldest unpaid \(contract.arrears.oldestUnpaidDueDate?.description ?? "-")")
                }
                print("\(due.count) contract\(due.count == 1 ? "" : "s") owed a notice of sums in arrears as of \(today)")
                guard request, !due.isEmpty else { return }
                try await session.requireIntactAudit()
                let person = try await session.person()
                var queued = 0
                var already = 0
                for contract in due {
                    switch try await session.contractDesk.requestLetter(contractNumber: contract.contractNumber, type: .arrearsNotice, by: person.name) {
                    case .created: queued += 1
                    case .alreadyRequested: already += 1
                    }
                }
                print("\(queued) arrears notice\(queued == 1 ? "" : "s") queued for MILES, \(already) already queued; 'push' sends them")
            }
        }
    }

    struct Risky: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Risky customers: the alerts the contract syncs raised under mappings/risk-rules.yaml, newest first, each with its rule and facts.",
            discussion: "Acknowledge one, having looked into it, with 'miles-adapter risk acknowledge ID --comment TEXT'.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Include the alerts already acknowledged.") var all = false

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                let alerts = try await session.riskDesk.alerts(includeAcknowledged: all)
                for stored in alerts {
                    let acknowledged = stored.acknowledgedAt.map { "\tacknowledged by \(stored.acknowledgedBy ?? "") at \($0): \(stored.comment ?? "")" } ?? ""
                    print("\(stored.id)\t\(stored.alert.contractNumber)\t\(stored.alert.rule)\t\(stored.alert.facts)\traised \(stored.raisedAt)\(acknowledged)")
                }
                print("\(alerts.count) \(all ? "" : "open ")risk alert\(alerts.count == 1 ? "" : "s")")
            }
        }
    }
}

/// `miles-adapter risk`: the team leader's side of the risky-customer alerts.
struct RiskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "risk", abstract: "Acknowledge risky-customer alerts ('report risky' lists them).", subcommands: [Acknowledge.self])

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record that you looked into a risk alert and what you found (audited); needs the matrix's riskAlerts role.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The alert's id, as 'report risky' lists it.") var id: Int64
        @Option(help: "What looking into it found.") var comment: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                try await session.riskDesk.acknowledge(id: id, by: try await session.person(), comment: comment)
                print("risk alert \(id) acknowledged")
            }
        }
    }
}
