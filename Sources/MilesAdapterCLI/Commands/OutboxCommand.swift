import ArgumentParser
import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesMapping
import MilesSync

/// `miles-adapter push`: sends the outbox to MILES.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Send the outbox (write-offs, credit notes, reversals, arrangements, letters, status changes, notes) to MILES, exactly once in effect.",
        discussion: """
            Retryable failures are retried with backoff; MILES's refusals are dead-lettered with MILES's reason
            (see 'outbox list --state deadLetter'). After a lost answer or a crash, MILES is asked before anything is sent again.

            Several push processes may run at once, on one machine or many, against the same store: each claims a batch of
            entries with a lease and renews it while it works. A worker that dies or hangs loses its entries to the others
            when its lease expires (at once, if it ran on the same machine and its process has ended); the results it
            brings back later are refused, so every entry is sent once in effect.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "Stop between entries (the rest stays pending) if the run takes longer than this many minutes.")
    var deadlineMinutes: Int?

    @OptionGroup var metrics: MetricsOptions

    @Option(help: "This worker's name in the audit log and the logs (default: the machine and process id).")
    var worker: String?

    @Option(help: "How long a claimed batch is held before another worker may take it over, in seconds; renewed while the worker works. Longer than two MILES calls at their timeouts (default: 300, or that and a minute).")
    var leaseSeconds: Int?

    func validate() throws {
        if let worker, worker.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--worker must not be empty") }
    }

    func run() async throws {
        let started = ContinuousClock.now
        var counts: [String: Int] = [:]
        var succeeded = false
        defer {
            metrics.publish(JobMetrics(job: "push", succeeded: succeeded, duration: ContinuousClock.now - started,
                                               endedAt: CommandSession.clock(), counts: counts))
        }
        try await reportingFailures {
            let session = try await CommandSession(global)
            try await MappedJobs.requirePushable(session.store, mappings: session.mappings)
            try await session.requireIntactAudit()
            let logger = global.makeLogger("miles-adapter.push", secrets: session.configuration.secrets)
            let longestEntry = OutboxRelay.Configuration.longestEntry(connectTimeout: session.configuration.connectTimeout,
                                                                      requestTimeout: session.configuration.requestTimeout)
            let lease = leaseSeconds.map { Duration.seconds($0) } ?? max(.seconds(300), longestEntry + .seconds(60))
            // A lease that can run out while its worker waits on MILES would let another worker send the same write.
            guard lease > longestEntry else {
                throw CommandFailure(message: "--lease-seconds \(leaseSeconds ?? 0) is too short: one entry can take \(longestEntry.components.seconds) s "
                                     + "(two MILES calls at the configured connect and request timeouts); give a longer lease or shorter timeouts",
                                     exitCode: .usage)
            }
            let relay = OutboxRelay(
                gateway: try session.gateway(), store: session.store,
                configuration: OutboxRelay.Configuration(retry: RetryPolicy(maxAttempts: session.configuration.maxAttempts),
                                                         deadline: deadlineMinutes.map { .seconds($0 * 60) },
                                                         worker: Processes.outboxWorker(named: worker), lease: lease, longestEntry: longestEntry),
                logger: logger)
            // The relay calls the store once or twice per entry: on the store's own thread those calls need no hand-off.
            let summary = try await withTaskExecutorPreference(session.storeExecutor) { try await relay.run() }
            print("write-offs posted \(summary.posted), credit notes raised \(summary.creditNotesRaised), write-offs reversed "
                  + "\(summary.writeOffsReversed) (found already made \(summary.reconciled)), "
                  + "status changes applied \(summary.statusChangesApplied) (version conflicts re-checked \(summary.conflictsResolved)), "
                  + "notes added \(summary.notesAdded), contact details updated \(summary.contactChangesApplied), letters issued "
                  + "\(summary.lettersIssued), arrangements created \(summary.arrangementsCreated) and cancelled \(summary.arrangementsCancelled), "
                  + "payments allocated \(summary.allocationsPosted) and reversed \(summary.allocationsReversed), "
                  + "retries scheduled \(summary.retriesScheduled), dead-lettered \(summary.deadLettered), left for a later run \(summary.leftPending), "
                  + "taken over by another worker \(summary.takenOver)")
            let sent = summary.posted + summary.reconciled + summary.statusChangesApplied + summary.notesAdded + summary.contactChangesApplied
                + summary.creditNotesRaised + summary.writeOffsReversed + summary.lettersIssued + summary.arrangementsCreated
                + summary.arrangementsCancelled + summary.allocationsPosted + summary.allocationsReversed
            counts = ["pushed": sent, "dead_lettered": summary.deadLettered, "retries_scheduled": summary.retriesScheduled,
                      "left_pending": summary.leftPending, "taken_over": summary.takenOver]
            succeeded = summary.deadLettered == 0
            try CommandFailure.Code.outcome(done: sent, refused: summary.deadLettered)
        }
    }
}

/// `miles-adapter outbox …`: look at the outbox and deal with dead letters.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox", abstract: "The queue of writes to MILES.", subcommands: [List.self, Retry.self, Skip.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List outbox entries.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only entries in this state: \(OutboxEntry.State.allCases.map(\.rawValue).joined(separator: ", ")).")
        var state: String?

        func validate() throws {
            if let state, OutboxEntry.State(rawValue: state) == nil {
                throw ValidationError("--state '\(state)' is not one of \(OutboxEntry.State.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let store = try await CommandSession.openStore(try await global.loadConfiguration())
                let entries = try await OutboxDesk(store: store).entries(state: state.flatMap(OutboxEntry.State.init))
                if entries.isEmpty { print("the outbox has no entries" + (state.map { " in state \($0)" } ?? "")) }
                for entry in entries {
                    print("queue \(entry.id)\t\(entry.clientReference)\t\(entry.kind.recordName) (\(entry.kind.operation))\t\(entry.state.rawValue)"
                          + "\tattempts \(entry.attempts)" + (entry.resultReference.map { "\tMILES \($0)" } ?? "")
                          + (entry.lease.map { "\theld by \($0.worker) until \($0.expiresAt)" } ?? "")
                          + (entry.lastError.map { "\t\($0)" } ?? ""))
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-queue a dead-lettered or skipped entry once its cause is fixed.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The entry: its queue id, or its reference such as WO-7.") var entry: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                try await session.requireIntactAudit()
                let desk = OutboxDesk(store: session.store, decisionRole: session.mappings.authorityMatrix.outboxDecisionRole,
                                      contract: session.mappings.contract, now: CommandSession.clock)
                try await desk.retry(entryId: try await desk.entryId(entry), by: try await session.person())
                print("\(entry): re-queued; run 'miles-adapter push'")
            }
        }
    }

    struct Skip: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set an entry aside without sending it (audited).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The entry: its queue id, or its reference such as WO-7.") var entry: String
        @Option(help: "Why it is skipped.") var reason: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                try await session.requireIntactAudit()
                let desk = OutboxDesk(store: session.store, decisionRole: session.mappings.authorityMatrix.outboxDecisionRole, now: CommandSession.clock)
                try await desk.skip(entryId: try await desk.entryId(entry), by: try await session.person(), reason: reason)
                print("\(entry): skipped")
            }
        }
    }
}

/// `miles-adapter audit …`: check the audit log's hash chain, and acknowledge a break once investigated.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The audit log.",
        discussion: """
            While the chain is broken (an entry edited or deleted), no person's decision and no push goes ahead (exit 5).
            Investigate (who could write the store, what the entry said: backups hold it), then a person with the role
            authority-matrix.yaml names for auditAcknowledgement records what was found with 'audit acknowledge --reason …'.
            """,
        subcommands: [Verify.self, Acknowledge.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check that no audit entry was edited or deleted; exit 1 naming the first broken one.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await reportingFailures {
                let store = try await CommandSession.openStore(try await global.loadConfiguration())
                let verification = try await store.verifyAudit()
                print(verification)
                if case .broken = verification {
                    printError("decisions and pushes are stopped until the break is investigated and acknowledged: 'miles-adapter audit acknowledge --help'")
                    throw ExitCode(CommandFailure.Code.failed.rawValue)
                }
            }
        }
    }

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record that the first unacknowledged break in the audit log was investigated (audited), letting work go on.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "What the investigation found.") var reason: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                print(try await session.auditDesk.acknowledge(by: try await session.person(), reason: reason))
            }
        }
    }
}
