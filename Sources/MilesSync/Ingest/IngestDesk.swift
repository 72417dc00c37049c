import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping

/// Takes agents' deliveries in: each is stored whole in the inbox first (named by its SHA-256, so the
/// same content twice is one delivery), then read row by row. Good rows become updates with their
/// effects (status changes through the guards, holds, contact changes, notes, payment notifications,
/// the MILES calls queued in the outbox); bad rows go to the row-level report. Rows are committed in
/// batches together with the delivery's cursor, so a crash repeats no row and loses none.
///
/// ```swift
/// let desk = IngestDesk(store: store, mappings: mappings, inboxDirectory: "inbox")
/// let outcome = try await desk.ingest(path: "returns/acme-20261128.csv", agent: "acme-dca", channel: "file")
/// ```
public struct IngestDesk: Sendable {
    public struct Outcome: Sendable {
        public var file: InboxFile
        /// The same content was delivered before: nothing was applied this time.
        public var duplicate: Bool
    }

    /// What the desk reads and writes.
    public typealias Stores = ContractStore & ContractActionStore & PlacementStore & IngestStore & JobLockStore

    public let store: any Stores
    public let mappings: MappingSet
    /// Where deliveries are kept whole, by agent and content hash.
    public let inboxDirectory: String
    let now: CollectionsClock
    let batchSize: Int
    private let inbox: Inbox

    public init(store: any Stores, mappings: MappingSet, inboxDirectory: String, batchSize: Int = 2_000,
                now: CollectionsClock = .system) {
        self.store = store
        self.mappings = mappings
        self.inboxDirectory = inboxDirectory
        self.batchSize = batchSize
        self.now = now
        inbox = Inbox(store: store, directory: inboxDirectory, now: now)
    }

    /// Receives the file and processes it (or finishes processing it, after a crash).
    public func ingest(path: String, agent: String, channel: String) async throws -> Outcome {
        let (file, isNew) = try await receive(path: path, agent: agent, channel: channel)
        if !isNew, file.state != .received { return Outcome(file: file, duplicate: true) }
        return Outcome(file: try await process(file), duplicate: !isNew)
    }

    /// Copies the file into the inbox while hashing it, then records the delivery.
    public func receive(path: String, agent: String, channel: String) async throws -> (file: InboxFile, isNew: Bool) {
        let limits = try checkAgent(agent)
        return try await inbox.receive(path: path, agent: agent, channel: channel, maxBytes: limits.maxFileBytes)
    }

    /// Starts receiving a delivery in parts (an HTTP body) into the inbox, at most the agent's file
    /// limit or `maxBytes`, whichever is less; `finish` the upload to record it.
    public func upload(name: String, agent: String, channel: String, maxBytes: Int = .max) throws(IngestError) -> InboxUpload {
        let limits = try checkAgent(agent)
        return try inbox.upload(name: name, agent: agent, channel: channel, maxBytes: min(maxBytes, limits.maxFileBytes))
    }

    /// The agent's limits, once it is known to send updates.
    @discardableResult
    public func checkAgent(_ agent: String) throws(IngestError) -> AgentMapping.Limits {
        guard let mapping = mappings.agents[agent] else {
            throw IngestError(.unknownAgent, input: agent,
                              "no agent '\(agent)' in mappings/third-party; agents are \(mappings.agents.keys.sorted().joined(separator: ", "))")
        }
        guard let updates = mapping.updates else {
            throw IngestError(.noUpdatesSection, input: agent, "agent '\(agent)' has no 'updates' section in its mapping: it sends no updates")
        }
        return updates.limits
    }

    /// The agent's columns that carry customers' contact details (address, phone, email) or free text
    /// that may hold them (notes, a recovery's location): masked wherever a rejected value is shown
    /// unless a person has switched personal-data logging on.
    public func personalDataColumns(of agent: String) -> Set<String> {
        guard let fields = mappings.agents[agent]?.updates?.fields else { return [] }
        let personal: [AgentMapping.UpdateField] = [.addressLine1, .addressLine2, .town, .postcode, .phone, .email, .note, .location]
        return Set(personal.compactMap { fields[$0] })
    }

