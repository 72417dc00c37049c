import CollectionsDomain
import CollectionsStore
import CollectionsStorePostgres
import CollectionsStoreSQLite
import Foundation
import MilesMapping
import MilesSync

/// What most commands open first: the configuration, the checked mappings and the store, with
/// failures turned into the documented exit codes.
struct CommandSession {
    let configuration: AdapterConfiguration
    let mappings: MappingSet
    let store: any CollectionsStores
    /// Where every command reads "now".
    static let clock = CollectionsClock.system

    /// Refuses (exit 4) before opening the store when the mapping does not enable every one of `jobs`.
    init(_ global: GlobalOptions, requiring jobs: [MilesJob] = []) async throws {
        configuration = try await global.loadConfiguration()
        Terminal.redact(RedactionPolicy(logPersonalData: global.logPersonalData, secrets: configuration.secrets))
        // Everything this process creates (the store and its journal, inbox copies, placement files,
        // reports) holds personal data or debts: the owner's only, whatever the shell's umask.
        umask(0o077)
        mappings = try Self.loadMappings(configuration)
        try MappedJobs.require(jobs, in: mappings)
        store = try await Self.openStore(configuration)
        if !configuration.users.isEmpty {
            printError("warning: 'users:' in the configuration is no longer read: people live in the store with their roles "
                       + "('miles-adapter users add NAME --role ROLE'), and prove who they are (README, 'Who acts')")
        }
        Self.warnIfShared(configuration.database, what: "the store")
        Self.warnIfShared(configuration.inbox, what: "the inbox")
    }

    /// Warns when a file or folder holding personal data can be read by people other than its owner.
    static func warnIfShared(_ path: String, what: String) {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & 0o077 != 0 else { return }
        let mode = String(status.st_mode & 0o777, radix: 8)
        let isFolder = status.st_mode & S_IFMT == S_IFDIR
        printError("warning: \(what) \(path) can be read by others (mode \(mode)) and holds customers' personal data: "
                   + (isFolder ? "chmod -R go-rwx \(path)" : "chmod 600 \(path)*"))
    }

    /// The checked mappings; a folder that cannot be found is exit code 5 naming the settings, problems
    /// in it exit code 4, each with its file and line.
    static func loadMappings(_ configuration: AdapterConfiguration) throws -> MappingSet {
        let directory: String
        do { directory = try configuration.mappingsDirectory() } catch {
            throw CommandFailure(message: "\(error)", exitCode: .configuration)
        }
        do {
            return try MappingSet.load(directory: directory)
        } catch {
            throw CommandFailure(message: error.description, exitCode: .mappings)
        }
    }

    /// The store `configuration` names, migrated if need be: an SQLite file (created if missing) or a
    /// PostgreSQL database; failure is exit code 5.
    static func openStore(_ configuration: AdapterConfiguration) async throws -> any CollectionsStores {
        do {
            if let location = try configuration.postgresLocation() { return try await PostgresStore(location: location) }
            return try SQLiteStore(path: configuration.database)
        } catch let error as ConfigurationError {
            throw CommandFailure(message: error.description, exitCode: .configuration)
        } catch let error as StoreError {
            throw CommandFailure(message: error.description, exitCode: .configuration)
        } catch {
            throw CommandFailure(message: "cannot open the store \(DatabaseCommand.name(configuration)): \(error)", exitCode: .configuration)
        }
    }

    /// Where a job calling the store once or twice per record runs best: on the SQLite store's own
    /// thread, beside it without hand-offs. PostgreSQL's calls go out over connections and need none.
    var storeExecutor: (any TaskExecutor)? { (store as? SQLiteStore)?.taskExecutor }

    /// MILES, as configured; fails with what to set.
    func gateway() throws -> MilesGateway {
        do {
            return MilesGateway(connection: try configuration.connection(), mappings: mappings)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .configuration)
        }
    }

    var auditDesk: AuditDesk { AuditDesk(store: store, mappings: mappings, now: Self.clock) }
    var riskDesk: RiskDesk { RiskDesk(store: store, mappings: mappings, now: Self.clock) }

    /// Before a person's decision or a push: refuses (exit 5) while the audit log has an unacknowledged break.
    func requireIntactAudit() async throws {
        try await auditDesk.requireIntact()
    }

    var desk: WriteOffDesk { WriteOffDesk(store: store, mappings: mappings, now: Self.clock) }

    var arrangementDesk: ArrangementDesk { ArrangementDesk(store: store, mappings: mappings, now: Self.clock) }

    var creditDesk: CreditDesk { CreditDesk(store: store, mappings: mappings, now: Self.clock) }

    var contractDesk: ContractDesk { ContractDesk(store: store, mappings: mappings, now: Self.clock) }

    var placementDesk: PlacementDesk { PlacementDesk(store: store, mappings: mappings, now: Self.clock) }

    func ingestDesk(batchSize: Int = 2_000) -> IngestDesk {
        IngestDesk(store: store, mappings: mappings, inboxDirectory: configuration.inbox, batchSize: batchSize, now: Self.clock)
    }

    func bankDesk(batchSize: Int = BankDesk.defaultBatchSize) -> BankDesk {
        BankDesk(store: store, rules: mappings.bank, statementsDirectory: configuration.statements, batchSize: batchSize, now: Self.clock)
    }

    var peopleDesk: PeopleDesk { PeopleDesk(store: store, mappings: mappings, now: Self.clock) }

    /// The person acting, authenticated: their personal token (MILES_ADAPTER_TOKEN, or the file
    /// MILES_ADAPTER_TOKEN_FILE names), or, on a terminal, the password of `user:`/MILES_ADAPTER_USER
    /// typed at a prompt. A name alone proves nothing and is refused, saying how to authenticate.
    func person() async throws -> CollectionsUser {
        if let token = try configuration.personalToken() {
            return try await peopleDesk.authenticate(token: token)
        }
        if let name = configuration.user, isatty(STDIN_FILENO) == 1 {
            let typed = try UsersCommand.password(fromStandardInput: false, prompt: "password for \(name): ")
            let person = try await peopleDesk.authenticate(name: name, password: typed)
            guard try await !peopleDesk.mustChangePassword(person) else {
                throw IdentityError(.notAuthenticated, input: name, "\(name) still has a one-time password: change it first "
                                    + "('miles-adapter users password \(name)')")
            }
            return person
        }
        throw IdentityError(.notAuthenticated, input: "MILES_ADAPTER_TOKEN",
                            "this is a decision a person makes, and a name (user: or MILES_ADAPTER_USER) proves nothing: set "
                                + "MILES_ADAPTER_TOKEN (or MILES_ADAPTER_TOKEN_FILE) to your personal token ('miles-adapter users token "
                                + "NAME' makes one), or run the command on a terminal with user: set, to be asked your password")
    }
}
