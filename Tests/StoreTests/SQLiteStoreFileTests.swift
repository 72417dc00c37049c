import CollectionsStoreSQLite
import Foundation
import Testing

@Suite("The SQLite store's files")
struct SQLiteStoreFileTests {
    /// The side reader is read-only and cannot checkpoint: closed after the writer, it would leave the
    /// log (up to 256 MB of frames) for the next start to read back.
    @Test("a store released leaves no write-ahead log behind: its writer, the last connection, checkpoints it into the database")
    func logCheckpointedOnClose() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-close-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/collections.sqlite"
        do {
            let store = try SQLiteStore(path: path)
            // Opening migrated the schema: written to the log.
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
            withExtendedLifetime(store) {}
        }
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test("the store's work runs on a thread named miles-store, for an operator's top -H or ps -L")
    func threadNamed() async throws {
        let store = try SQLiteStore(path: ":memory:")
        let name = await withTaskExecutorPreference(store.taskExecutor) {
            // The preference takes effect when the task is next scheduled, not at the call.
            await Task.yield()
            return (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
        }
        #expect(name == "miles-store")
    }
}
