import CollectionsDomain
import CollectionsStore
import Crypto
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
/// let outcome = try desk.ingest(path: "returns/acme-20261128.csv", agent: "acme-dca", channel: "file")
/// ```
public struct IngestDesk: Sendable {
    public struct Outcome: Sendable {
        public var file: InboxFile
        /// The same content was delivered before: nothing was applied this time.
        public var duplicate: Bool
    }

    public let store: any Store
    public let mappings: MappingSet
    /// Where deliveries are kept whole, by agent and content hash.
    public let inboxDirectory: String
    let now: @Sendable () -> Timestamp
    let batchSize: Int

    public init(store: any Store, mappings: MappingSet, inboxDirectory: String, batchSize: Int = 2_000,
                now: @escaping @Sendable () -> Timestamp = WriteOffDesk.wallClock) {
        self.store = store
        self.mappings = mappings
        self.inboxDirectory = inboxDirectory
        self.batchSize = batchSize
        self.now = now
    }

    /// Receives the file and processes it (or finishes processing it, after a crash).
    public func ingest(path: String, agent: String, channel: String) throws -> Outcome {
        let (file, isNew) = try receive(path: path, agent: agent, channel: channel)
        if !isNew, file.state != .received { return Outcome(file: file, duplicate: true) }
        return Outcome(file: try process(file), duplicate: !isNew)
    }

    /// Copies the file into the inbox while hashing it, then records the delivery.
    public func receive(path: String, agent: String, channel: String) throws -> (file: InboxFile, isNew: Bool) {
        try checkAgent(agent)
        guard let input = FileHandle(forReadingAtPath: path) else { throw IngestError("cannot read \(path)") }
        defer { try? input.close() }
        let folder = inboxDirectory + "/" + agent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = folder + "/.receiving-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let output = FileHandle(forWritingAtPath: temporary) else {
            throw IngestError("cannot write into the inbox \(folder)")
        }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                try output.write(contentsOf: chunk)
                size += Int64(chunk.count)
            }
            try output.synchronize()
            try output.close()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw IngestError("cannot copy \(path) into the inbox: \(error)")
        }
        let sha = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return try record(temporary: temporary, sha: sha, size: size, originalName: (path as NSString).lastPathComponent, agent: agent,
                          channel: channel)
    }

    /// Stores a body received over HTTP in the inbox and records the delivery.
    public func receive(bytes: [UInt8], name: String, agent: String, channel: String) throws -> (file: InboxFile, isNew: Bool) {
        try checkAgent(agent)
        let folder = inboxDirectory + "/" + agent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = folder + "/.receiving-\(UUID().uuidString)"
        do { try AtomicFile.write(Data(bytes), to: temporary) } catch { throw IngestError(error.description) }
        let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        return try record(temporary: temporary, sha: sha, size: Int64(bytes.count), originalName: name, agent: agent, channel: channel)
    }

    private func record(temporary: String, sha: String, size: Int64, originalName: String, agent: String,
                        channel: String) throws -> (file: InboxFile, isNew: Bool) {
        let extensionPart = (originalName as NSString).pathExtension
        let stored = inboxDirectory + "/" + agent + "/" + sha + (extensionPart.isEmpty ? "" : "." + extensionPart)
        guard rename(temporary, stored) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw IngestError("cannot move the delivery into the inbox as \(stored): errno \(errno)")
        }
        return try store.receiveInboxFile(NewInboxFile(agent: agent, sha256: sha, originalName: originalName, storedPath: stored,
                                                       size: size, channel: channel, receivedAt: now()))
    }

    private func checkAgent(_ agent: String) throws {
        guard let mapping = mappings.agents[agent] else {
            throw IngestError("no agent '\(agent)' in mappings/third-party; agents are \(mappings.agents.keys.sorted().joined(separator: ", "))")
        }
        guard mapping.updates != nil else { throw IngestError("agent '\(agent)' has no 'updates' section in its mapping: it sends no updates") }
    }

    /// Deliveries received but not finished (a crash or a stop in the middle): process them first.
    public func unfinished() throws -> [InboxFile] {
        try store.inboxFiles(agent: nil, state: .received, limit: 1_000).reversed()
    }

    /// Reads the delivery through once to know it is whole, then applies its rows after the cursor.
    public func process(_ file: InboxFile) throws -> InboxFile {
        guard file.state == .received else { return file }
        guard let mapping = mappings.agents[file.agent] else { throw IngestError("no agent '\(file.agent)' in mappings/third-party") }
        let parser = try AgentFileParser(agent: mapping)
        let sourceName = "\(file.agent)/\(file.originalName)#\(file.id)"
        let isJSON = (file.originalName as NSString).pathExtension.lowercased() == "json"
        let reader: ((AgentFileParser.Record) throws -> Void) throws -> Void = { body in
            if isJSON {
                guard let data = FileManager.default.contents(atPath: file.storedPath) else {
                    throw IngestError("the inbox has lost \(file.storedPath)")
                }
                try parser.forEachJSONRecord([UInt8](data), sourceName: sourceName, body)
            } else {
                try parser.forEachRecord(fileAt: file.storedPath, sourceName: sourceName, body)
            }
        }
        do {
            if isJSON { try reader { _ in } } else { try parser.checkWhole(fileAt: file.storedPath, sourceName: sourceName) }
        } catch let error as CSVFileError {
            try store.finishInboxFile(id: file.id, failure: error.description, at: now())
            return try store.inboxFile(id: file.id) ?? file
        }
        let planner = UpdatePlanner(store: store, mappings: mappings, agent: file.agent, placed: try store.placedContracts(agent: file.agent),
                                    today: now().date, now: now)
        // Rows are read and decided here while the previous batch is written on the writer's queue:
        // the two cores share the work. Batches are committed in file order, each with the cursor.
        let writer = BatchWriter()
        // Also when reading fails part-way: no batch is left being written after this returns.
        defer { writer.wait() }
        var pending: [IngestRow] = []
        var lastLine = file.linesDone
        var submittedLine = file.linesDone
        let (store, now, actor) = (store, now, "ingest:\(file.agent)")
        func flush() throws {
            guard lastLine > submittedLine else { return }
            let (rows, line) = (pending, lastLine)
            try writer.submit { try store.applyIngestBatch(fileId: file.id, throughLine: line, rows: rows, by: actor, at: now()) }
            submittedLine = lastLine
            pending.removeAll(keepingCapacity: true)
        }
        try reader { record in
            guard record.line > file.linesDone else { return }
            // A row whose effect depends on the contract's state sees every earlier row committed.
            if planner.readsState(record) {
                try flush()
                try writer.drain()
            }
            pending.append(try planner.plan(record))
            lastLine = record.line
            if pending.count >= batchSize { try flush() }
        }
        try flush()
        try writer.drain()
        try store.finishInboxFile(id: file.id, failure: nil, at: now())
        return try store.inboxFile(id: file.id) ?? file
    }
}

