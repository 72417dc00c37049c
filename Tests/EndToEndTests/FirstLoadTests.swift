import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import GRDB
import MilesMock
import MilesSync
import Synchronization
import TestSupport
import Testing

/// The SQLite file's indexes and triggers, by name, with the SQL that made each (empty for the index
/// SQLite makes for a UNIQUE or PRIMARY KEY constraint).
private func indexesAndTriggers(_ path: String) throws -> [String: String] {
    var configuration = Configuration()
    configuration.readonly = true
    let reader = try DatabaseQueue(path: path, configuration: configuration)
    defer { try? reader.close() }
    return try reader.read { db in
        var objects: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT name, coalesce(sql, '') AS sql FROM sqlite_master WHERE type IN ('index', 'trigger')") {
            objects[row["name"]] = row["sql"]
        }
        return objects
    }
}

/// What a freshly migrated store holds: the indexes and triggers every store must have after a sync.
private func freshStoreSchema() throws -> [String: String] {
    let path = SyncHarness.temporaryStorePath()
    defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
    _ = try SQLiteStore(path: path)
    return try indexesAndTriggers(path)
}

/// The look-up indexes a first load sets aside, one of each table's and the trigger that feeds the name index.
private let lookUpObjects = ["contracts_partner", "contracts_number_nocase", "customers_postcode", "invoices_number", "customer_named"]

private struct CommitRefused: Error {}

/// The store's indexes and triggers as seen just before a page of a sync was written.
private final class SchemaAtPage: Sendable {
    private let seen = Mutex<[String: String]?>(nil)

    /// `inner`, watched: before page `page` of the run is written, the file at `path` is read.
    func watching(_ inner: any SyncStore, page: Int, path: String) -> WatchedSyncStore {
        WatchedSyncStore(inner) { [self] current in
            if current == page { seen.withLock { $0 = try? indexesAndTriggers(path) } }
        }
    }

    var schema: [String: String]? { seen.withLock { $0 } }
}

/// A first sync whose commit of page `page` fails; the look-up objects are then still set aside.
private func interruptFirstLoad(_ harness: SyncHarness, _ store: any SyncStore, atPage page: Int) async throws {
    let failing = WatchedSyncStore(store) { current in
        if current == page { throw CommitRefused() }
    }
    await #expect(throws: ContractSyncError.self) { _ = try await harness.sync(store: failing).run(mode: .resume) }
    let interrupted = try indexesAndTriggers(harness.storePath)
    #expect(lookUpObjects.allSatisfy { interrupted[$0] == nil })
}

@Suite("A first sync into an empty SQLite store builds its look-up indexes after the last page (issue 16)", .serialized,
       .timeLimit(.minutes(3)))
struct FirstLoadTests {
    @Test("the pages are written without the look-up indexes; after the last, the store has every index and finds a customer by name")
    func indexesBuiltAtTheEnd() async throws {
        try await withHarness(contracts: 2_500) { harness in
            let fresh = try freshStoreSchema()
            let store = try await harness.openStore()
            let duringLoad = SchemaAtPage()
            let summary = try await harness.sync(store: duringLoad.watching(store, page: 2, path: harness.storePath)).run(mode: .resume)
            #expect(summary.outcome == .completed && summary.received == 2_500)

            let whileLoading = try #require(duringLoad.schema)
            for name in lookUpObjects {
                #expect(fresh[name] != nil, "a fresh store has \(name)")
                #expect(whileLoading[name] == nil, "\(name) was kept up to date row by row during the first load")
            }
            // Unique indexes decide the upserts (a customer's partner id, a contract's number) and stay.
            #expect(whileLoading["sqlite_autoindex_customers_1"] != nil && whileLoading["sqlite_autoindex_contracts_1"] != nil)
            #expect(try indexesAndTriggers(harness.storePath) == fresh)
            #expect(try await storeChecksum(store) == (await harness.milesChecksum()))

            let sample = try #require(await harness.server.miles.contract(number: "C00000004"))
            let found = try await store.searchContracts(matching: sample.customer.name, limit: 50)
            #expect(found.contains { $0.contractNumber == "C00000004" }, "the name index was not rebuilt: \(sample.customer.name)")
            let byPostcode = try await store.searchContracts(matching: sample.customer.address.postcode, limit: 50)
            #expect(byPostcode.contains { $0.customer.partnerId == sample.customer.partnerId })
        }
    }

    @Test("a first load that fails keeps its indexes aside; the resumed run stores the rest and builds them")
    func interruptedLoadResumed() async throws {
        try await withHarness(contracts: 2_500) { harness in
            let fresh = try freshStoreSchema()
            let store = try await harness.openStore()
            try await interruptFirstLoad(harness, store, atPage: 3)
            #expect(try await store.contractCount() == 1_000)

            // Another process's view: what was set aside is read from the file, not from the failed run's memory.
            let reopened = try await harness.openStore()
            let resumed = try await harness.sync(store: reopened).run(mode: .resume)
            #expect(resumed.resumedAfterPage == 2 && resumed.outcome == .completed)
            #expect(try indexesAndTriggers(harness.storePath) == fresh)
            #expect(try await storeChecksum(reopened) == (await harness.milesChecksum()))
        }
    }

