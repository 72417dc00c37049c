import CollectionsDomain
import CollectionsStore
import Foundation
import Logging
import MilesMapping
import MilesSOAP

/// The overnight contract sync: pulls every contract that changed in MILES into the store, page
/// by page, each page committed with the checkpoint that follows it, so a run killed at any
/// instant resumes where it stopped and ends with the same store.
///
/// ```swift
/// let sync = ContractSync(gateway: gateway, store: store)
/// let summary = try await sync.run(mode: .resume) { progress in print(progress.received) }
/// ```
public struct ContractSync: Sendable {
    public struct Configuration: Sendable {
        /// Contracts asked for per page; MILES may send fewer.
        public var pageSize: Int
        public var retry: RetryPolicy
        /// The checkpoint and ledger name of this job.
        public var job: String
        /// How long the whole run may take: past it the sync stops between pages (resumable), and no
        /// retry waits beyond it.
        public var deadline: Duration?

        public init(pageSize: Int = 500, retry: RetryPolicy = RetryPolicy(), job: String = "contracts", deadline: Duration? = nil) {
            self.pageSize = pageSize
            self.retry = retry
            self.job = job
            self.deadline = deadline
        }
    }

    public enum Mode: Sendable, Equatable {
        /// Resume an interrupted query, or start the next incremental one from the checkpoint.
        case resume
        /// Fetch every contract, discarding any interrupted query.
        case full
        /// Fetch contracts changed after this time, discarding any interrupted query.
        case since(Timestamp)

        var name: String {
            switch self {
            case .resume: return "incremental"
            case .full: return "full"
            case let .since(time): return "since \(time)"
            }
        }
    }

    /// Reported after every committed page.
    public struct Progress: Sendable {
        public var page: Int
        public var received: Int
        public var milesTotal: Int
        public var written: Int
    }

    public struct Summary: Sendable {
        public var runId: Int64
        public var mode: String
        /// Set when the run continued an interrupted query: the pages that query had already committed.
        public var resumedAfterPage: Int?
        public var pages: Int
        public var received: Int
        public var written: Int
        public var milesTotal: Int
        public var storedTotal: Int
        public var outcome: SyncRunOutcome
        public var duration: Duration
        /// Answers read leniently: how many times they broke the schema (each logged as a warning).
        public var schemaDeviations = 0
        /// Active payment arrangements this sync found broken, or paid in full.
        public var arrangements = ArrangementMonitoring.Outcome()
    }

    public let gateway: MilesGateway
    public let store: any SyncStore
    public let configuration: Configuration
    public let logger: Logger
    /// Checks the active payment arrangements once a query completes, on MILES's business date.
    public let monitoring: ArrangementMonitoring?
    /// How to wait between retries; tests replace it to run without waiting.
    let sleep: @Sendable (Duration) async throws -> Void

    public init(gateway: MilesGateway, store: any SyncStore, configuration: Configuration = Configuration(),
                logger: Logger = Logger(label: "miles-adapter.sync"), monitoring: ArrangementMonitoring? = nil,
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.monitoring = monitoring
        self.gateway = gateway
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.sleep = sleep
    }

