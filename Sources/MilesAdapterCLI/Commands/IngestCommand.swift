import ArgumentParser
import CMallocTuning
import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import Logging
import MilesMapping
import MilesSync

/// `miles-adapter ingest …`: take in agents' update files.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Take in agents' update files: one file, or a watched drop folder.",
        discussion: """
            Every delivery is first stored whole in the inbox (configuration 'inbox', default ./inbox), named by its SHA-256:
            the same file delivered twice changes nothing the second time. Rows are applied in batches, each committed with
            the file's progress, so an interrupted ingest resumes where it stopped. The MILES calls the updates need
            (UpdateContractStatus, UpdateContactDetails, AddContractNote) are queued for 'miles-adapter push'.
            """,
        subcommands: [File.self, Watch.self, List.self, Show.self, Refused.self], defaultSubcommand: File.self)

    /// The ingest reads on one thread, decides on the cooperative pool and writes on the store's:
    /// glibc would keep a malloc arena for each (5 MB more at the peak, measured). Capped for the
    /// ingest only: the sync runs about 4 % slower under the same cap.
    static func limitMallocArenas() {
        _ = miles_limit_malloc_arenas(2)
    }

    /// A rejected row as the terminal shows it. Unless --log-personal-data, the value is shown only when
    /// it reads like a code, a contract number, a date or an amount, outside the agent's personal-data
    /// columns: a value in the wrong column can be anything (a name, an address) and a terminal is
    /// often captured into a scheduler's log.
    static func describe(_ error: IngestRowError, agent: String, in session: CommandSession, showingPersonalData: Bool) -> String {
        let value: String
        if error.value.isEmpty {
            value = ""
        } else if showingPersonalData
                    || (!session.ingestDesk().personalDataColumns(of: agent).contains(error.column) && error.value.wholeMatch(of: codeLike) != nil) {
            value = " '\(error.value)'"
        } else {
            value = " ‹value masked: --log-personal-data shows it›"
        }
        return "line \(error.line), \(error.column)\(value): \(error.reason)"
    }

    nonisolated(unsafe) private static let codeLike = /[A-Z0-9][A-Z0-9.,\/:_+\-]{0,39}/

    static func summary(_ file: InboxFile) -> String {
        guard file.state != .received else {
            return "delivery \(file.id) (\(file.agent)/\(file.originalName)): being processed by another process; left to it"
        }
        return "delivery \(file.id) (\(file.agent)/\(file.originalName)): \(file.state.rawValue); \(file.applied) applied, "
            + "\(file.refused) refused by a guard, \(file.rejected) rejected rows"
            + (file.failureReason.map { "; failed: \($0)" } ?? "")
    }

    struct File: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "file", abstract: "Ingest one agent's file (the default: 'miles-adapter ingest FILE --agent NAME').")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The agent's update file.") var path: String
        @Option(help: "The agent, as named in mappings/third-party.") var agent: String
        @Option(help: "Rows committed per transaction.") var batchSize = 2_000

        func run() async throws {
            try await reportingFailures {
                IngestCommand.limitMallocArenas()
                let session = try await CommandSession(global)
                let logger = global.makeLogger("miles-adapter.ingest", secrets: session.configuration.secrets)
                let desk = session.ingestDesk(batchSize: batchSize)
                let outcome = try await desk.ingest(path: path, agent: agent, channel: "file")
                logger.info("delivery ingested", metadata: [
                    "agent": "\(agent)", "delivery": "\(outcome.file.id)", "state": "\(outcome.file.state.rawValue)",
                    "applied": "\(outcome.file.applied)", "refused": "\(outcome.file.refused)", "rejected": "\(outcome.file.rejected)",
                    "duplicate": "\(outcome.duplicate)"])
                if outcome.duplicate, outcome.file.state != .received {
                    print("\(path) has the content of delivery \(outcome.file.id), already \(outcome.file.state.rawValue): nothing changed")
                    return
                }
                print(IngestCommand.summary(outcome.file))
                if let peak = SyncCommand.peakResidentMemoryKilobytes() { print("peak memory: \(peak / 1024) MB") }
                for error in try await session.store.ingestRowErrors(fileId: outcome.file.id) {
                    printError("\(path): " + IngestCommand.describe(error, agent: agent, in: session, showingPersonalData: global.logPersonalData))
                }
                if outcome.file.state == .failed { throw ExitCode(CommandFailure.Code.failed.rawValue) }
                if outcome.file.applied > 0 { print("MILES calls queued; run 'miles-adapter push'") }
                try CommandFailure.Code.outcome(done: outcome.file.applied + outcome.file.refused, refused: outcome.file.rejected)
            }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Watch a drop folder with one sub-folder per agent (DIR/acme-dca/…), taking each file once it is complete.",
            discussion: """
                A file is complete when NAME.done is beside it, or when its size has not changed between two looks and it was
                last written at least --stable-for seconds ago. Processed files move to DIR/AGENT/processed/ (with
                NAME.errors.csv when rows were rejected); files refused as a whole move to DIR/AGENT/failed/ with NAME.report.txt.

                Several watchers may share the folder (and the store): each file is claimed by one (renamed into its
                DIR/AGENT/.taking/HOST/PID/), and a delivery is processed by one process at a time. What a killed watcher
                on this machine had claimed goes back into the agent's folder at the next look.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The drop folder.") var directory: String
        @Option(help: "Seconds between looks.") var interval = 5
        @Option(help: "Seconds a file must be unwritten before it is taken without a done-file.") var stableFor = 10
        @Flag(help: "Look once and stop (for a scheduler): exit 1 when every file taken was refused, 6 when some were.") var once = false
        @Option(help: "Rows committed per transaction.") var batchSize = 2_000
        @OptionGroup var metrics: MetricsOptions

        func run() async throws {
            try await reportingFailures {
                IngestCommand.limitMallocArenas()
                let session = try await CommandSession(global)
                let desk = session.ingestDesk(batchSize: batchSize)
                for file in try await desk.unfinished() {
                    print("resuming " + IngestCommand.summary(try await desk.process(file)))
                }
                let watcher = DropFolderWatcher(desk: desk, directory: directory, stableFor: .seconds(stableFor))
                repeat {
                    let started = ContinuousClock.now
                    var counts = ["files": 0, "files_failed": 0, "rows_applied": 0, "rows_refused": 0, "rows_rejected": 0]
                    for taken in try await watcher.scan() {
                        counts["files", default: 0] += 1
                        if let outcome = taken.outcome, taken.failure == nil {
                            print("\(taken.path) -> \(taken.movedTo): "
                                  + (outcome.duplicate ? "already delivered as \(outcome.file.id), nothing changed" : IngestCommand.summary(outcome.file)))
                            if !outcome.duplicate {
                                counts["rows_applied", default: 0] += outcome.file.applied
                                counts["rows_refused", default: 0] += outcome.file.refused
                                counts["rows_rejected", default: 0] += outcome.file.rejected
                            }
                        } else {
                            counts["files_failed", default: 0] += 1
                            printError("\(taken.path) -> \(taken.movedTo): \(taken.failure ?? "failed")")
                        }
                    }
                    metrics.publish(JobMetrics(job: "ingest", succeeded: counts["files_failed"] == 0, duration: ContinuousClock.now - started,
                                                       endedAt: CommandSession.clock(), counts: counts))
                    if once, let refused = CommandFailure.filesRefused(counts["files_failed", default: 0], of: counts["files", default: 0], in: directory) {
                        throw refused
                    }
                    if !once { try await Task.sleep(for: .seconds(interval)) }
                } while !once
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deliveries in the inbox, newest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this agent's.") var agent: String?
        @Option(help: "received, processed or failed.") var state: String?
        @Option(help: "At most this many.") var limit = 50

        func validate() throws {
            if let state, InboxFile.State(rawValue: state) == nil {
                throw ValidationError("--state '\(state)' is not received, processed or failed")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                for file in try await session.store.inboxFiles(agent: agent, state: state.flatMap(InboxFile.State.init(rawValue:)), limit: limit) {
                    print("\(file.receivedAt)  \(file.channel)  sha256 \(file.sha256.prefix(12))  " + IngestCommand.summary(file))
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one delivery: its updates, what each did, and its rejected rows.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The delivery's id.") var id: Int64

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                guard let file = try await session.store.inboxFile(id: id) else {
                    throw CommandFailure(message: "there is no delivery \(id) in the inbox", exitCode: .failed)
                }
                print(IngestCommand.summary(file))
                print("stored as \(file.storedPath), \(file.size) bytes, sha256 \(file.sha256)")
                for update in try await session.store.thirdPartyUpdates(fileId: id) {
                    print("line \(update.line)  \(update.contractNumber)  \(update.kind)  \(update.outcome)  \(update.details)"
                          + (update.refusal.map { "  — \($0)" } ?? ""))
                }
                for error in try await session.store.ingestRowErrors(fileId: id) {
                    print("rejected " + IngestCommand.describe(error, agent: file.agent, in: session, showingPersonalData: global.logPersonalData))
                }
            }
        }
    }

    struct Refused: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Agents' updates refused (by a guard, or as this MILES cannot be sent them): kept for the team to act on, newest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "At most this many.") var limit = 100

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                for update in try await session.store.refusedUpdates(limit: limit) {
                    print("delivery \(update.inboxFileId) line \(update.line)  \(update.agent)  \(update.contractNumber)  \(update.details)  — "
                          + (update.refusal ?? ""))
                }
            }
        }
    }
}
