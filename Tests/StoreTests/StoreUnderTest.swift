import CollectionsDomain
import CollectionsStore
import CollectionsStorePostgres
import CollectionsStoreSQLite
import Foundation
import GRDB
import Logging
import PostgresNIO
import Testing

/// What the store tests hold every store to; it grows as the PostgreSQL store gains protocols.
typealias StoreContract = AuditStore & JobLockStore & RateLimitStore & SchemaStore & ContractStore & SyncStore & RiskStore & PeopleStore

/// The stores the suite runs on: SQLite always, PostgreSQL when `MILES_TEST_POSTGRES_URL` names a
/// server (`make test` starts one: scripts/postgres-test-server). Each test runs once per store, so
/// the count is the same on each.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    static var available: [StoreKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    static var postgresURL: String? { ProcessInfo.processInfo.environment["MILES_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    var testDescription: String { rawValue }
}

/// A fresh, empty store of one kind for one test: an SQLite file in a temporary folder, or a
/// database of its own on the test server. `reopen` gives a second store on the same data, as a
/// second process would have; `execute` reaches under the store, as someone tampering would.
final class StoreUnderTest: Sendable {
    let kind: StoreKind
    let store: any StoreContract
    private let sqlitePath: String?
    private let postgres: PostgresLocation?

    private init(kind: StoreKind, store: any StoreContract, sqlitePath: String?, postgres: PostgresLocation?) {
        self.kind = kind
        self.store = store
        self.sqlitePath = sqlitePath
        self.postgres = postgres
    }

    static func with(_ kind: StoreKind, _ body: (StoreUnderTest) async throws -> Void) async throws {
        switch kind {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let path = folder + "/collections.sqlite"
            try await body(StoreUnderTest(kind: kind, store: try SQLiteStore(path: path), sqlitePath: path, postgres: nil))
        case .postgres:
            let server = try PostgresLocation(url: try #require(StoreKind.postgresURL), password: nil)
            let name = "store_test_\(UUID().uuidString.prefix(8).lowercased())"
            try await Self.administer(server, "CREATE DATABASE \(name)")
            var location = server
            location.database = name
            let store = try await PostgresStore(location: location)
            do {
                try await body(StoreUnderTest(kind: kind, store: store, sqlitePath: nil, postgres: location))
            } catch {
                store.close()
                try? await Self.administer(server, "DROP DATABASE \(name) WITH (FORCE)")
                throw error
            }
            store.close()
            try await Self.administer(server, "DROP DATABASE \(name) WITH (FORCE)")
        }
    }

    /// Another store on the same data.
    func reopen() async throws -> any StoreContract {
        switch kind {
        case .sqlite: try SQLiteStore(path: try #require(sqlitePath))
        case .postgres: try await PostgresStore(location: try #require(postgres))
        }
    }

    /// Runs `sql` on the data directly, bypassing the store.
    func execute(_ sql: String) async throws {
        switch kind {
        case .sqlite:
            try await DatabaseQueue(path: try #require(sqlitePath)).write { try $0.execute(sql: sql) }
        case .postgres:
            try await Self.administer(try #require(postgres), sql)
        }
    }

    /// One statement on `location`'s database, on a connection of its own.
    private static func administer(_ location: PostgresLocation, _ sql: String) async throws {
        let configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.username,
                                                         password: nil, database: location.database, tls: .disable)
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "store-tests"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: sql))
            group.cancelAll()
        }
    }
}
