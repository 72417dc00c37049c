import CollectionsDomain
import CollectionsStore
import CollectionsStorePostgres
import CollectionsStoreSQLite
import Foundation
import MilesMock
import MilesSync
import Testing

/// The contract sync into PostgreSQL, beside the same sync into SQLite (issue 15).
@Suite("The contract sync into PostgreSQL", .serialized, .timeLimit(.minutes(3)),
       .enabled(if: ProcessInfo.processInfo.environment["MILES_TEST_POSTGRES_URL"] != nil))
struct PostgresSyncTests {
    @Test("a full and an incremental sync store in PostgreSQL the same contracts, customers and invoices as in SQLite")
    func sameModelValues() async throws {
        let server = try #require(ProcessInfo.processInfo.environment["MILES_TEST_POSTGRES_URL"])
        let name = "sync_\(UUID().uuidString.prefix(8).lowercased())"
        #expect(try await runAdapterSeparately([server, "-q", "-c", "CREATE DATABASE \(name)"], environment: [:],
                                               executable: URL(fileURLWithPath: "/usr/bin/psql")).status == 0)
        let location = try PostgresLocation(url: server.replacingOccurrences(of: "/postgres?", with: "/\(name)?"), password: nil)
        let postgres = try await PostgresStore(location: location)
        try await withHarness(contracts: 700) { harness in
            let sqlite = try SQLiteStore(path: harness.storePath)
            /// Every stored contract of each store, side by side.
            func compare() async throws {
                var fromSQLite: [Contract] = []
                var fromPostgres: [Contract] = []
                try await sqlite.forEachContract { fromSQLite.append($0) }
                try await postgres.forEachContract(pageSize: 250) { fromPostgres.append($0) }
                #expect(fromPostgres.count == fromSQLite.count)
                #expect(fromPostgres == fromSQLite)
            }
            let full = try await harness.sync(store: postgres, pageSize: 200).run(mode: .full)
            _ = try await harness.sync(store: sqlite, pageSize: 200).run(mode: .full)
            #expect(full.received == 700)
            #expect(try await postgres.contractCount() == 700)
            try await compare()

            let changed = await harness.server.miles.advanceDay(changes: 40)
            #expect(!changed.isEmpty)
            let incremental = try await harness.sync(store: postgres, pageSize: 200).run(mode: .resume)
            _ = try await harness.sync(store: sqlite, pageSize: 200).run(mode: .resume)
            #expect(incremental.received >= changed.count)
            try await compare()
            #expect(try await postgres.runs(job: "contracts", limit: 5).count == 2)
            #expect(try await postgres.checkpoint(job: "contracts") == sqlite.checkpoint(job: "contracts"))
        }
        postgres.close()
        #expect(try await runAdapterSeparately([server, "-q", "-c", "DROP DATABASE \(name) WITH (FORCE)"], environment: [:],
                                               executable: URL(fileURLWithPath: "/usr/bin/psql")).status == 0)
    }
}
