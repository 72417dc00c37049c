import CollectionsDomain
import CollectionsStore
import Logging
import PostgresNIO
import Synchronization

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
    /// How long one call may wait for the server (a connection and its statements) before it fails.
    public let operationTimeout: Duration
    /// The pool's own task: it keeps connections open for as long as the store is.
    private let running: Task<Void, Never>

    public init(location: PostgresLocation, operationTimeout: Duration = .seconds(60),
                logger: Logger = Logger(label: "miles-adapter.postgres")) async throws {
        let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: Self.poolLogger(logger))
        self.client = client
        self.logger = logger
        self.location = location
        self.operationTimeout = operationTimeout
        running = Task { await client.run() }
        do {
            try await withinDeadline { try await Self.probe(location, logger: logger) }
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
    /// unless the rollback failed too. It fails when not done within `timeout` (`operationTimeout`
    /// unless given).
    func transaction<T: Sendable>(within timeout: Duration? = nil,
                                  _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withinDeadline(timeout ?? operationTimeout) {
            do {
                return try await self.client.withTransaction(logger: self.logger) { connection in try await body(connection) }
            } catch let error as PostgresTransactionError {
                if let thrown = error.closureError, error.rollbackError == nil { throw thrown }
                throw error
            }
        }
    }

    /// A transaction whose statements all read one snapshot of the store.
    func snapshot<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction { [self] connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            return try await body(connection)
        }
    }

    /// Reads with one pooled connection, outside a transaction.
    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withinDeadline { try await self.client.withConnection { connection in try await body(connection) } }
    }

    /// `work`, given up when it has not finished within `operationTimeout`: a server that went away
    /// in the middle of a call (crashed, failed over, cut off, or silent) must fail the job, which
    /// its scheduler or the next run repeats, rather than leave it waiting for ever. The abandoned
    /// work is cancelled and not waited for (a connection attempt to a silent server does not end on
    /// cancellation); whether its changes were committed is as after a crash at that moment, which
    /// every job is built to resume from.
    func withinDeadline<T: Sendable>(_ timeout: Duration? = nil, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let timeout = timeout ?? operationTimeout
        let location = location
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let waiting = FirstAnswer(continuation)
            let attempt = Task {
                let result: Result<T, any Error>
                do { result = .success(try await work()) } catch { result = .failure(error) }
                waiting.take()?.resume(with: result)
            }
            Task {
                try? await Task.sleep(for: timeout)
                guard let continuation = waiting.take() else { return }
                attempt.cancel()
                continuation.resume(throwing: StoreError(
                    .unusableLocation, input: location.description,
                    "the PostgreSQL store at \(location) did not answer within \(timeout); what this call wrote is committed or not as "
                        + "after a crash, and the next run reads it again"))
            }
        }
    }

    /// A continuation resumed once, by whichever answers first: the work or its deadline.
    private final class FirstAnswer<T: Sendable>: Sendable {
        private let continuation: Mutex<CheckedContinuation<T, any Error>?>

        init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = Mutex(continuation) }

        /// The continuation, to the first caller only.
        func take() -> CheckedContinuation<T, any Error>? { continuation.withLock { $0.take() } }
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
