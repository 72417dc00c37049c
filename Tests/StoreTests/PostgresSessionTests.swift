@testable import CollectionsStorePostgres
import PostgresNIO
import Testing
import TestSupport

@Suite("The PostgreSQL store's sessions are set up for short statements")
struct PostgresSessionTests {
    @Test("JIT is off in the store's sessions: compiling a page's look-up took longer than running it",
          .enabled(if: StoreKind.postgresURL != nil))
    func withoutJIT() async throws {
        try await TestDatabase.withStore(.postgres) { store in
            let postgres = try #require(store as? PostgresStore)
            let jit = try await postgres.read { connection in
                try await postgres.rows("SHOW jit", on: connection).first?.value("jit", as: String.self)
            }
            #expect(jit == "off")
        }
    }
}