    public func run(mode: Mode, progress: @Sendable (Progress) -> Void = { _ in }) async throws(ContractSyncError) -> Summary {
        let clock = ContinuousClock()
        let started = clock.now
        let job = configuration.job
        var checkpoint: SyncCheckpoint
        let runId: Int64
        let runName: String
        do {
            checkpoint = try await store.checkpoint(job: job)
            if mode != .resume {
                checkpoint.inProgress = nil
                if case let .since(time) = mode { checkpoint.nextChangedSince = time }
                if mode == .full { checkpoint.nextChangedSince = nil }
            }
            runName = mode == .resume && checkpoint.inProgress == nil && checkpoint.nextChangedSince == nil
                ? "full (first run)" : mode.name
            runId = try await store.startRun(job: job, mode: runName, startedAt: CollectionsClock.system())
        } catch {
            throw ContractSyncError(message: "cannot read or write the store: \(error)", underlying: nil)
        }
        let since = checkpoint.inProgress?.since ?? (mode == .full ? nil : checkpoint.nextChangedSince)
        // A full query into a store without contracts is a first load: the store builds its look-up indexes
        // once, after the last page. Any other query first has the store build what an interrupted first load
        // left aside, so that it never runs, nor leaves the store, without them.
        let firstLoad: Bool
        do {
            if since == nil {
                firstLoad = try await store.beginFirstLoad()
            } else {
                try await store.endFirstLoad()
                firstLoad = false
            }
        } catch {
            let step = since == nil ? "begin a first load in" : "build the look-up indexes an interrupted first load set aside in"
            let failure = ContractSyncError(message: "cannot \(step) the store: \(error)", underlying: nil)
            _ = try? await store.finishRun(runId, outcome: .failed, message: failure.description, milesTotal: nil,
                                           endedAt: CollectionsClock.system())
            throw failure
        }
        if firstLoad {
            logger.info("first load (into a store without contracts, or carrying on an interrupted one): the store's look-up indexes are built once the last page is stored")
        }
        let resumedAfterPage = checkpoint.inProgress?.pagesDone
        var cursor = checkpoint.inProgress?.cursor
        var pagesThisRun = 0
        var receivedThisRun = 0
        var writtenThisRun = 0
        var deviationsThisRun = 0
        if let query = checkpoint.inProgress {
            logger.info("resuming an interrupted query", metadata: [
                "pagesDone": "\(query.pagesDone)", "received": "\(query.received)", "since": "\(query.since?.description ?? "-")"])
        }

        let deadline = configuration.deadline.map { clock.now + $0 }
        // MILES is read ahead of the store: each page is asked for as soon as the answer before it names it,
        // up to `pagesAhead` pages past the one being stored, so receiving and decoding run beside the store's
        // writes. Pages are still committed one at a time, in order, each with the checkpoint that follows it;
        // the run's end or a failed commit stops the reading, and no page is asked for past the deadline.
        // The pages read ahead are asked at utility priority (a higher nice value for their threads on Linux): on a
        // machine with fewer free cores than stages, the store's writer, which every page waits for, keeps its core.
        let reader = ContractPageReader<ContractSyncError>(depth: Self.pagesAhead, priority: .utility) { [self] cursor, early, failedEarly, nextCursorRead in
            if let deadline, ContinuousClock.now >= deadline {
                return .failure(ContractSyncError(message: "the run's deadline (\(configuration.deadline!)) passed before the page at cursor "
                                                  + "\(cursor ?? "-") was asked for", underlying: nil))
            }
            do throws(ContractSyncError) {
                return .success(try await fetchWithRetry(since: since, cursor: cursor, deadline: deadline,
                                                         attempts: early ? 1 : configuration.retry.maxAttempts,
                                                         failedEarly: failedEarly?.underlying, nextCursorRead: nextCursorRead))
            } catch {
                return .failure(error)
            }
        }
        return try await reader.reading { () async throws(ContractSyncError) -> Summary in
            do throws(ContractSyncError) {
                guard var page = try await reader.first(at: cursor)?.get() else {
                    throw ContractSyncError(message: "the contract sync was stopped before MILES answered", underlying: nil)
                }
                while true {
                    for (deviation, count) in page.schemaDeviations.sorted(by: { $0.key < $1.key }) {
                        logger.warning("MILES's answer breaks the schema; read leniently", metadata: ["element": "\(deviation)", "times": "\(count)"])
                        deviationsThisRun += count
                    }
                    if let cursor, page.nextCursor == cursor {
                        throw ContractSyncError(message: "MILES answered with the cursor it was given, so the query would never advance; "
                                                + "stopped before storing that page (the next run resumes from the last committed one)",
                                                underlying: nil)
                    }
                    // A MILES that sends no AsOf: the query's start by the adapter's clock stands for it (the arrangements' business date).
                    var query = checkpoint.inProgress ?? SyncCheckpoint.QueryInProgress(
                        since: since, asOf: page.asOf ?? CollectionsClock.system(), cursor: "", pagesDone: 0, received: 0,
                        milesTotal: page.totalCount)
                    query.pagesDone += 1
                    query.received += page.contracts.count
                    var next = checkpoint
                    if let newest = page.contracts.map(\.lastModified).max(), newest > (next.highWaterMark ?? newest) || next.highWaterMark == nil {
                        next.highWaterMark = newest
                    }
                    if let nextCursor = page.nextCursor {
                        query.cursor = nextCursor
                        next.inProgress = query
                    } else {
                        // The query is complete: the next one starts where MILES began answering this one, or, when
                        // MILES sends no AsOf, at the newest change seen less the mapping's overlap.
                        next.inProgress = nil
                        next.nextChangedSince = gateway.mappings.contract.incrementalStart.nextChangedSince(
                            asOf: query.asOf, highWaterMark: next.highWaterMark, since: query.since)
                    }
                    let written: Int
                    do {
                        let now = CollectionsClock.system()
                        let alerts = try await riskAlerts(page.contracts, today: now.date)
                        written = try await store.commitPage(page.contracts, checkpoint: next, job: job, runId: runId, alerts: alerts, at: now)
                        if logger.logLevel <= .trace {
                            for contract in page.contracts {
                                // Personal data only under customer.* keys, which the log masks unless told otherwise.
                                logger.trace("contract from MILES", metadata: [
                                    "contract": "\(contract.contractNumber)", "version": "\(contract.version)", "status": "\(contract.statusCode)",
                                    "customer.name": "\(contract.customer.name)", "customer.phone": "\(contract.customer.phones.first ?? "")",
                                    "customer.email": "\(contract.customer.email ?? "")",
                                    "customer.postcode": "\(contract.customer.address.postcode)",
                                ])
                            }
                        }
                    } catch {
                        throw ContractSyncError(message: "cannot write page \(query.pagesDone) to the store: \(error)", underlying: nil)
                    }
                    checkpoint = next
                    pagesThisRun += 1
                    receivedThisRun += page.contracts.count
                    writtenThisRun += written
                    progress(Progress(page: query.pagesDone, received: query.received, milesTotal: query.milesTotal, written: written))
                    guard let following = page.nextCursor else {
                        let outcome: SyncRunOutcome = query.received == query.milesTotal ? .completed : .completedWithDiscrepancy
                        var message = outcome == .completed ? nil
                            : "MILES counted \(query.milesTotal) contracts for this query; \(query.received) were received"
                        if firstLoad {
                            // The query is complete and committed whatever happens here: a failed build is the next run's
                            // to do again (at its start), said in the ledger, not a failed sync.
                            let building = clock.now
                            do {
                                try await store.endFirstLoad()
                                logger.info("first load: the store's look-up indexes built", metadata: ["duration": "\(clock.now - building)"])
                            } catch {
                                let problem = "every contract is stored, but building the store's look-up indexes after the first load "
                                    + "failed (the next run builds them first): \(error)"
                                logger.error("\(problem)")
                                message = [message, problem].compactMap { $0 }.joined(separator: "; ")
                            }
                        }
                        let stored = (try? await store.finishRun(runId, outcome: outcome, message: message, milesTotal: query.milesTotal,
                                                                 endedAt: CollectionsClock.system())) ?? 0
                        var summary = Summary(runId: runId, mode: runName, resumedAfterPage: resumedAfterPage, pages: pagesThisRun,
                                              received: receivedThisRun, written: writtenThisRun, milesTotal: query.milesTotal,
                                              storedTotal: stored, outcome: outcome, duration: clock.now - started,
                                              schemaDeviations: deviationsThisRun)
                        if let monitoring {
                            do {
                                summary.arrangements = try await monitoring.check(on: query.asOf.date, at: CollectionsClock.system())
                            } catch {
                                throw ContractSyncError(message: "the contracts are synced, but checking the payment arrangements failed: \(error)",
                                                        underlying: nil)
                            }
                            for id in summary.arrangements.broken {
                                logger.warning("payment arrangement broken: an approver decides what follows ('arrangement close')",
                                               metadata: ["arrangement": "\(id)"])
                            }
                        }
                        return summary
                    }
                    guard let nextPage = await reader.next(after: page) else {
                        throw ContractSyncError(message: "the reading of MILES's pages stopped after \(pagesThisRun) pages; every page "
                                                + "committed is kept and the next run resumes", underlying: nil)
                    }
                    if let deadline, clock.now >= deadline {
                        throw ContractSyncError(message: "the run's deadline (\(configuration.deadline!)) passed after \(pagesThisRun) pages; "
                                                + "every page committed is kept and the next run resumes", underlying: nil)
                    }
                    cursor = following
                    page = try nextPage.get()
                }
            } catch {
                _ = try? await store.finishRun(runId, outcome: .failed, message: error.description, milesTotal: checkpoint.inProgress?.milesTotal,
                                               endedAt: CollectionsClock.system())
                throw error
            }
        }
    }

