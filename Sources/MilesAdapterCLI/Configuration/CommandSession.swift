import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import MilesMapping
import MilesSync

/// What most commands open first: the configuration, the checked mappings and the store, with
/// failures turned into the documented exit codes.
struct CommandSession {
    let configuration: AdapterConfiguration
    let mappings: MappingSet
    let store: SQLiteStore
    /// Where every command reads "now".
    static let clock = CollectionsClock.system

    init(_ global: GlobalOptions) throws {
        configuration = try global.loadConfiguration()
        mappings = try Self.loadMappings(directory: configuration.mappings)
        store = try Self.openStore(configuration.database)
    }

    /// The checked mappings; problems are exit code 4, each with its file and line.
    static func loadMappings(directory: String) throws -> MappingSet {
        do {
            return try MappingSet.load(directory: directory)
        } catch {
            throw CommandFailure(message: error.description, exitCode: .mappings)
        }
    }

    /// The store at `path`, created and migrated if need be; failure is exit code 5.
    static func openStore(_ path: String) throws -> SQLiteStore {
        do {
            return try SQLiteStore(path: path)
        } catch {
            throw CommandFailure(message: "cannot open the store \(path): \(error)", exitCode: .configuration)
        }
    }

    /// MILES, as configured; fails with what to set.
    func gateway() throws -> MilesGateway {
        do {
            return MilesGateway(connection: try configuration.connection(), mappings: mappings)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .configuration)
        }
    }

    var desk: WriteOffDesk { WriteOffDesk(store: store, mappings: mappings, now: Self.clock) }

    var contractDesk: ContractDesk { ContractDesk(store: store, mappings: mappings, now: Self.clock) }

    var placementDesk: PlacementDesk { PlacementDesk(store: store, mappings: mappings, now: Self.clock) }

    func ingestDesk(batchSize: Int = 2_000) -> IngestDesk {
        IngestDesk(store: store, mappings: mappings, inboxDirectory: configuration.inbox, batchSize: batchSize, now: Self.clock)
    }

    /// The person acting, with their role from the configuration.
    func user() throws -> CollectionsUser {
        do {
            return try desk.user(named: configuration.actingUser(), roles: configuration.users)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .configuration)
        }
    }
}
