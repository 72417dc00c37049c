import CollectionsDomain
import CollectionsStore
import Logging
import PostgresNIO

/// The collections store on PostgreSQL, for several workers on several machines, behind the same
/// narrow protocols as `SQLiteStore`. Its schema is versioned (`PostgresSchema`), migrated when it
/// opens, and every change is one transaction on a pooled connection.
///
/// It conforms, so far, to `AuditStore`, `JobLockStore`, `RateLimitStore`, `SchemaStore`,
/// `ContractStore`, `SyncStore`, `RiskStore` and `PeopleStore`, each checked by the same store
/// tests as the SQLite store; the other protocols follow.
///
/// ```swift
/// let store = try await PostgresStore(location: PostgresLocation(url: "postgres://adapter@db/collections", password: secret))
/// defer { store.close() }
/// ```
public final class PostgresStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    public let location: PostgresLocation
    /// The pool's own task: it keeps connections open for as long as the store is.
    private let running: Task<Void, Never>

    public init(location: PostgresLocation, logger: Logger = Logger(label: "miles-adapter.postgres")) async throws {
        let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: Self.poolLogger(logger))
        self.client = client
        self.logger = logger
        self.location = location
        running = Task { await client.run() }
        do {
            try await Self.probe(location, logger: logger)
            try await PostgresSchema.migrate(self)
        } catch {
            running.cancel()
            throw StoreError(.unusableLocation, input: location.description, "cannot open the PostgreSQL store at \(location): \(String(reflecting: error))")
        }
    }

    deinit { running.cancel() }

    /// One connection, opened and closed. The pool retries a refused connection for about a minute
    /// before it gives up; this says at once why the store cannot be reached (no server, no such
    /// database, a refused login).
    private static func probe(_ location: PostgresLocation, logger: Logger) async throws {
        let tls: PostgresConnection.Configuration.TLS = switch location.tls {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        let configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.username,
                                                             password: location.password, database: location.database, tls: tls)
        try await PostgresConnection.connect(configuration: configuration, id: 0, logger: poolLogger(logger)).close()
    }

    /// The pool's own logger: errors only. The pool warns when a connection is asked for before its
    /// run task has started, which is every store's first query here and harmless (the lease waits).
    static func poolLogger(_ logger: Logger) -> Logger {
        var pool = logger
        pool.logLevel = .error
        return pool
    }

    /// Closes the pool's connections.
    public func close() { running.cancel() }

    /// One transaction: committed when `body` returns, rolled back when it throws. What `body` threw
    /// comes out as it was (a `StoreError` callers match on), not inside PostgresNIO's wrapper,
    /// unless the rollback failed too.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let thrown = error.closureError, error.rollbackError == nil { throw thrown }
            throw error
        }
    }

    /// A transaction whose statements all read one snapshot of the store.
    func snapshot<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            return try await body(connection)
        }
    }

    /// Reads with one pooled connection, outside a transaction.
    func read<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await client.withConnection { connection in try await body(connection) }
    }

    /// Every row `query` returns, by column name.
    func rows(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRandomAccessRow] {
        try await connection.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }
}

extension PostgresRandomAccessRow {
    /// The column `name` as `T`.
    func value<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try self[name].decode(T.self)
    }

    /// The column `name`, milliseconds since the epoch, as a time.
    func timestamp(_ name: String) throws -> Timestamp {
        Timestamp(millisecondsSinceEpoch: try value(name))
    }

    /// The column `name`, milliseconds since the epoch or NULL, as a time.
    func timestamp(_ name: String, as type: Timestamp?.Type) throws -> Timestamp? {
        try value(name, as: Int64?.self).map(Timestamp.init(millisecondsSinceEpoch:))
    }

    /// The column `name`, days since the epoch, as a date.
    func date(_ name: String) throws -> LocalDate {
        LocalDate(daysSinceEpoch: try value(name))
    }

    /// The column `name`, days since the epoch or NULL, as a date.
    func date(_ name: String, as type: LocalDate?.Type) throws -> LocalDate? {
        try value(name, as: Int32?.self).map(LocalDate.init(daysSinceEpoch:))
    }
}
