import CollectionsDomain
import Foundation

/// Where imported statements are kept whole before anything of them is stored: copied (only a
/// regular file, never through a link) into an owner-only folder while hashed, named by the SHA-256,
/// so an interrupted import is resumed from the copy and the same file twice is one file.
struct BankStatementFiles: Sendable {
    let directory: String
    /// Larger files are refused before anything of them is kept.
    let maxBytes: Int

    struct Kept: Sendable {
        var path: String
        var sha256: String
        var originalName: String
    }

    func keep(_ path: String) async throws -> Kept {
        let (directory, maxBytes) = (directory, maxBytes)
        return try await BlockingWork.run { () throws(BankImportError) -> Kept in
            let temporary: String, sha: String
            do throws(IngestError) {
                (temporary, sha, _) = try Inbox.copyHashing(path, into: directory, maxBytes: maxBytes)
            } catch {
                switch error.code {
                case .inboxUnwritable: throw BankImportError(.storeUnwritable, input: directory, error.description)
                case .overLimit:
                    throw BankImportError(.unreadableFile, input: path,
                                          "\(path) is over the limit of \(maxBytes) bytes for a statement (bank.maxFileBytes); nothing of it was kept")
                default: throw BankImportError(.unreadableFile, input: path, error.description)
                }
            }
            let name = (path as NSString).lastPathComponent
            let extensionPart = (name as NSString).pathExtension
            let kept = directory + "/" + sha + (extensionPart.isEmpty ? "" : "." + extensionPart)
            guard rename(temporary, kept) == 0 else {
                let code = errno
                try? FileManager.default.removeItem(atPath: temporary)
                throw BankImportError(.storeUnwritable, input: kept, "cannot keep the statement as \(kept): errno \(code)")
            }
            return Kept(path: kept, sha256: sha, originalName: name)
        }
    }
}
