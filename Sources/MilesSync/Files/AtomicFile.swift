import Foundation

/// Files written so a reader sees the whole file or none: written beside the target, flushed, then
/// renamed over it. They are the owner's only (0600) unless told otherwise: what the adapter writes
/// holds customers' personal data or their debts.
enum AtomicFile {
    static func write(_ data: Data, to path: String, permissions: Int = 0o600) throws(AtomicFileError) {
        let temporary = path + ".partial-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: permissions]),
              let handle = FileHandle(forWritingAtPath: temporary) else {
            throw AtomicFileError(description: "cannot write \(temporary)")
        }
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw AtomicFileError(description: "cannot flush \(temporary): \(error)")
        }
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw AtomicFileError(description: "cannot move \(temporary) into \(path): errno \(errno)")
        }
    }
}

struct AtomicFileError: Error, CustomStringConvertible {
    let description: String
}
