import CollectionsDomain

/// One versioned change to a store's schema, and whether (and when, where the store records it) it
/// has been applied. Stores migrate themselves when they open; `miles-adapter db status` lists these.
public struct SchemaMigration: Sendable, Equatable {
    public var name: String
    public var isApplied: Bool
    /// When it was applied, where the store keeps that (PostgreSQL does; SQLite's migrator does not).
    public var appliedAt: Timestamp?

    public init(name: String, isApplied: Bool, appliedAt: Timestamp?) {
        self.name = name
        self.isApplied = isApplied
        self.appliedAt = appliedAt
    }
}

/// A store's schema migrations, in the order they apply.
public protocol SchemaStore: Sendable {
    func migrations() async throws -> [SchemaMigration]
}
