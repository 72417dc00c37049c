import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping

/// Watches a drop folder with one sub-folder per agent (`DIR/acme-dca/…`), each a `DropFolder`: a
/// file is taken only when complete (its done-file `NAME.done` is there, or its size has not changed
/// since the previous look and it was last written at least `stableFor` ago), claimed by one watcher
/// of those sharing the folder, and what a killed watcher on this machine had claimed goes back.
/// After processing it moves to the agent's `processed/` (with `NAME.errors.csv` beside it when rows
/// were rejected), or to `failed/` with `NAME.report.txt` saying why. Nothing is deleted.
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
    /// Each agent's folder, kept from look to look: it remembers the sizes it saw.
    private var folders: [String: DropFolder] = [:]

    public init(desk: IngestDesk, directory: String, stableFor: Duration = .seconds(10), clock: @escaping () -> Date = Date.init) {
        self.desk = desk
        self.directory = directory
        self.stableFor = stableFor
        self.clock = clock
    }

    /// One look at every agent's folder: takes each complete file in name order.
    public func scan() async throws -> [Taken] {
        var taken: [Taken] = []
        for agent in desk.mappings.agents.values.filter({ $0.updates != nil }).map(\.agent).sorted() {
            let folder = folders[agent] ?? DropFolder(path: directory + "/" + agent, stableFor: stableFor, clock: clock)
            folders[agent] = folder
            do {
                try await folder.takeComplete { name, claimed in
                    taken.append(try await take(path: folder.path + "/" + name, claimed: claimed, name: name, agent: agent, folder: folder))
                }
            } catch let error as DropFolderError {
                throw IngestError(.inboxUnwritable, input: error.input, error.description)
            }
        }
        return taken
    }

    private func take(path: String, claimed: String, name: String, agent: String, folder: DropFolder) async throws -> Taken {
        do {
            let outcome = try await desk.ingest(path: claimed, agent: agent, channel: "watch")
            if outcome.file.state == .failed {
                let moved = try move(claimed, name: name, into: "failed", of: folder)
                try folder.write(report: "\(name): refused as a whole: \(outcome.file.failureReason ?? "unknown reason")\n"
                                    + "nothing from it was applied; correct it and deliver it again\n", beside: moved)
                return Taken(agent: agent, path: path, movedTo: moved, outcome: outcome, failure: outcome.file.failureReason)
            }
            let moved = try move(claimed, name: name, into: "processed", of: folder)
            let errors = try await desk.store.ingestRowErrors(fileId: outcome.file.id)
            if !outcome.duplicate, !errors.isEmpty {
                let report = CSVText.render(header: ["line", "column", "value", "reason"],
                                            rows: errors.map { [String($0.line), $0.column, $0.value, $0.reason] })
                try folder.write(report, to: moved + ".errors.csv")
            }
            return Taken(agent: agent, path: path, movedTo: moved, outcome: outcome, failure: nil)
        } catch let error as IngestError {
            let moved = try move(claimed, name: name, into: "failed", of: folder)
            try folder.write(report: "\(name): \(error.description)\n", beside: moved)
            return Taken(agent: agent, path: path, movedTo: moved, outcome: nil, failure: error.description)
        }
    }

    /// The agents' watcher has always reported a file it cannot move as the inbox's failure.
    private func move(_ claimed: String, name: String, into subfolder: String, of folder: DropFolder) throws -> String {
        do {
            return try folder.move(claimed, name: name, into: subfolder)
        } catch let error as DropFolderError {
            throw IngestError(.inboxUnwritable, input: error.input, error.description)
        }
    }
}
