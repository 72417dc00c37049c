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
        mappings = try MappingsCommand.loadMappings(directory: configuration.mappings)
        store = try SyncCommand.openStore(configuration.database)
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

    /// The person acting, with their role from the configuration.
    func user() throws -> CollectionsUser {
        do {
            return try desk.user(named: configuration.actingUser(), roles: configuration.users)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .configuration)
        }
    }
}
