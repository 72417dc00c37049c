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

    /// Copies the file into the inbox while hashing it, then records the delivery. Only a regular file
    /// is taken (never through a symbolic link), and only up to `maxBytes`: a larger one is refused
    /// before anything of it is kept.
    func receive(path: String, agent: String, channel: String, maxBytes: Int) async throws -> (file: InboxFile, isNew: Bool) {
        let folder = directory + "/" + agent
        let (temporary, sha, size) = try await BlockingWork.run { () throws(IngestError) -> (String, String, Int64) in
            try Self.copyHashing(path, into: folder, maxBytes: maxBytes)
        }
        return try await record(temporary: temporary, sha: sha, size: size, originalName: (path as NSString).lastPathComponent, agent: agent,
                                channel: channel)
    }

    /// Copies the regular file `path` (at most `maxBytes`) into a new temporary file in `folder`
    /// while hashing it, synced before it is named; on any failure the temporary file is gone.
    static func copyHashing(_ path: String, into folder: String, maxBytes: Int) throws(IngestError) -> (temporary: String, sha256: String, size: Int64) {
        let input = try openRegularFile(path, maxBytes: maxBytes)
        defer { try? input.close() }
        let temporary = try temporaryFile(in: folder)
        guard let output = FileHandle(forWritingAtPath: temporary) else {
            throw IngestError(.inboxUnwritable, input: folder, "cannot write into \(folder)")
        }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                size += Int64(chunk.count)
                // The file grew while it was copied.
                guard size <= Int64(maxBytes) else { throw overLimit(path, maxBytes: maxBytes) }
                hasher.update(data: chunk)
                try output.write(contentsOf: chunk)
            }
            try output.synchronize()
            try output.close()
        } catch {
            try? output.close()
            try? FileManager.default.removeItem(atPath: temporary)
            if let error = error as? IngestError { throw error }
            throw IngestError(.inboxUnwritable, input: path, "cannot copy \(path) into \(folder): \(error)")
        }
        return (temporary, hex(hasher.finalize()), size)
    }

    /// Opens `path` for reading if it is a regular file of at most `maxBytes`, without following a
    /// symbolic link and without blocking on a pipe.
    static func openRegularFile(_ path: String, maxBytes: Int) throws(IngestError) -> FileHandle {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ELOOP {
                throw IngestError(.notARegularFile, input: path, "\(path) is a symbolic link; deliver the file itself")
            }
            throw IngestError(.unreadableDelivery, input: path, "cannot read \(path): \(String(cString: strerror(code)))")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw IngestError(.notARegularFile, input: path, "\(path) is not a regular file (a folder, device or pipe); deliver a file")
        }
        guard status.st_size <= maxBytes else {
            close(descriptor)
            throw overLimit(path, maxBytes: maxBytes, size: Int64(status.st_size))
        }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    static func overLimit(_ input: String, maxBytes: Int, size: Int64? = nil) -> IngestError {
        IngestError(.overLimit, input: input, "\(input) is " + (size.map { "\($0) bytes, " } ?? "")
                    + "over the agent's limit of \(maxBytes) bytes (updates.limits.maxFileBytes in its mapping); "
                    + "nothing of it was stored: ask for it in parts")
    }

    /// Starts receiving a delivery in parts (an HTTP body), at most `maxBytes` of it.
    func upload(name: String, agent: String, channel: String, maxBytes: Int) throws(IngestError) -> InboxUpload {
        let temporary = try Self.temporaryFile(in: directory + "/" + agent)
        guard let output = FileHandle(forWritingAtPath: temporary) else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw IngestError(.inboxUnwritable, input: temporary, "cannot write into the inbox \(temporary)")
        }
        return InboxUpload(inbox: self, temporary: temporary, output: output, name: name, agent: agent, channel: channel, maxBytes: maxBytes)
    }

    fileprivate func record(temporary: String, sha: String, size: Int64, originalName: String, agent: String,
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

    /// A new file in the agent's inbox folder, which holds customers' personal data: the folders are
    /// the owner's only (0700) and so is the file (0600).
    static func temporaryFile(in folder: String) throws(IngestError) -> String {
        // A folder named relative to the working directory, like the default `statements`, has no parent to make.
        for path in [(folder as NSString).deletingLastPathComponent, folder] where !path.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw IngestError(.inboxUnwritable, input: path, "cannot create the folder \(path): \(error)")
            }
        }
        let temporary = folder + "/.receiving-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw IngestError(.inboxUnwritable, input: folder, "cannot write into \(folder)")
        }
        return temporary
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}

/// A delivery being received in parts, such as an HTTP body: each part is hashed and written to a
/// temporary file in the inbox as it comes, so memory holds one part however large the delivery.
/// `finish` records it; `discard` (or a part over the limit) leaves nothing behind.
public final class InboxUpload {
    private let inbox: Inbox
    private let temporary: String
    private let output: FileHandle
    private let name: String
    private let agent: String
    private let channel: String
    /// The most bytes the delivery may have.
    public let maxBytes: Int
    private var hasher = SHA256()
    private var size: Int64 = 0
    private var open = true

    fileprivate init(inbox: Inbox, temporary: String, output: FileHandle, name: String, agent: String, channel: String, maxBytes: Int) {
        self.inbox = inbox
        self.temporary = temporary
        self.output = output
        self.name = name
        self.agent = agent
        self.channel = channel
        self.maxBytes = maxBytes
    }

    deinit {
        if open { discard() }
    }

    /// Adds the next part; over `maxBytes`, discards the upload and throws `overLimit`.
    public func append(_ bytes: some Collection<UInt8>) throws(IngestError) {
        size += Int64(bytes.count)
        guard size <= Int64(maxBytes) else {
            discard()
            throw Inbox.overLimit("the delivery", maxBytes: maxBytes)
        }
        let data = Data(bytes)
        hasher.update(data: data)
        do { try output.write(contentsOf: data) } catch {
            discard()
            throw IngestError(.inboxUnwritable, input: temporary, "cannot write into the inbox: \(error)")
        }
    }

    /// Flushes the delivery to disk, moves it into the inbox under its hash and records it.
    public func finish() async throws -> (file: InboxFile, isNew: Bool) {
        open = false
        let (output, temporary) = (output, temporary)
        try await BlockingWork.run { () throws(IngestError) in
            do {
                try output.synchronize()
                try output.close()
            } catch {
                try? FileManager.default.removeItem(atPath: temporary)
                throw IngestError(.inboxUnwritable, input: temporary, "cannot write into the inbox: \(error)")
            }
        }
        return try await inbox.record(temporary: temporary, sha: Inbox.hex(hasher.finalize()), size: size, originalName: name, agent: agent,
                                      channel: channel)
    }

    /// Drops what was received.
    public func discard() {
        guard open else { return }
        open = false
        try? output.close()
        try? FileManager.default.removeItem(atPath: temporary)
    }
}
