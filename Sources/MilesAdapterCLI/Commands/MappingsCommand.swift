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
            abstract: "Check every mapping file; print each problem as file:line and exit 4 if there is any.",
            discussion: """
                A MILES may offer only some operations: the mapping leaves the others out, and the check lists the jobs \
                it enables (with the operations each calls) and the ones it does not (with what they need). A job it \
                does not enable is refused at its start with exit code 4, before MILES or the store is touched. It \
                also lists the bank accounts bank/*.yaml configures: a statement for any other account is refused.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "The mappings folder (default: as configured, else found beside the configuration file, in the share folder or ./mappings).")
        var mappings: String?

        @Flag(help: "Also report MILES status codes in the store that status-codes.yaml does not map (exit 4 if any).")
        var againstStore = false

        /// What the mapping lets the adapter do: each job enabled with the operations it calls, each one
        /// not enabled with what it needs, and where an incremental sync starts.
        static func jobLines(_ contract: ContractMapping) -> [String] {
            var lines = ["jobs enabled:"]
            for job in contract.enabledJobs {
                lines.append("  \(job.name) (\(job.operations.map(\.name).joined(separator: ", ")))")
            }
            if contract.enabledJobs.isEmpty { lines.append("  none") }
            let refused = MilesJob.allCases.compactMap(contract.refusal(for:))
            if !refused.isEmpty {
                lines.append("not enabled (refused at their start; contract.yaml does not map what they need):")
                for refusal in refused { lines.append("  \(refusal.job?.name ?? ""): needs \(refusal.missing)") }
            }
            if case let .highWaterMark(overlap) = contract.incrementalStart, contract.enabledJobs.contains(.contractSync) {
                let seconds = overlap.components.seconds
                let shown = seconds % 3600 == 0 ? "\(seconds / 3600) h" : seconds % 60 == 0 ? "\(seconds / 60) min" : "\(seconds) s"
                lines.append("FindContracts maps no asOf: an incremental sync starts \(shown) before the newest lastModified seen "
                             + "(changedSinceOverlap)")
            }
            return lines
        }

        /// The bank accounts whose statements the adapter reads, each with its bank and when it allocates.
        static func bankLines(_ rules: BankRules) -> [String] {
            guard !rules.accounts.isEmpty else {
                return ["bank accounts: none (no bank/*.yaml: every bank statement is refused)"]
            }
            return ["bank accounts:"] + rules.accounts.values.sorted { ($0.bankName, $0.iban) < ($1.bankName, $1.iban) }.map { account in
                "  \(account.iban) \(account.currency.code) (\(account.bankName)): "
                    + "\(account.contractPatterns.count) contract and \(account.invoicePatterns.count) invoice pattern"
                    + "\(account.contractPatterns.count + account.invoicePatterns.count == 2 ? "" : "s"), "
                    + "allocated at \(account.allocateAt) and \(account.margin) ahead of the next contract"
                    + (account.returnReasons.isEmpty ? "" : "; \(account.returnReasons.count) of the bank's return reasons sent to MILES as other codes")
            }
        }

        func run() async throws {
            try await reportingFailures {
                var configuration = try await global.loadConfiguration()
                if let mappings { configuration.mappings = mappings }
                let directory = try configuration.mappingsDirectory()
                let set = try CommandSession.loadMappings(configuration)
                print("\(directory): contract.yaml, status-codes.yaml and authority-matrix.yaml are valid against "
                      + "\(set.contract.schemaFile) (\(set.contract.contractFields.count) contract fields, "
                      + "\(set.statusCodes.contractStatuses.count) status codes, authority matrix v\(set.authorityMatrix.version) "
                      + "with \(set.authorityMatrix.tiers.count) roles, agents \(set.agents.isEmpty ? "none" : set.agents.keys.sorted().joined(separator: ", ")))")
                for line in Self.jobLines(set.contract) { print(line) }
                for line in Self.bankLines(set.bank) { print(line) }
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