/// Writes batches one after another on its own queue, at most two waiting, so memory stays flat; the
/// first failure stops the batches after it and is thrown to the reader.
final class BatchWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "miles-adapter.ingest-writer")
    private let slots = DispatchSemaphore(value: 2)
    private let lock = NSLock()
    private var failure: (any Error)?

    func submit(_ work: @escaping @Sendable () throws -> Void) throws {
        try check()
        slots.wait()
        queue.async {
            defer { self.slots.signal() }
            guard self.lock.withLock({ self.failure == nil }) else { return }
            do { try work() } catch { self.lock.withLock { self.failure = error } }
        }
    }

    /// Waits until every submitted batch is written; throws the first failure.
    func drain() throws {
        wait()
        try check()
    }

    func wait() { queue.sync {} }

    private func check() throws {
        if let failure = lock.withLock({ failure }) { throw failure }
    }
}

/// Decides what each update does, against the stored contract.
struct UpdatePlanner {
    let store: any Store
    let mappings: MappingSet
    let agent: String
    let placed: Set<String>
    let today: LocalDate
    let now: @Sendable () -> Timestamp

    init(store: any Store, mappings: MappingSet, agent: String, placed: Set<String>, today: LocalDate, now: @escaping @Sendable () -> Timestamp) {
        self.store = store
        self.mappings = mappings
        self.agent = agent
        self.placed = placed
        self.today = today
        self.now = now
    }

    /// Whether the row's effect is decided on the contract's stored status, holds or customer.
    func readsState(_ record: AgentFileParser.Record) -> Bool {
        guard case let .update(update, _) = record else { return false }
        switch update.kind {
        case .status, .traceResult: return true
        case .paymentCollected, .vehicleRecovered, .soldAtAuction, .note: return false
        }
    }

