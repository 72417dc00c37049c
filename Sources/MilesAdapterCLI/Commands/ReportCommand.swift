import ArgumentParser
import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesSync

/// `miles-adapter report aged-debt`: the aged-debt table from the store.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Reports from the collections store.", subcommands: [AgedDebt.self, NoticesDue.self])

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
                let configuration = try global.loadConfiguration()
                let store = try CommandSession.openStore(configuration.database)
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

        func validate() throws {
            if let asOf, LocalDate.parse(asOf) == nil { throw ValidationError("--as-of '\(asOf)' is not a date like 2026-11-28") }
        }

        func run() async throws {
            try await reportingFailures {
                let store = try CommandSession.openStore(try global.loadConfiguration().database)
                let today = asOf.flatMap(LocalDate.parse) ?? CommandSession.clock().date
                let due = try await ReportDesk(store: store).arrearsNoticesDue(on: today)
                for contract in due {
                    print("\(contract.contractNumber)\t\(contract.arrears.missedPayments) missed\tarrears \(contract.arrears.amount)"
                          + "\toldest unpaid \(contract.arrears.oldestUnpaidDueDate?.description ?? "-")")
                }
                print("\(due.count) contract\(due.count == 1 ? "" : "s") owed a notice of sums in arrears as of \(today)")
            }
        }
    }
}
