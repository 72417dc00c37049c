import ArgumentParser
import CollectionsDomain
import MilesMapping

/// `miles-adapter mappings check`: validates the mapping files against the MILES schema.
struct MappingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mappings", abstract: "Work with the mapping files.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every mapping file; print each problem as file:line and exit 4 if there is any.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "The mappings folder (default: from the configuration, else ./mappings).")
        var mappings: String?

        func run() async throws {
            try await reportingFailures {
                let directory = try mappings ?? global.loadConfiguration().mappings
                let set = try MappingsCommand.loadMappings(directory: directory)
                print("\(directory): contract.yaml, status-codes.yaml and authority-matrix.yaml are valid against "
                      + "\(set.contract.schemaFile) (\(set.contract.contractFields.count) contract fields, "
                      + "\(set.statusCodes.contractStatuses.count) status codes, authority matrix v\(set.authorityMatrix.version) "
                      + "with \(set.authorityMatrix.tiers.count) roles)")
            }
        }
    }

    static func loadMappings(directory: String) throws -> MappingSet {
        do {
            return try MappingSet.load(directory: directory)
        } catch {
            throw CommandFailure(message: error.description, exitCode: .mappings)
        }
    }
}
