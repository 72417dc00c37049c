import ArgumentParser
import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesSync

/// `miles-adapter bank watch DIR`: the bank's statements dropped into a folder, each imported once.
struct BankWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Watch a drop folder of bank statements, importing each file once it is complete.",
        discussion: """
            Any file in DIR is a statement (camt.053 or MT940, told by its first bytes); hidden files and done-files are
            not. A file is complete when NAME.done is beside it, or when its size has not changed between two looks and it
            was last written at least --stable-for seconds ago. Imported files (and files imported before, which change
            nothing) move to DIR/processed/; files refused as a whole (malformed, or for an account mappings/bank does not
            configure) move to DIR/failed/ with NAME.report.txt saying why. A failure that is not the file's (the
            store, the folders) stops the watch.

            Statements a killed import or watch left part done are finished first. Several watchers may share the folder:
            each file is claimed by one (renamed into DIR/.taking/HOST/PID/), and what a killed watcher on this machine had
            claimed goes back into DIR at the next look.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The drop folder.") var directory: String
    @Option(help: "Seconds between looks.") var interval = 5
    @Option(help: "Seconds a file must be unwritten before it is taken without a done-file.") var stableFor = 10
    @Flag(help: "Look once and stop (for a scheduler): exit 1 when every file taken was refused, 6 when some were.") var once = false
    @Option(help: "Entries committed per transaction.") var batchSize = BankDesk.defaultBatchSize
    @OptionGroup var metrics: MetricsOptions

    func run() async throws {
        try await reportingFailures { try await watch() }
    }

    private func watch() async throws {
        let session = try await CommandSession(global, requiring: [.outbox(.allocatePayment), .outbox(.reverseAllocation)])
        let desk = session.bankDesk(batchSize: batchSize)
        for outcome in try await desk.resumeUnfinished() {
            print("resumed \(outcome.originalName) (kept as \(outcome.keptAt)): " + Self.summary(outcome.counts))
        }
        let watcher = BankStatementWatcher(desk: desk, directory: directory, stableFor: .seconds(stableFor))
        repeat {
            let started = ContinuousClock.now
            var counts = ["files": 0, "files_failed": 0, "entries_allocated": 0, "entries_to_check": 0]
            for taken in try await watcher.scan() {
                counts["files", default: 0] += 1
                guard let outcome = taken.outcome else {
                    counts["files_failed", default: 0] += 1
                    printError("\(taken.path) -> \(taken.movedTo): \(taken.failure ?? "failed")")
                    continue
                }
                if outcome.duplicate {
                    print("\(taken.path) -> \(taken.movedTo): imported before (kept as \(outcome.keptAt)), nothing changed")
                    continue
                }
                let flagged = outcome.statements.filter { if case .gap(lastClosing: _) = $0.statement.continuity { true } else { false } }
                print("\(taken.path) -> \(taken.movedTo): \(outcome.statements.count) statements, " + Self.summary(outcome.counts)
                      + flagged.map { "; FLAGGED: statement \($0.statement.header.statementId) does not follow its account's last closing balance" }
                      .joined())
                counts["entries_allocated", default: 0] += outcome.counts.allocated
                counts["entries_to_check", default: 0] += outcome.counts.toCheck
            }
            metrics.publish(JobMetrics(job: "bank-watch", succeeded: counts["files_failed"] == 0, duration: ContinuousClock.now - started,
                                       endedAt: CommandSession.clock(), counts: counts))
            if once, let refused = CommandFailure.filesRefused(counts["files_failed", default: 0], of: counts["files", default: 0], in: directory) {
                throw refused
            }
            if !once { try await Task.sleep(for: .seconds(interval)) }
        } while !once
    }

    static func summary(_ counts: BankDesk.Counts) -> String {
        "\(counts.allocated) allocated, \(counts.toCheck) to check, \(counts.suspense) in suspense, "
            + "\(counts.reversals) reversals, \(counts.noAction) with nothing to do, \(counts.alreadyStored) already stored"
    }
}
