import ArgumentParser
import CollectionsDomain
import CollectionsStore
import Foundation
import Logging
import MilesMapping
import MilesMock
import MilesSOAP
import MilesSync

/// `miles-adapter demo`: the nightly job end to end against a mock MILES started in this process.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a mock MILES, sync it into a fresh SQLite file, advance a day, sync again, show the aged debt, action a write-off.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Contracts in the mock's portfolio.")
    var contracts = 5_000

    @Option(help: "The mock portfolio's seed.")
    var seed: UInt64 = 42

    @Option(help: "Contracts the mock changes when it advances a day.")
    var changes = 250

    @Option(help: "The demo's SQLite file; it is recreated on every run.")
    var database = "demo-output/demo.sqlite"

    @Option(help: "The mappings folder; the mock serves the WSDL in its wsdl/ folder.")
    var mappings = "mappings"

    func run() async throws {
        try await reportingFailures {
            let logger = global.makeLogger("miles-adapter.demo", secrets: [MockMilesConfiguration.defaultPassword])
            let mappingSet = try MappingsCommand.loadMappings(directory: mappings)
            try DemoCommand.recreate(database)
            let store = try SyncCommand.openStore(database)
            let server = try await MockMilesServer.start(
                configuration: MockMilesConfiguration(contractCount: contracts, seed: seed, contractDirectory: mappings + "/wsdl"),
                logger: Logger(label: "miles-mock", factory: { _ in SwiftLogNoOpLogHandler() }))
            do {
                try await demonstrate(server: server, store: store, mappings: mappingSet, logger: logger)
                await server.stop()
            } catch {
                await server.stop()
                throw error
            }
        }
    }

    private func demonstrate(server: MockMilesServer, store: SQLiteStore, mappings: MappingSet, logger: Logger) async throws {
        print("Mock MILES listening at \(server.endpoint) with \(contracts) contracts (seed \(seed)); WSDL at \(server.endpoint)/ContractService?wsdl")
        print("Store: \(database)\n")
        let connection = MilesConnection(
            endpoint: server.endpoint,
            credentials: MilesCredentials(username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword))
        let gateway = MilesGateway(connection: connection, mappings: mappings)
        let syncConfiguration = ContractSync.Configuration(pageSize: 500)

        print("1. First night: full sync")
        let first = try await SyncCommand.runSync(gateway: gateway, store: store, configuration: syncConfiguration, mode: .resume, logger: logger)
        print(SyncCommand.describe(first) + "\n")

        let changed = await server.miles.advanceDay(changes: changes)
        let businessDate = await server.miles.businessClock.date
        print("2. A day of business in MILES: \(changed.count) contracts changed (payments, new invoices, status changes); MILES date \(businessDate)")

        print("\n3. Second night: incremental sync")
        let second = try await SyncCommand.runSync(gateway: gateway, store: store, configuration: syncConfiguration, mode: .resume, logger: logger)
        print(SyncCommand.describe(second) + "\n")

        print(try AgedDebtTable.render(store: store, asOf: businessDate))

        print("\n4. A write-off: raised by an agent, approved by a team leader (maker-checker), pushed to MILES")
        var target: Contract?
        try store.forEachContract { if target == nil, $0.openBalance.minorUnits >= 5_000 { target = $0 } }
        guard let contract = target else { return }
        let file = (database as NSString).deletingLastPathComponent + "/demo-writeoffs.csv"
        try "contract_number,amount,invoice_numbers,reason_code,comment\n\(contract.contractNumber),50.00,,UNEC,demo: below cost of recovery\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let desk = WriteOffDesk(store: store, mappings: mappings)
        let roles = ["ann (agent)": "agent", "tom (team leader)": "teamLeader"]
        let report = try desk.prepare(file: try WriteOffFile(path: file), by: try desk.user(named: "ann (agent)", roles: roles))
        let ids = report.created.map(\.id)
        print("  raised request \(ids.map(String.init).joined(separator: ", ")) for 50.00 on \(contract.contractNumber) from \(file)")
        for (id, result) in desk.approve(ids: ids, by: try desk.user(named: "ann (agent)", roles: roles), comment: nil) {
            if case let .failure(error) = result { print("  ann approving her own request \(id): refused: \(error)") }
        }
        for (id, result) in desk.approve(ids: ids, by: try desk.user(named: "tom (team leader)", roles: roles), comment: "checked") {
            if case .success = result { print("  tom approved request \(id); queued for MILES") }
        }
        let pushed = try await OutboxRelay(gateway: gateway, store: store, logger: logger).run()
        let posted = try ids.compactMap { try store.writeOffRequest(id: $0)?.milesWriteOffId }
        print("  pushed: \(pushed.posted) posted in MILES as \(posted.joined(separator: ", "))")
        print("  \(try store.verifyAudit())")
    }

    static func recreate(_ path: String) throws {
        let manager = FileManager.default
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try manager.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        for suffix in ["", "-wal", "-shm"] where manager.fileExists(atPath: path + suffix) {
            try manager.removeItem(atPath: path + suffix)
        }
    }
}
