import CollectionsDomain
import CollectionsStore
import Foundation
import GRDB

extension SQLiteStore: SchemaStore {
    public func migrations() async throws -> [SchemaMigration] {
        Self.status(applied: try read { db in try SQLiteSchema.migrator.appliedIdentifiers(db) })
    }
}

extension SQLiteStore {
    /// The migrations of the store at `path` and which are applied, without opening (or migrating) it.
    public static func schemaStatus(path: String) throws -> [SchemaMigration] {
        let applied: Set<String> = FileManager.default.fileExists(atPath: path)
            ? try DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }()).read { db in
                try SQLiteSchema.migrator.appliedIdentifiers(db)
            }
            : []
        return status(applied: applied)
    }

    /// Every migration, in order, and whether it is among `applied` (GRDB keeps no time for it).
    private static func status(applied: Set<String>) -> [SchemaMigration] {
        SQLiteSchema.migrator.migrations.map { SchemaMigration(name: $0, isApplied: applied.contains($0), appliedAt: nil) }
    }
}
