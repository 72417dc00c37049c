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
}
