import CollectionsDomain
import CollectionsStore
import Crypto
import Foundation
import MilesMapping

/// Where agents' deliveries are kept whole before anything is read from them: copied into a folder
/// per agent, named by their SHA-256 (so the same content twice is one delivery), then recorded in
/// the store. The copying runs off the cooperative pool.
struct Inbox: Sendable {
    let store: any IngestStore
    /// Where deliveries are kept whole, by agent and content hash.
    let directory: String
    let now: CollectionsClock

    /// Copies the file into the inbox while hashing it, then records the delivery.
    func receive(path: String, agent: String, channel: String) async throws -> (file: InboxFile, isNew: Bool) {
        let folder = directory + "/" + agent
        let (temporary, sha, size) = try await BlockingWork.run { () throws(IngestError) -> (String, String, Int64) in
            guard let input = FileHandle(forReadingAtPath: path) else {
                throw IngestError(.unreadableDelivery, input: path, "cannot read \(path)")
            }
            defer { try? input.close() }
            let temporary = try Self.temporaryFile(in: folder)
            guard let output = FileHandle(forWritingAtPath: temporary) else {
                throw IngestError(.inboxUnwritable, input: folder, "cannot write into the inbox \(folder)")
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
                throw IngestError(.inboxUnwritable, input: path, "cannot copy \(path) into the inbox: \(error)")
            }
            return (temporary, Self.hex(hasher.finalize()), size)
        }
        return try await record(temporary: temporary, sha: sha, size: size, originalName: (path as NSString).lastPathComponent, agent: agent,
                                channel: channel)
    }

    /// Stores a body received over HTTP in the inbox and records the delivery.
    func receive(bytes: [UInt8], name: String, agent: String, channel: String) async throws -> (file: InboxFile, isNew: Bool) {
        let folder = directory + "/" + agent
        let temporary = try await BlockingWork.run { () throws(IngestError) -> String in
            let temporary = try Self.temporaryFile(in: folder)
            do { try AtomicFile.write(Data(bytes), to: temporary) } catch {
                throw IngestError(.inboxUnwritable, input: folder, "\(error)")
            }
            return temporary
        }
        return try await record(temporary: temporary, sha: Self.hex(SHA256.hash(data: bytes)), size: Int64(bytes.count), originalName: name,
                                agent: agent, channel: channel)
    }

    private func record(temporary: String, sha: String, size: Int64, originalName: String, agent: String,
                        channel: String) async throws -> (file: InboxFile, isNew: Bool) {
        let extensionPart = (originalName as NSString).pathExtension
        let stored = directory + "/" + agent + "/" + sha + (extensionPart.isEmpty ? "" : "." + extensionPart)
        guard rename(temporary, stored) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: temporary)
            throw IngestError(.inboxUnwritable, input: stored, "cannot move the delivery into the inbox as \(stored): errno \(code)")
        }
        return try await store.receiveInboxFile(NewInboxFile(agent: agent, sha256: sha, originalName: originalName, storedPath: stored,
                                                             size: size, channel: channel, receivedAt: now()))
    }

    private static func temporaryFile(in folder: String) throws(IngestError) -> String {
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw IngestError(.inboxUnwritable, input: folder, "cannot create the inbox folder \(folder): \(error)")
        }
        let temporary = folder + "/.receiving-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw IngestError(.inboxUnwritable, input: folder, "cannot write into the inbox \(folder)")
        }
        return temporary
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
