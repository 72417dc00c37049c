import GRDB
import GRDBSQLite

/// An INSERT (or upsert, or DELETE) run many times inside one GRDB write transaction, bound and stepped
/// with SQLite's own API. In a million-row ingest or sync GRDB's per-execution work (boxing each argument,
/// hashing the SQL to find the cached statement, tracking the statement's region) cost more than
/// SQLite's write; this skips it. Only for statements that return no rows, on a store with no
/// transaction observers registered.
///
/// ```swift
/// let insert = try BulkInsert(db, sql: "INSERT INTO t (a, b) VALUES (?, ?)")
/// insert.bind(1, 42); insert.bind(2, "text")
/// try insert.run()
/// ```
struct BulkInsert {
    private let statement: Statement
    private var handle: OpaquePointer { statement.sqliteStatement }
    /// Makes SQLite copy bound text before `bind` returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ db: Database, sql: String) throws {
        statement = try db.makeStatement(sql: sql)
    }

    /// The statement from the connection's cache: for writes prepared again for every page of a job.
    init(cached db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: Int) { sqlite3_bind_int64(handle, index, Int64(value)) }

    func bind(_ index: Int32, _ value: Int32?) {
        if let value { sqlite3_bind_int(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: Bool) { sqlite3_bind_int(handle, index, value ? 1 : 0) }

    func bind(_ index: Int32, _ value: String?) {
        guard var value else {
            sqlite3_bind_null(handle, index)
            return
        }
        value.withUTF8 { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else {
                sqlite3_bind_text(handle, index, "", 0, Self.transient)
                return
            }
            base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { chars in
                _ = sqlite3_bind_text(handle, index, chars, Int32(bytes.count), Self.transient)
            }
        }
    }

    /// Rows the last `run` inserted, changed or deleted.
    var changes: Int { Int(sqlite3_changes(sqlite3_db_handle(handle))) }

    /// Runs the statement with the bound values, then clears the bindings for the next one.
    func run() throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))),
                                sql: statement.sql)
        }
    }
}
