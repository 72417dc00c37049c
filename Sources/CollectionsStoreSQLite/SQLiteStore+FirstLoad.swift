import CollectionsStore
import GRDB

/// A first sync into an empty store writes its contracts without the indexes that only serve look-ups,
/// and builds them at its end: SQLite builds an index from sorted keys far faster than it keeps one up to
/// date row by row at random places (1,000,000 contracts stored in 13.5 s with the indexes built after,
/// against 23.6-24.3 s with them kept; BENCHMARKS.md, issue 16).
///
/// Set aside: every index on contracts, customers and invoices that is not UNIQUE (a unique index
/// decides an upsert or guards a key, so it stays) and the trigger that notes each new customer's name
/// for the name index, which is rebuilt whole at the end. Each is dropped with the SQL that made it kept
/// in `first_load_set_aside`, in the transaction that drops it: a load killed at any instant leaves the
/// store with its indexes or with their SQL. Until the end, look-ups by those indexes scan, and the
/// name search finds next to nothing. Opening a store with migrations to apply builds them first, so a
/// migration always finds the schema it was written against.
extension SQLiteStore {
    /// Lists the indexes and the trigger a first load sets aside, with their SQL (public: the benchmark's
    /// storing floor sets aside the same to measure a load built this way).
    public static let firstLoadSetAsideQuery = """
        SELECT type, name, sql FROM sqlite_master
        WHERE (type = 'index' AND tbl_name IN ('contracts', 'customers', 'invoices') AND sql IS NOT NULL
               AND sql NOT LIKE 'CREATE UNIQUE %')
           OR (type = 'trigger' AND name = 'customer_named')
        ORDER BY type, name
        """

    public func beginFirstLoad() async throws -> Bool {
        try immediateTransaction { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM first_load_set_aside)") == true { return true }
            guard try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM contracts)") == true else { return false }
            for row in try Row.fetchAll(db, sql: Self.firstLoadSetAsideQuery) {
                let type: String = row["type"]
                let name: String = row["name"]
                try db.execute(sql: "INSERT INTO first_load_set_aside (name, type, sql) VALUES (?, ?, ?)",
                               arguments: [name, type, row["sql"] as String])
                try db.execute(sql: "DROP \(type == "index" ? "INDEX" : "TRIGGER") \(name.quotedDatabaseIdentifier)")
            }
            return true
        }
    }

    /// The page cache the writer builds what a first load set aside with: SQLite's sorter keeps up to the
    /// cache's size of keys in memory, and at the writer's 8 MB a sync of 1,000,000 contracts peaked 9 MB
    /// higher (74 MB against 65 MB), no faster. The benchmark's floor builds them so too.
    public static let firstLoadBuildCache = "PRAGMA cache_size = -1024"

    public func endFirstLoad() async throws {
        // Read first: every run that is not a first load asks, and nearly always nothing is set aside.
        guard try await firstLoadUnderWay() else { return }
        while try immediateTransaction({ db in try Self.buildNextSetAside(db) }) {}
    }

    public func firstLoadUnderWay() async throws -> Bool {
        try read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM first_load_set_aside)") } == true
    }

    /// Builds one of what a first load set aside, in the caller's transaction; false when nothing is left.
    /// One at a time, each in its own transaction, so that other writers wait for one index's build (about
    /// 1 s for 1,000,000 contracts), not for all of them. The trigger comes last, with the name index
    /// rebuilt from every customer in the same transaction: from then on the trigger notes every change.
    static func buildNextSetAside(_ db: Database) throws -> Bool {
        guard let next = try Row.fetchOne(db, sql: """
            SELECT name, type, sql FROM first_load_set_aside ORDER BY type = 'trigger', name LIMIT 1
            """) else { return false }
        let name: String = next["name"]
        try db.execute(sql: firstLoadBuildCache)
        let built = Result {
            try db.execute(sql: next["sql"] as String)
            if next["type"] as String == "trigger" {
                try db.execute(sql: "INSERT INTO customer_names (customer_names) VALUES ('rebuild')")
                try db.execute(sql: "DELETE FROM customer_name_changes")
            }
            try db.execute(sql: "DELETE FROM first_load_set_aside WHERE name = ?", arguments: [name])
        }
        for pragma in writerPragmas { try db.execute(sql: pragma) }
        try built.get()
        return true
    }
}
