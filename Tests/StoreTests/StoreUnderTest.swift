import CollectionsDomain
import CollectionsStore
import Foundation
import TestSupport
import Testing

/// What the store tests hold every store to: every store protocol.
typealias StoreContract = CollectionsStores

/// A fresh, empty store of one kind for one test (`TestDatabase`). `reopen` gives a second store on
/// the same data, as a second process would have; `execute` reaches under the store, as someone
/// tampering would.
final class StoreUnderTest: Sendable {
    let kind: StoreKind
    let store: any StoreContract
    private let database: TestDatabase

    private init(database: TestDatabase, store: any StoreContract) {
        kind = database.kind
        self.database = database
        self.store = store
    }

    static func with(_ kind: StoreKind, _ body: (StoreUnderTest) async throws -> Void) async throws {
        let database = try await TestDatabase.create(kind)
        do {
            try await body(StoreUnderTest(database: database, store: try await database.open()))
        } catch {
            await database.drop()
            throw error
        }
        await database.drop()
    }

    /// Another store on the same data.
    func reopen() async throws -> any StoreContract {
        try await database.open()
    }

    /// Runs `sql` on the data directly, bypassing the store.
    func execute(_ sql: String) async throws {
        try await database.execute(sql)
    }
}
