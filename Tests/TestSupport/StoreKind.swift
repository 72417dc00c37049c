import CollectionsDomain
import CollectionsStore
import CollectionsStorePostgres
import CollectionsStoreSQLite
import Foundation
import GRDB
import Logging
import PostgresNIO

/// The stores the store-dependent tests run on: SQLite always, PostgreSQL when
/// `MILES_TEST_POSTGRES_URL` names a server (`make test` starts one: scripts/postgres-test-server).
/// A test taking `arguments: StoreKind.available` runs once per store, so the count is the same on each.
public enum StoreKind: String, CaseIterable, Sendable {
    case sqlite
    case postgres

    public static var available: [StoreKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["MILES_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// A store of one kind for one test, empty until opened: an SQLite file in a temporary folder, or a
/// database of its own on the test server. `database` is what `database:` would say for it.
public struct TestDatabase: Sendable {
    public let kind: StoreKind
    /// The SQLite file's path, or the PostgreSQL database's URL (no password: the test server trusts loopback).
    public let database: String

    /// A new, empty database of `kind`.
    public static func create(_ kind: StoreKind) async throws -> TestDatabase {
        switch kind {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            return TestDatabase(kind: kind, database: folder + "/collections.sqlite")
        case .postgres:
            guard let url = StoreKind.postgresURL else {
                throw StoreError(.unusableLocation, input: "MILES_TEST_POSTGRES_URL", "no PostgreSQL test server: MILES_TEST_POSTGRES_URL is not set")
            }
            let server = try PostgresLocation(url: url, password: nil)
            let name = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
            try await administer(server, "CREATE DATABASE \(name)")
            var location = server
            location.database = name
            return TestDatabase(kind: kind, database: location.description)
        }
    }

    /// The PostgreSQL database's location; nil for SQLite.
    public var postgresLocation: PostgresLocation? {
        kind == .postgres ? try? PostgresLocation(url: database, password: nil) : nil
    }

    /// A store on the database, migrated.
    public func open() async throws -> any CollectionsStores {
        switch kind {
        case .sqlite: try SQLiteStore(path: database)
        case .postgres: try await PostgresStore(location: PostgresLocation(url: database, password: nil))
        }
    }

    /// A new database of `kind` for `body`, dropped afterwards whether `body` threw or not.
    public static func with(_ kind: StoreKind, _ body: (TestDatabase) async throws -> Void) async throws {
        let database = try await create(kind)
        do {
            try await body(database)
        } catch {
            await database.drop()
            throw error
        }
        await database.drop()
    }

    /// A store on a new database of `kind` for `body`, the database dropped afterwards whether `body` threw or not.
    public static func withStore(_ kind: StoreKind, _ body: (any CollectionsStores) async throws -> Void) async throws {
        try await with(kind) { database in try await body(try await database.open()) }
    }

    /// Removes the database and everything in it.
    public func drop() async {
        switch kind {
        case .sqlite:
            try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: database).deletingLastPathComponent().path)
        case .postgres:
            guard let location = postgresLocation, let url = StoreKind.postgresURL, let server = try? PostgresLocation(url: url, password: nil) else { return }
            try? await Self.administer(server, "DROP DATABASE \(location.database) WITH (FORCE)")
        }
    }

    /// Runs `sql` on the data directly, bypassing the store, as someone tampering would.
    public func execute(_ sql: String) async throws {
        switch kind {
        case .sqlite:
            try await DatabaseQueue(path: database).write { try $0.execute(sql: sql) }
        case .postgres:
            guard let location = postgresLocation else { return }
            try await Self.administer(location, sql)
        }
    }

    /// Runs `query`, with its binds, on the PostgreSQL database directly, as `execute` runs text.
    public func execute(_ query: PostgresQuery) async throws {
        guard let location = postgresLocation else {
            throw StoreError(.unusableLocation, input: database, "a PostgreSQL query given for the \(kind) store at \(database)")
        }
        try await Self.withClient(location) { client in _ = try await client.query(query).collect() }
    }

    /// The integer `sql` selects (first row, first column), read under the store; nil for no row or NULL.
    public func integer(_ sql: String) async throws -> Int64? {
        switch kind {
        case .sqlite:
            return try await DatabaseQueue(path: database).read { try Int64.fetchOne($0, sql: sql) }
        case .postgres:
            guard let location = postgresLocation else { return nil }
            return try await Self.withClient(location) { client in
                try await client.query(PostgresQuery(unsafeSQL: sql)).collect().first?.makeRandomAccess()[0].decode(Int64?.self)
            }
        }
    }

    /// One statement on `location`'s database, on a connection of its own.
    static func administer(_ location: PostgresLocation, _ sql: String) async throws {
        try await withClient(location) { client in _ = try await client.query(PostgresQuery(unsafeSQL: sql)).collect() }
    }

    /// `body` with a client of its own on `location`'s database, closed after.
    private static func withClient<T: Sendable>(_ location: PostgresLocation, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.username,
                                                         password: nil, database: location.database, tls: .disable)
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "store-tests"))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
