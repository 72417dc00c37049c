import CollectionsDomain
import Foundation

/// Watches a flat drop folder of bank statements (`DIR/*.xml`, `DIR/*.sta`, any name: the desk tells
/// the format by the file's first bytes), a `DropFolder`: each file is taken once it is complete
/// (`NAME.done` beside it, or unchanged between two looks and quiet for `stableFor`) by one of the
/// watchers sharing the folder, and imported through `BankDesk`. Then it moves to `processed/`
/// (imported, or imported before: nothing changed), or, refused whole (malformed, an account or
/// currency `mappings/bank` does not configure, not a statement), to `failed/` with
/// `NAME.report.txt` saying why. A failure that is not the file's (the store, the statements folder,
/// the drop folder itself) stops the look and leaves the file claimed: a later watcher takes it again.
///
/// ```swift
/// let watcher = BankStatementWatcher(desk: desk, directory: "drop/bank")
/// for taken in try await watcher.scan() { print(taken.path, "->", taken.movedTo) }
/// ```
public final class BankStatementWatcher {
    public struct Taken: Sendable {
        public var path: String
        public var movedTo: String
        /// Nil when the file was refused.
        public var outcome: BankDesk.ImportOutcome?
        public var failure: String?
    }

    let desk: BankDesk
    private let folder: DropFolder

    public init(desk: BankDesk, directory: String, stableFor: Duration = .seconds(10), clock: @escaping () -> Date = Date.init) {
        self.desk = desk
        folder = DropFolder(path: directory, stableFor: stableFor, clock: clock)
    }

    /// One look at the folder: takes each complete file in name order.
    public func scan() async throws -> [Taken] {
        var taken: [Taken] = []
        try await folder.takeComplete { name, claimed in
            taken.append(try await take(path: folder.path + "/" + name, claimed: claimed, name: name))
        }
        return taken
    }

    private func take(path: String, claimed: String, name: String) async throws -> Taken {
        do {
            let outcome = try await desk.importStatement(path: claimed, format: nil)
            return Taken(path: path, movedTo: try folder.move(claimed, name: name, into: "processed"), outcome: outcome, failure: nil)
        } catch let error as BankImportError where Self.isRefusal(error) {
            let moved = try folder.move(claimed, name: name, into: "failed")
            // The desk names the file by the claim folder it read it from; the report names it where it was dropped.
            let reason = error.description.replacingOccurrences(of: claimed, with: path)
            do {
                try folder.write(report: "\(name): \(reason)\ncorrect it and drop it again\n", beside: moved)
            } catch {
                throw DropFolderError(.unwritable, input: moved, "cannot write the report beside \(moved): \(error)")
            }
            return Taken(path: path, movedTo: moved, outcome: nil, failure: reason)
        }
    }

    /// The file's own fault: nothing of it was stored, and taking it again would fail the same way.
    private static func isRefusal(_ error: BankImportError) -> Bool {
        switch error.code {
        case .unreadableFile, .unknownFormat, .malformedStatement, .unknownAccount, .currencyMismatch: true
        case .storeUnwritable, .unknownEntry, .notWaiting, .unknownContract, .contractCurrencyMismatch, .unknownInvoice, .nothingOpen: false
        }
    }
}