    func plan(_ record: AgentFileParser.Record) throws -> IngestRow {
        switch record {
        case let .error(error):
            return .rejected(line: error.line, column: error.column, value: error.value, reason: error.reason)
        case let .update(update, line):
            let column = mappings.agents[agent]?.updates?.fields[.contractNumber] ?? "contractNumber"
            guard placed.contains(update.contractNumber) else {
                let reason = try store.contract(number: update.contractNumber) == nil
                    ? "no contract \(update.contractNumber) in the store" : "contract \(update.contractNumber) is not placed with \(agent)"
                return .rejected(line: line, column: column, value: update.contractNumber, reason: reason)
            }
            let details = update.kind.summary
            return .update(update, line: line, details: details, effects: try effects(of: update, details: details))
        }
    }

    private func note(_ update: ThirdPartyUpdate, _ details: String, category: String) -> ContractNote {
        ContractNote(id: 0, contractNumber: update.contractNumber, category: category, text: "\(agent): \(details)",
                     source: "\(agent) \(update.source)", requestedBy: "agent:\(agent)", requestedAt: now(), state: .queued)
    }

    private func effects(of update: ThirdPartyUpdate, details: String) throws -> IngestEffects {
        switch update.kind {
        case .paymentCollected:
            return IngestEffects(note: note(update, details, category: "PAYMENT"))
        case .note, .vehicleRecovered, .soldAtAuction:
            return IngestEffects(note: note(update, details, category: "AGENT"))
        case let .traceResult(address, phone, email, _):
            guard let contract = try store.contract(number: update.contractNumber) else { return IngestEffects(refusal: "the contract is gone") }
            let change = ContactChange(id: 0, contractNumber: update.contractNumber, partnerId: contract.customer.partnerId,
                                       expectedVersion: contract.customer.version, address: address, phone: phone, email: email,
                                       source: "\(agent) \(update.source)", requestedBy: "agent:\(agent)", requestedAt: now())
            return IngestEffects(contactChange: change)
        case let .status(status, on):
            switch status {
            case .deceased: return hold(.deceased, update, details)
            case .bankrupt: return hold(.insolvency, update, details)
            case .disputed: return hold(.dispute, update, details)
            case .activePlan: return try statusChange(update, details, to: .paymentPlan, reasonCode: "PPLN", on: on)
            case .legalProcess: return try statusChange(update, details, to: .legal, reasonCode: "LEGL", on: on)
            case .paidInFull, .settledInFull, .hold, .enforcement, .recalled, .writtenOff:
                return IngestEffects(note: note(update, details, category: "AGENT"))
            }
        }
    }

    /// A hold the agent's news requires (which also pauses the placement), and a note for the contract file.
    private func hold(_ kind: ContractHold.Kind, _ update: ThirdPartyUpdate, _ details: String) -> IngestEffects {
        IngestEffects(hold: ContractHold(kind: kind, reason: "\(agent) reports: \(details) (\(update.source))",
                                         setBy: "agent:\(agent)", setOn: today),
                      note: note(update, details, category: "AGENT"))
    }

    /// A status change through the transition table and the guards; a refusal keeps the update for the team.
    private func statusChange(_ update: ThirdPartyUpdate, _ details: String, to target: ContractStatus, reasonCode: String, on: LocalDate) throws -> IngestEffects {
        guard let contract = try store.contract(number: update.contractNumber) else { return IngestEffects(refusal: "the contract is gone") }
        if mappings.statusCodes.internalStatus(forMilesCode: contract.statusCode) == target {
            return IngestEffects(note: note(update, details, category: "AGENT"))
        }
        let refusals = try StatusChangeRules.refusals(moving: contract, to: target, courtOrderReference: nil, overridden: [], store: store,
                                                      mappings: mappings, on: today)
        guard refusals.isEmpty else { return IngestEffects(refusal: refusals.map(\.description).joined(separator: "; ")) }
        let change = StatusChange(id: 0, contractNumber: update.contractNumber, to: target, reasonCode: reasonCode, effectiveDate: on,
                                  courtOrderReference: nil, expectedVersion: contract.version, requestedBy: "agent:\(agent)",
                                  requestedAt: now(), state: .queued, overrides: [])
        return IngestEffects(statusChange: change, note: note(update, details, category: "AGENT"))
    }
}

/// A delivery could not be taken in; the message names it and says why.
public struct IngestError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
