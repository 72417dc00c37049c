import ArgumentParser
import CollectionsDomain
import Foundation

/// `miles-adapter report aged-debt`: the aged-debt table from the store.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Reports from the collections store.", subcommands: [AgedDebt.self])

    struct AgedDebt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "aged-debt", abstract: "Open invoice amounts by days past due: current, 1-30, 31-60, 61-90, 91-120, 121+.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "The date to age the debt to (YYYY-MM-DD; default: today, UTC).")
        var asOf: String?

        func validate() throws {
            if let asOf, LocalDate.parse(asOf) == nil { throw ValidationError("--as-of '\(asOf)' is not a date like 2026-11-28") }
        }

        func run() async throws {
            try await reportingFailures {
                let configuration = try global.loadConfiguration()
                let store = try SyncCommand.openStore(configuration.database)
                let today = Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)).date
                print(try AgedDebtTable.render(store: store, asOf: asOf.flatMap(LocalDate.parse) ?? today))
            }
        }
    }
}
