import ArgumentParser
import CollectionsStore
import CollectionsStorePostgres
import CollectionsStoreSQLite
import Foundation

/// `miles-adapter db …`: the store's schema, on SQLite or PostgreSQL.
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "The store's schema: list its migrations, or apply the ones not yet applied.",
        discussion: """
            The store is the SQLite file, or the PostgreSQL database of a postgres://USER@HOST:PORT/DATABASE URL, that
            database: names (its password from MILES_ADAPTER_DATABASE_PASSWORD, or the file databasePasswordFile names, or
            the secrets folder). A store is migrated whenever it is opened; 'db migrate' does it ahead of a release, once,
            and several processes migrating at once apply each migration once.
            """,
        subcommands: [Status.self, Migrate.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the store's migrations, applied or pending, without changing anything.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await reportingFailures {
                let configuration = try await global.loadConfiguration()
                let migrations = try await DatabaseCommand.status(configuration)
                for migration in migrations {
                    print((migration.isApplied ? "applied  " : "pending  ") + migration.name
                          + (migration.appliedAt.map { "  (\($0))" } ?? ""))
                }
                let pending = migrations.filter { !$0.isApplied }.count
                print(pending == 0 ? "the store is up to date" : "\(pending) migration\(pending == 1 ? "" : "s") pending: 'miles-adapter db migrate' applies them")
            }
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply the migrations not yet applied.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await reportingFailures {
                let configuration = try await global.loadConfiguration()
                let before = try await DatabaseCommand.status(configuration).filter(\.isApplied).count
                let after: Int
                do {
                    if let location = try configuration.postgresLocation() {
                        let store = try await PostgresStore(location: location)
                        after = try await store.migrations().filter(\.isApplied).count
                        store.close()
                    } else {
                        after = try await SQLiteStore(path: configuration.database).migrations().filter(\.isApplied).count
                    }
                } catch let error as ConfigurationError {
                    throw CommandFailure(message: error.description, exitCode: .configuration)
                } catch {
                    throw CommandFailure(message: "cannot migrate the store \(DatabaseCommand.name(configuration)): \(error)", exitCode: .configuration)
                }
                print("applied \(after - before) migration\(after - before == 1 ? "" : "s"); the store \(DatabaseCommand.name(configuration)) is up to date")
            }
        }
    }

    static func status(_ configuration: AdapterConfiguration) async throws -> [SchemaMigration] {
        do {
            if let location = try configuration.postgresLocation() { return try await PostgresStore.schemaStatus(location: location) }
            return try SQLiteStore.schemaStatus(path: configuration.database)
        } catch let error as ConfigurationError {
            throw CommandFailure(message: error.description, exitCode: .configuration)
        } catch {
            throw CommandFailure(message: "cannot read the store \(name(configuration)): \(String(reflecting: error))", exitCode: .configuration)
        }
    }

    /// The store as messages name it: the file, or the URL without a password.
    static func name(_ configuration: AdapterConfiguration) -> String {
        (try? configuration.postgresLocation())?.map(\.description) ?? PostgresLocation.withoutPassword(configuration.database)
    }
}