    /// Pages asked of MILES ahead of the one being stored; each is held decoded until stored.
    public static let pagesAhead = 2

    /// One page, retried while the failure is one a retry can cure; reads are safe to repeat, so an
    /// unknown outcome is retried too. Authentication and business refusals stop at once. `failedEarly`:
    /// the failure of the page's early attempt (`ContractPageReader`), which counts as its first.
    private func fetchWithRetry(since: Timestamp?, cursor: String?, deadline: ContinuousClock.Instant?, attempts: Int,
                                failedEarly: SOAPCallError? = nil,
                                nextCursorRead: @escaping @Sendable (String) -> Void) async throws(ContractSyncError) -> ContractPage {
        var attempt = 1
        if let failedEarly {
            try await waitToRetry(after: failedEarly, attempt: attempt, of: attempts, deadline: deadline)
            attempt += 1
        }
        while true {
            do {
                return try await gateway.findContracts(changedSince: since, cursor: cursor, pageSize: configuration.pageSize,
                                                       nextCursorRead: nextCursorRead)
            } catch {
                try await waitToRetry(after: error, attempt: attempt, of: attempts, deadline: deadline)
                attempt += 1
            }
        }
    }

    /// Waits before the attempt after `attempt`, or throws when `error` is not worth retrying or no
    /// attempt is left.
    private func waitToRetry(after error: SOAPCallError, attempt: Int, of attempts: Int,
                             deadline: ContinuousClock.Instant?) async throws(ContractSyncError) {
        let retryable = error.disposition == .retryable || error.disposition == .unknownOutcome
        guard retryable, attempt < attempts else {
            let reason = error.disposition == .authentication
                ? "MILES refused the adapter's credentials; check the username and password (no checkpoint was moved)"
                : error.disposition == .unavailable
                ? "MILES keeps failing, so the sync stopped calling it; every page committed is kept and the next run resumes"
                : retryable ? "gave up after \(attempt) attempt\(attempt == 1 ? "" : "s")" : "MILES refused the request"
            throw ContractSyncError(message: "\(reason): \(error)", underlying: error)
        }
        let wait = configuration.retry.delay(beforeAttempt: attempt + 1, retryAfter: error.retryAfter)
        if let deadline, ContinuousClock.now + wait > deadline {
            throw ContractSyncError(message: "the run's deadline comes before the next retry (in \(wait)); stopped, every page "
                                    + "committed is kept and the next run resumes: \(error)", underlying: error)
        }
        logger.warning("FindContracts failed; retrying", metadata: [
            "attempt": "\(attempt + 1)", "wait": "\(wait)", "error": "\(error)"])
        do {
            try await sleep(wait)
        } catch {
            throw ContractSyncError(message: "cancelled while waiting to retry", underlying: nil)
        }
    }
}

/// The contract sync failed; the store keeps every page committed before the failure.
public struct ContractSyncError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let underlying: SOAPCallError?

    public var isAuthenticationFailure: Bool { underlying?.disposition == .authentication }
    public var description: String { message }
}

extension ContractSync {
    /// The risk rules of the mappings judged on each contract of a page against what the store held
    /// of it before (`mappings/risk-rules.yaml`).
    func riskAlerts(_ contracts: [Contract], today: LocalDate) async throws -> [RiskAlert] {
        let rules = gateway.mappings.riskRules
        let snapshots = try await store.riskSnapshots(contractNumbers: contracts.map(\.contractNumber), arrearsKept: rules.arrearsGrowingSyncs ?? 0)
        return contracts.flatMap { contract in
            let before = snapshots[contract.contractNumber]
            return rules.alerts(for: RiskFacts(
                contract: contract, earlierArrears: before?.earlierArrears ?? [], earlierOpenBalance: before?.openBalance,
                wasVulnerable: before?.wasVulnerable, today: today))
        }
    }
}
