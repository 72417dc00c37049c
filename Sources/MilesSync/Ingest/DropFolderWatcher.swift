import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping

/// Watches a drop folder with one sub-folder per agent (`DIR/acme-dca/…`). A file is taken only when
/// complete: its done-file (`NAME.done`) is there, or its size has not changed since the previous look
/// and it was last written at least `stableFor` ago. After processing it moves to the agent's
/// `processed/` (with `NAME.errors.csv` beside it when rows were rejected), or to `failed/` with
/// `NAME.report.txt` saying why. Nothing is deleted.
///
/// Several watchers may share a drop folder: a file is claimed by renaming it into the watcher's
/// own `.taking/HOST/PID/` folder, which only one rename can do, so each delivery is taken by one
/// watcher. Files a watcher on this machine claimed and never finished (it was killed) go back
/// into the agent's folder at the next look of any watcher.
public final class DropFolderWatcher {
    public struct Taken: Sendable {
        public var agent: String
        public var path: String
        public var movedTo: String
        public var outcome: IngestDesk.Outcome?
        public var failure: String?
    }

    let desk: IngestDesk
    let directory: String
    let stableFor: Duration
    let clock: () -> Date
    private var lastSizes: [String: UInt64] = [:]
    /// This watcher's claim folder under each agent's folder: `.taking/HOST/PID`.
    private let claimFolder = ".taking/\(Processes.machine)/\(getpid())"

    public init(desk: IngestDesk, directory: String, stableFor: Duration = .seconds(10), clock: @escaping () -> Date = Date.init) {
        self.desk = desk
        self.directory = directory
        self.stableFor = stableFor
        self.clock = clock
    }

    /// One look at every agent's folder: takes each complete file in name order.
    public func scan() async throws -> [Taken] {
        var taken: [Taken] = []
        let fileManager = FileManager.default
        for agent in desk.mappings.agents.values.filter({ $0.updates != nil }).map(\.agent).sorted() {
            let folder = directory + "/" + agent
            returnAbandonedClaims(in: folder)
            guard let names = try? fileManager.contentsOfDirectory(atPath: folder) else { continue }
            for name in names.sorted() where !name.hasPrefix(".") && !name.hasSuffix(".done") {
                let path = folder + "/" + name
                guard let attributes = try? fileManager.attributesOfItem(atPath: path),
                      attributes[.type] as? FileAttributeType == .typeRegular else { continue }
                guard isComplete(path: path, attributes: attributes) else { continue }
                lastSizes[path] = nil
                // Another watcher claimed it first: it is theirs.
                guard let claimed = try claim(path, name: name, in: folder) else { continue }
                taken.append(try await take(path: path, claimed: claimed, name: name, agent: agent, folder: folder))
            }
            removeClaimFolderIfEmpty(in: folder)
        }
        return taken
    }

    private func isComplete(path: String, attributes: [FileAttributeKey: Any]) -> Bool {
        if FileManager.default.fileExists(atPath: path + ".done") { return true }
        let size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
        let modified = attributes[.modificationDate] as? Date ?? .distantFuture
        defer { lastSizes[path] = size }
        let quiet = clock().timeIntervalSince(modified) >= Double(stableFor.components.seconds)
        return quiet && (lastSizes[path].map { $0 == size } ?? true)
    }

    /// Renames the file into this watcher's claim folder; nil when another watcher renamed it first.
    private func claim(_ path: String, name: String, in folder: String) throws -> String? {
        let claims = folder + "/" + claimFolder
        try FileManager.default.createDirectory(atPath: claims, withIntermediateDirectories: true)
        let claimed = claims + "/" + name
        guard rename(path, claimed) == 0 else {
            if errno == ENOENT { return nil }
            throw IngestError(.inboxUnwritable, input: path, "cannot claim \(path) (moving it to \(claimed)): errno \(errno)")
        }
        if FileManager.default.fileExists(atPath: path + ".done") { _ = rename(path + ".done", claimed + ".done") }
        return claimed
    }