    /// Deliveries received but not finished (a crash or a stop in the middle): process them first.
    public func unfinished() async throws -> [InboxFile] {
        try await store.inboxFiles(agent: nil, state: .received, limit: 1_000).reversed()
    }

    /// Processes the delivery unless another process (a second watcher, `serve`) is processing it:
    /// then it is returned as it is, still `received`, and left to that one. A holder whose process
    /// has ended is taken over, and the rows go on from the cursor.
    public func process(_ file: InboxFile) async throws -> InboxFile {
        guard file.state == .received else { return file }
        let job = "delivery:\(file.id)"
        let holder = Processes.jobLockHolder(at: now())
        guard case .acquired = try await store.acquireJobLock(job: job, for: holder, isGone: Processes.isGone) else { return file }
        do {
            // Read again under the lock: another process may have finished it since `file` was read.
            let current = try await store.inboxFile(id: file.id) ?? file
            let processed = current.state == .received ? try await processHolding(current) : current
            try await store.releaseJobLock(job: job, for: holder)
            return processed
        } catch {
            try? await store.releaseJobLock(job: job, for: holder)
            throw error
        }
    }

    /// Reads the delivery through once to know it is whole, then applies its rows after the cursor.
    private func processHolding(_ file: InboxFile) async throws -> InboxFile {
        guard let mapping = mappings.agents[file.agent] else {
            throw IngestError(.unknownAgent, input: file.agent, "no agent '\(file.agent)' in mappings/third-party")
        }
        let parser = try AgentFileParser(agent: mapping)
        let sourceName = "\(file.agent)/\(file.originalName)#\(file.id)"
        let isJSON = (file.originalName as NSString).pathExtension.lowercased() == "json"
        let read = try await reader(for: file, isJSON: isJSON, parser: parser, sourceName: sourceName)
        do {
            try await BlockingWork.run {
                if isJSON { try read { _ in } } else { try parser.checkWhole(fileAt: file.storedPath, sourceName: sourceName) }
            }
        } catch let error as AgentFileError {
            try await store.finishInboxFile(id: file.id, failure: error.description, at: now())
            return try await store.inboxFile(id: file.id) ?? file
        }
        let planner = UpdatePlanner(store: store, mappings: mappings, agent: file.agent,
                                    placed: try await store.placedContracts(agent: file.agent), today: now().date, now: now)
        var batches = IngestBatches(store: store, fileId: file.id, linesDone: file.linesDone, actor: "ingest:\(file.agent)", now: now)
        do {
            for try await chunk in RecordStream(chunkSize: 500, read: read) {
                for record in chunk where record.line > file.linesDone {
                    // A row whose effect depends on the contract's state sees every earlier row committed.
                    if planner.readsState(record) { try await batches.drain() }
                    try await batches.append(try await planner.plan(record), line: record.line, flushingAt: batchSize)
                }
            }
            try await batches.drain()
        } catch {
            // A batch still being written would race the next run's resume from the cursor.
            await batches.abandon()
            throw error
        }
        try await store.finishInboxFile(id: file.id, failure: nil, at: now())
        return try await store.inboxFile(id: file.id) ?? file
    }

    /// How the delivery's records are read: CSV and XML stream from the stored file, JSON is read whole.
    private func reader(for file: InboxFile, isJSON: Bool, parser: AgentFileParser, sourceName: String) async throws -> RecordStream<AgentFileParser.Record>.Reader {
        guard isJSON else {
            return { body in try parser.forEachRecord(fileAt: file.storedPath, sourceName: sourceName, body) }
        }
        let bytes = try await BlockingWork.run { () throws(IngestError) -> [UInt8] in
            guard let data = FileManager.default.contents(atPath: file.storedPath) else {
                throw IngestError(.lostDelivery, input: file.storedPath, "the inbox has lost \(file.storedPath)")
            }
            return [UInt8](data)
        }
        return { body in try parser.forEachJSONRecord(bytes, sourceName: sourceName, body) }
    }
}
