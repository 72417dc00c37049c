import CollectionsDomain
import Foundation

/// A folder others drop files into, each file taken once when it is complete: its done-file
/// (`NAME.done`) is there, or its size has not changed since the previous look and it was last
/// written at least `stableFor` ago. Hidden files and done-files are never taken, nor anything that
/// is not a regular file (the `processed/` and `failed/` folders inside it included).
///
/// Several watchers may share a folder: a file is claimed by renaming it into the watcher's own
/// `.taking/HOST/PID/` folder, which only one rename can do, so each file is taken by one watcher.
/// Files a watcher on this machine claimed and never finished (it was killed) go back into the
/// folder at the next look of any watcher. Once taken, a file moves into a folder beside it (never
/// over an earlier file of the same name); nothing is deleted.
///
/// ```swift
/// let folder = DropFolder(path: "drop/statements", stableFor: .seconds(10), clock: Date.init)
/// try await folder.takeComplete { name, claimed in
///     try process(claimed)
///     _ = try folder.move(claimed, name: name, into: "processed")
/// }
/// ```
final class DropFolder {
    let path: String
    let stableFor: Duration
    let clock: () -> Date
    private var lastSizes: [String: UInt64] = [:]
    /// This watcher's claim folder inside the folder: `.taking/HOST/PID`.
    private let claimFolder = ".taking/\(Processes.machine)/\(getpid())"

    init(path: String, stableFor: Duration, clock: @escaping () -> Date) {
        self.path = path
        self.stableFor = stableFor
        self.clock = clock
    }

    /// One look: returns abandoned claims, then claims each complete file in name order and hands
    /// `take` its name and where it is now. A file another watcher claimed first is theirs.
    func takeComplete(_ take: (_ name: String, _ claimed: String) async throws -> Void) async throws {
        returnAbandonedClaims()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
        for name in names.sorted() where !name.hasPrefix(".") && !name.hasSuffix(".done") {
            let file = path + "/" + name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
                  attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            guard isComplete(path: file, attributes: attributes) else { continue }
            lastSizes[file] = nil
            guard let claimed = try claim(file, name: name) else { continue }
            try await take(name, claimed)
        }
        removeClaimFolderIfEmpty()
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
    private func claim(_ file: String, name: String) throws -> String? {
        let claims = path + "/" + claimFolder
        try FileManager.default.createDirectory(atPath: claims, withIntermediateDirectories: true)
        let claimed = claims + "/" + name
        guard rename(file, claimed) == 0 else {
            if errno == ENOENT { return nil }
            throw DropFolderError(.unclaimable, input: file, "cannot claim \(file) (moving it to \(claimed)): errno \(errno)")
        }
        if FileManager.default.fileExists(atPath: file + ".done") { _ = rename(file + ".done", claimed + ".done") }
        return claimed
    }

    /// Puts back into the folder what watchers on this machine claimed and did not finish because
    /// their process ended. What a watcher on another machine claimed stays: it ends there.
    private func returnAbandonedClaims() {
        let hostFolder = path + "/.taking/" + Processes.machine
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: hostFolder)) ?? [] {
            guard let processId = Int32(pid), Processes.hasEnded(processId: processId, host: Processes.machine) else { continue }
            let claims = hostFolder + "/" + pid
            for name in (try? FileManager.default.contentsOfDirectory(atPath: claims)) ?? [] where !name.hasSuffix(".done") {
                // Back beside a newer file of the same name, under a name of its own; never over it.
                let target = Self.freeName(name, in: path)
                guard rename(claims + "/" + name, target) == 0 else { continue }
                if FileManager.default.fileExists(atPath: claims + "/" + name + ".done") { _ = rename(claims + "/" + name + ".done", target + ".done") }
            }
            _ = rmdir(claims)
        }
    }

    /// This watcher's claim folder, once nothing is left in it. The folders above it stay: removing
    /// one while another watcher creates its own claim folder inside it would fail that watcher's look.
    private func removeClaimFolderIfEmpty() {
        _ = rmdir(path + "/" + claimFolder)
    }

    /// Renames a claimed file into `folder` inside the drop folder (`processed`, `failed`), never
    /// over an earlier file of the same name; the done-file goes along. Returns where it is now.
    func move(_ claimed: String, name: String, into folder: String) throws -> String {
        let destination = path + "/" + folder
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let target = Self.freeName(name, in: destination)
        guard rename(claimed, target) == 0 else {
            throw DropFolderError(.unmovable, input: claimed, "cannot move \(claimed) to \(target): errno \(errno)")
        }
        if FileManager.default.fileExists(atPath: claimed + ".done") { _ = rename(claimed + ".done", target + ".done") }
        return target
    }

    /// `NAME` in the folder, or `NAME.2`, `NAME.3`… when an earlier file holds that name.
    private static func freeName(_ name: String, in folder: String) -> String {
        var target = folder + "/" + name
        var attempt = 1
        while FileManager.default.fileExists(atPath: target) {
            attempt += 1
            target = folder + "/" + name + ".\(attempt)"
        }
        return target
    }

    /// `NAME.report.txt` beside a moved file, written whole or not at all.
    func write(report: String, beside file: String) throws(AtomicFileError) {
        try write(report, to: file + ".report.txt")
    }

    /// A failure here is not the file's fault: the caller stops its look.
    func write(_ text: String, to file: String) throws(AtomicFileError) {
        try AtomicFile.write(Data(text.utf8), to: file)
    }
}

/// A drop folder's file could not be claimed or moved, or its report written; `input` is the file.
/// Not the file's fault: the watcher stops its look.
public typealias DropFolderError = CodedError<DropFolderErrorCode>

/// What went wrong, for `DropFolderError`.
public enum DropFolderErrorCode: String, Sendable {
    /// The file could not be renamed into the watcher's claim folder.
    case unclaimable
    /// The claimed file could not be renamed into `processed/` or `failed/`.
    case unmovable
    /// The report beside a moved file could not be written.
    case unwritable
}