    @Test("a query that is not a full one builds what an interrupted first load set aside before its first page")
    func incrementalQueryBuildsTheIndexesFirst() async throws {
        try await withHarness(contracts: 1_500) { harness in
            let fresh = try freshStoreSchema()
            let store = try await harness.openStore()
            try await interruptFirstLoad(harness, store, atPage: 2)

            let atFirstPage = SchemaAtPage()
            let since = Timestamp(millisecondsSinceEpoch: 0)
            let summary = try await harness.sync(store: atFirstPage.watching(store, page: 1, path: harness.storePath)).run(mode: .since(since))
            #expect(summary.outcome == .completed)
            #expect(try #require(atFirstPage.schema) == fresh)
        }
    }

    @Test("a build that fails after the last page leaves the run completed, the failure in the ledger, and the next run builds first")
    func failedBuildIsTheNextRunsToDo() async throws {
        try await withHarness(contracts: 1_500) { harness in
            let fresh = try freshStoreSchema()
            let store = try await harness.openStore()
            let failing = WatchedSyncStore(store, beforeEndFirstLoad: { throw CommitRefused() })
            let first = try await harness.sync(store: failing).run(mode: .resume)
            #expect(first.outcome == .completed && first.received == 1_500)
            let ledger = try #require(try await store.runs(job: "contracts", limit: 1).first)
            #expect(ledger.outcome == .completed)
            #expect(ledger.message?.contains("building the store's look-up indexes after the first load failed") == true, "\(ledger)")
            let unbuilt = try indexesAndTriggers(harness.storePath)
            #expect(lookUpObjects.allSatisfy { unbuilt[$0] == nil })

            _ = await harness.server.miles.advanceDay(changes: 10)
            let atFirstPage = SchemaAtPage()
            let next = try await harness.sync(store: atFirstPage.watching(store, page: 1, path: harness.storePath)).run(mode: .resume)
            #expect(next.outcome == .completed && next.mode == "incremental")
            #expect(try #require(atFirstPage.schema) == fresh)
        }
    }

    @Test("a store opened with a migration to apply builds what an interrupted first load set aside before it migrates")
    func migrationFindsTheWholeSchema() async throws {
        try await withHarness(contracts: 1_500) { harness in
            let fresh = try freshStoreSchema()
            let store = try await harness.openStore()
            try await interruptFirstLoad(harness, store, atPage: 2)
            // As if this store were written by the release before the last migration: v23 is applied again on opening.
            let writer = try DatabaseQueue(path: harness.storePath)
            try await writer.write { db in
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE 'v23:%'")
                #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM first_load_set_aside") == lookUpObjects.count)
            }
            try writer.close()

            _ = try SQLiteStore(path: harness.storePath)
            #expect(try indexesAndTriggers(harness.storePath) == fresh)
            let reopened = try await harness.openStore()
            #expect(try await reopened.searchContracts(matching: "C0000000", limit: 5).count == 5)
        }
    }

    @Test("while a first load is under way the Contracts page says that names are not found yet; once it ends, they are (in a browser)")
    func workspaceSaysSo() async throws {
        try await withHarness(contracts: 1_500) { harness in
            try await interruptFirstLoad(harness, try await harness.openStore(), atPage: 2)
            try await withWorkspace(on: harness, syncing: false) { workspace in
                let customer = try #require(await harness.server.miles.contract(number: "C00000004")).customer
                try await withBrowser { browser in
                    try await browser.open(workspace.base + "/workspace")
                    try await browser.signIn("alice")
                    func search(_ text: String) async throws -> String {
                        try await browser.open(workspace.base + "/workspace/contracts")
                        try await browser.type(text, into: "#q")
                        try await browser.click("#search")
                        return try await browser.source()
                    }

                    let during = try await search(customer.name)
                    #expect(during.contains("id=\"first-load\""))
                    #expect(!during.contains("C00000004"), "the name index was kept during the load: the notice would be wrong")
                    try await browser.screenshot(to: screenshotFolder + "/09-contracts-first-load.png")
                    // As the notice says: numbers and postcodes are found (a postcode typed with its space, which
                    // the browser sends as "+").
                    #expect(try await search("C00000004").contains("/workspace/contracts/C00000004"))
                    try #require(customer.address.postcode.contains(" "))
                    #expect(try await search(customer.address.postcode).contains("/workspace/contracts/C00000004"))

                    let resumed = try await harness.sync(store: workspace.store).run(mode: .resume)
                    #expect(resumed.outcome == .completed)
                    let after = try await search(customer.name)
                    #expect(!after.contains("first-load"))
                    #expect(after.contains("/workspace/contracts/C00000004"))
                }
            }
        }
    }

    @Test("a full sync into a store that holds contracts keeps every index while it writes", arguments: StoreKind.available)
    func fullSyncOverContractsKeepsIndexes(kind: StoreKind) async throws {
        try await withHarness(contracts: 1_000, store: kind) { harness in
            let store = try await harness.openStore()
            _ = try await harness.sync(store: store).run(mode: .resume)
            #expect(try await store.beginFirstLoad() == false)
            let changed = await harness.server.miles.advanceDay(changes: 100)
            let atFirstPage = SchemaAtPage()
            let watched: any SyncStore = kind == .sqlite ? atFirstPage.watching(store, page: 1, path: harness.storePath) : store
            let summary = try await harness.sync(store: watched).run(mode: .full)
            #expect(summary.outcome == .completed && summary.written == changed.count)
            if kind == .sqlite {
                #expect(try #require(atFirstPage.schema) == (try freshStoreSchema()))
            }
            #expect(try await storeChecksum(store) == (await harness.milesChecksum()))
        }
    }
}
