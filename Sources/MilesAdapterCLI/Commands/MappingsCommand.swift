import ArgumentParser
import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import MilesMapping

/// `miles-adapter mappings check`: validates the mapping files against the MILES schema.
struct MappingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mappings", abstract: "Work with the mapping files.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every mapping file; print each problem as file:line and exit 4 if there is any.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "The mappings folder (default: as configured, else found beside the configuration file, in the share folder or ./mappings).")
        var mappings: String?

        @Flag(help: "Also report MILES status codes in the store that status-codes.yaml does not map (exit 4 if any).")
        var againstStore = false

        func run() async throws {
            try await reportingFailures {
                var configuration = try await global.loadConfiguration()
                if let mappings { configuration.mappings = mappings }
                let directory = try configuration.mappingsDirectory()
                let set = try CommandSession.loadMappings(configuration)
                print("\(directory): contract.yaml, status-codes.yaml and authority-matrix.yaml are valid against "
                      + "\(set.contract.schemaFile) (\(set.contract.contractFields.count) contract fields, "
                      + "\(set.statusCodes.contractStatuses.count) status codes, authority matrix v\(set.authorityMatrix.version) "
                      + "with \(set.authorityMatrix.tiers.count) roles, agents \(set.agents.keys.sorted().joined(separator: ", ")))")
                guard againstStore else { return }
                let unknown = try await CommandSession.openStore(configuration).statusCodeCounts()
                    .filter { set.statusCodes.internalStatus(forMilesCode: $0.key) == nil }
                for (code, count) in unknown.sorted(by: { $0.key < $1.key }) {
                    printError("\(directory)/status-codes.yaml: MILES status code '\(code)' is on \(count) stored contract"
                               + "\(count == 1 ? "" : "s") but not mapped under contractStatuses")
                }
                if !unknown.isEmpty { throw ExitCode(CommandFailure.Code.mappings.rawValue) }
                print("every MILES status code in \(configuration.database) is mapped")
            }
        }
    }
}