    /// Puts back into the agent's folder what watchers on this machine claimed and did not finish
    /// because their process ended. What a watcher on another machine claimed stays: it ends there.
    private func returnAbandonedClaims(in folder: String) {
        let hostFolder = folder + "/.taking/" + Processes.machine
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: hostFolder)) ?? [] {
            guard let processId = Int32(pid), Processes.hasEnded(processId: processId, host: Processes.machine) else { continue }
            let claims = hostFolder + "/" + pid
            for name in (try? FileManager.default.contentsOfDirectory(atPath: claims)) ?? [] where !name.hasSuffix(".done") {
                // Back beside a newer delivery of the same name, under a name of its own; never over it.
                var target = folder + "/" + name
                var attempt = 1
                while FileManager.default.fileExists(atPath: target) {
                    attempt += 1
                    target = folder + "/" + name + ".\(attempt)"
                }
                guard rename(claims + "/" + name, target) == 0 else { continue }
                if FileManager.default.fileExists(atPath: claims + "/" + name + ".done") { _ = rename(claims + "/" + name + ".done", target + ".done") }
            }
            _ = rmdir(claims)
        }
    }

    /// This watcher's claim folder, once nothing is left in it. The folders above it stay: removing
    /// one while another watcher creates its own claim folder inside it would fail that watcher's look.
    private func removeClaimFolderIfEmpty(in folder: String) {
        _ = rmdir(folder + "/" + claimFolder)
    }

    private func take(path: String, claimed: String, name: String, agent: String, folder: String) async throws -> Taken {
        do {
            let outcome = try await desk.ingest(path: claimed, agent: agent, channel: "watch")
            if outcome.file.state == .failed {
                let moved = try move(claimed, name: name, into: folder + "/failed")
                try write(report: "\(name): refused as a whole: \(outcome.file.failureReason ?? "unknown reason")\n"
                            + "nothing from it was applied; correct it and deliver it again\n", beside: moved)
                return Taken(agent: agent, path: path, movedTo: moved, outcome: outcome, failure: outcome.file.failureReason)
            }
            let moved = try move(claimed, name: name, into: folder + "/processed")
            let errors = try await desk.store.ingestRowErrors(fileId: outcome.file.id)
            if !outcome.duplicate, !errors.isEmpty {
                let report = CSVText.render(header: ["line", "column", "value", "reason"],
                                            rows: errors.map { [String($0.line), $0.column, $0.value, $0.reason] })
                try write(report, to: moved + ".errors.csv")
            }
            return Taken(agent: agent, path: path, movedTo: moved, outcome: outcome, failure: nil)
        } catch let error as IngestError {
            let moved = try move(claimed, name: name, into: folder + "/failed")
            try write(report: "\(name): \(error.description)\n", beside: moved)
            return Taken(agent: agent, path: path, movedTo: moved, outcome: nil, failure: error.description)
        }
    }

    /// Renames into `folder`, never over an earlier file of the same name; the done-file goes along.
    private func move(_ path: String, name: String, into folder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var target = folder + "/" + name
        var attempt = 1
        while FileManager.default.fileExists(atPath: target) {
            attempt += 1
            target = folder + "/" + name + ".\(attempt)"
        }
        guard rename(path, target) == 0 else {
            throw IngestError(.inboxUnwritable, input: path, "cannot move \(path) to \(target): errno \(errno)")
        }
        if FileManager.default.fileExists(atPath: path + ".done") { _ = rename(path + ".done", target + ".done") }
        return target
    }

    private func write(report: String, beside path: String) throws {
        try write(report, to: path + ".report.txt")
    }

    /// A failure here is not the delivery's fault, so it is not an `IngestError`: it stops the scan.
    private func write(_ text: String, to path: String) throws {
        try AtomicFile.write(Data(text.utf8), to: path)
    }
}
