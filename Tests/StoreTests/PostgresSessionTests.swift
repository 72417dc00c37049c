@testable import CollectionsStorePostgres
import PostgresNIO
import Testing
import TestSupport

@Suite("The PostgreSQL store's sync transactions are planned for look-ups by key")
struct PostgresSessionTests {
    @Test("a sync's transaction runs without JIT and without whole-table scans; the pooled connection is left as it was after",
          .enabled(if: StoreKind.postgresURL != nil))
    func keyLookUps() async throws {
        try await TestDatabase.withStore(.postgres) { store in
            let postgres = try #require(store as? PostgresStore)
            @Sendable func settings(on connection: PostgresConnection) async throws -> [String?] {
                var values: [String?] = []
                for name in ["jit", "enable_seqscan"] {
                    values.append(try await postgres.rows(PostgresQuery(unsafeSQL: "SHOW \(name)"), on: connection).first?.value(name, as: String.self))
                }
                return values
            }
            let within = try await postgres.transaction { connection in
                try await postgres.lookUpByKeys(on: connection)
                return try await settings(on: connection)
            }
            #expect(within == ["off", "off"])
            let after = try await postgres.read { connection in try await settings(on: connection) }
            #expect(after == ["on", "on"], "SET LOCAL ends with its transaction")
        }
    }
}
