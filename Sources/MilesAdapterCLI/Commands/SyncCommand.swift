import ArgumentParser
import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import Logging
import MilesMapping
import MilesSync

/// `miles-adapter sync contracts`: the overnight pull from MILES.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Pull data from MILES into the collections store.", subcommands: [Contracts.self])

    struct Contracts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pull every contract changed in MILES since the last run.",
            discussion: """
                Without options the sync resumes an interrupted run from its checkpoint, or starts the next
                incremental query where the last completed one began. Every page is committed with the checkpoint.
                """)

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Fetch every contract, discarding any interrupted query.")
        var full = false

        @Option(help: "Stop (resumably, between pages) if the run takes longer than this many minutes.")
        var deadlineMinutes: Int?

        @OptionGroup var metrics: MetricsOptions

        @Option(help: "Fetch contracts changed after this date (YYYY-MM-DD, midnight UTC) or time (ISO 8601 with zone).")
        var since: String?

        func validate() throws {
            if full, since != nil { throw ValidationError("use either --full or --since, not both") }
            if let since, SyncCommand.parseSince(since) == nil {
                throw ValidationError("--since '\(since)' is not a date like 2026-11-01 or a time like 2026-11-01T22:00:00Z")
            }
        }

        func run() async throws {
            let started = ContinuousClock.now
            var counts: [String: Int] = [:]
            var succeeded = false
            defer {
                metrics.publish(JobMetrics(job: "sync", succeeded: succeeded, duration: ContinuousClock.now - started,
                                                   endedAt: CommandSession.clock(), counts: counts))
            }
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.contractSync])
                let logger = global.makeLogger("miles-adapter.sync", secrets: session.configuration.secrets)
                let configuration = session.configuration
                let mode: ContractSync.Mode = full ? .full : since.flatMap(SyncCommand.parseSince).map { .since($0) } ?? .resume
                // One contract sync at a time: a run the scheduler starts while another goes on leaves it alone.
                let holder = Processes.jobLockHolder(at: CommandSession.clock())
                if case let .heldBy(other) = try await session.store.acquireJobLock(job: "contracts", for: holder, isGone: Processes.isGone) {
                    print("another contract sync is running (\(other)); this one leaves it to finish and does nothing")
                    succeeded = true
                    return
                }
                let summary: ContractSync.Summary
                do {
                    summary = try await SyncCommand.runSync(
                        gateway: try session.gateway(), store: session.store,
                        configuration: ContractSync.Configuration(pageSize: configuration.pageSize,
                                                                  retry: RetryPolicy(maxAttempts: configuration.maxAttempts),
                                                                  deadline: deadlineMinutes.map { .seconds($0 * 60) }),
                        mode: mode, logger: logger, monitoring: ArrangementMonitoring(store: session.store, mappings: session.mappings),
                        storeExecutor: session.storeExecutor)
                } catch {
                    try? await session.store.releaseJobLock(job: "contracts", for: holder)
                    throw error
                }
                try await session.store.releaseJobLock(job: "contracts", for: holder)
                counts = ["pages": summary.pages, "contracts_received": summary.received, "contracts_written": summary.written,
                          "contracts_stored": summary.storedTotal, "arrangements_broken": summary.arrangements.broken.count]
                succeeded = summary.outcome == .completed
                print(SyncCommand.describe(summary))
            }
        }
    }

    /// This process's peak resident memory (VmHWM), read from /proc; `nil` where there is no /proc.
    static func peakResidentMemoryKilobytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    static func parseSince(_ text: String) -> Timestamp? {
        if let date = LocalDate.parse(text) { return Timestamp(startOf: date) }
        return Timestamp.parse(text)
    }

    /// Runs the contract sync with progress output, turning its failures into CLI failures.
    static func runSync(gateway: MilesGateway, store: any SyncStore, configuration: ContractSync.Configuration,
                        mode: ContractSync.Mode, logger: Logger, monitoring: ArrangementMonitoring?,
                        storeExecutor: (any TaskExecutor)?) async throws -> ContractSync.Summary {
        let reporter = SyncProgressReporter(logger: logger)
        let sync = ContractSync(gateway: gateway, store: store, configuration: configuration, logger: logger, monitoring: monitoring)
        do {
            let summary = try await withTaskExecutorPreference(storeExecutor) { () async throws(ContractSyncError) in
                try await sync.run(mode: mode) { reporter.report($0) }
            }
            reporter.finish()
            return summary
        } catch {
            reporter.finish()
            // The peak tells an operator whether a hostile or huge answer cost memory before it was refused.
            let peak = peakResidentMemoryKilobytes().map { " (peak memory \($0 / 1024) MB)" } ?? ""
            throw CommandFailure(message: "contract sync failed: \(error)\(peak)", exitCode: error.isAuthenticationFailure ? .authentication : .failed)
        }
    }

    static func describe(_ summary: ContractSync.Summary) -> String {
        var lines = ["Contract sync (\(summary.mode)) run \(summary.runId): \(summary.outcome.rawValue)"]
        if let page = summary.resumedAfterPage { lines.append("  resumed an interrupted query after page \(page)") }
        lines.append("  pages fetched:        \(summary.pages)")
        lines.append("  contracts received:   \(summary.received) (MILES counted \(summary.milesTotal) for the query)")
        lines.append("  new or changed:       \(summary.written)")
        lines.append("  contracts in store:   \(summary.storedTotal)")
        if !summary.arrangements.broken.isEmpty {
            lines.append("  arrangements broken:  " + summary.arrangements.broken.map(String.init).joined(separator: ", ")
                         + " (an approver decides what follows: 'arrangement close ID')")
        }
        if !summary.arrangements.completed.isEmpty {
            lines.append("  arrangements paid:    " + summary.arrangements.completed.map(String.init).joined(separator: ", ")
                         + " ('arrangement close ID' returns the contract to active)")
        }
        let seconds = Double(summary.duration.components.seconds) + Double(summary.duration.components.attoseconds) / 1e18
        lines.append("  time:                 \(Int(seconds * 1000)) ms")
        if let peak = peakResidentMemoryKilobytes() { lines.append("  peak memory:          \(peak / 1024) MB") }
        return lines.joined(separator: "\n")
    }
}
