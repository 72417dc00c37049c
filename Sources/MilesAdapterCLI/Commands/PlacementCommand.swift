import ArgumentParser
import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesMapping
import MilesSync

/// `miles-adapter placement …`: hand accounts to an external agent.
struct PlacementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "placement", abstract: "Place accounts with an external agent.", subcommands: [Create.self, Recall.self, Instructions.self])

    /// The reason code given, or the mapping's default for the status the accounts move to.
    static func reason(_ given: String?, moving status: ContractStatus, _ session: CommandSession) throws -> String {
        if let given { return given }
        guard let code = session.mappings.statusCodes.defaultReasons[status] else {
            throw CommandFailure(message: "no --reason given and status-codes.yaml defaultReasons has none for \(status.rawValue)",
                                 exitCode: .configuration)
        }
        return code
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a placement file in the agent's format (with a manifest) and queue the 'placed with agent' status changes.",
            discussion: "Only contracts that pass the placement guards are placed; the others are listed with the rule that stops them.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The agent, as named in mappings/third-party.") var agent: String
        @Option(help: "A file of contract numbers, one per line.") var contracts: String?
        @Option(help: "Instead of --contracts: every stored contract whose collections status is this, e.g. defaulted.") var status: String?
        @Option(help: "MILES's reason code for the status change (default: status-codes.yaml defaultReasons.placedWithAgent).")
        var reason: String?
        @Option(help: "Where the placement file and manifest go.") var output = "placements"

        func validate() throws {
            guard (contracts == nil) != (status == nil) else { throw ValidationError("give either --contracts FILE or --status STATUS") }
            if let status, ContractStatus(rawValue: status) == nil {
                throw ValidationError("--status '\(status)' is not one of \(ContractStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.updateContractStatus)])
                try await session.requireIntactAudit()
                var numbers: [String] = []
                if let contracts {
                    guard let text = try? String(contentsOfFile: contracts, encoding: .utf8) else {
                        throw CommandFailure(message: "cannot read \(contracts)", exitCode: .failed)
                    }
                    numbers = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                } else if let status, let wanted = ContractStatus(rawValue: status) {
                    try await session.store.forEachContract { contract in
                        if session.mappings.statusCodes.internalStatus(forMilesCode: contract.statusCode) == wanted {
                            numbers.append(contract.contractNumber)
                        }
                    }
                }
                let result = try await session.placementDesk
                    .create(agent: agent, contractNumbers: numbers, by: try await session.person(),
                            reasonCode: try PlacementCommand.reason(reason, moving: .placedWithAgent, session), directory: output)
                for (number, reason) in result.refused {
                    printError("\(number): not placed: \(reason)")
                    if let hint = GuardHints.hint(for: reason, contractNumber: number, mappings: session.mappings) { printError("    \(hint)") }
                }
                if numbers.isEmpty {
                    print("nothing to place: " + (status.map { "no stored contract has the collections status \($0)" } ?? "\(contracts ?? "the file") lists no contract"))
                    return
                }
                if let file = result.file {
                    print("\(file): \(result.placed.count) accounts, totals \(result.totals.map { "\($0.value) \($0.key) minor units" }.joined(separator: ", ")), "
                          + "sha256 \(result.sha256 ?? "")")
                    print("status changes queued; run 'miles-adapter push'")
                } else {
                    print("nothing new placed (\(result.alreadyPlaced.count) already placed with \(agent), \(result.refused.count) refused)")
                }
                try CommandFailure.Code.outcome(done: result.placed.count + result.alreadyPlaced.count, refused: result.refused.count)
            }
        }
    }

    struct Recall: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recall accounts from an agent: a recall file for the agent and a status change back to defaulted.",
            discussion: "Refused while a payment plan is active or a payment the agent reported has not reached MILES yet, unless --force (audited as forced).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The agent.") var agent: String
        @Option(help: "A file of contract numbers, one per line.") var contracts: String
        @Flag(help: "Recall even while a payment plan is active or a payment is in transit.") var force = false
        @Option(help: "MILES's reason code for the status change (default: status-codes.yaml defaultReasons.defaulted).")
        var reason: String?
        @Option(help: "Where the recall file goes.") var output = "placements"

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.updateContractStatus)])
                try await session.requireIntactAudit()
                guard let text = try? String(contentsOfFile: contracts, encoding: .utf8) else {
                    throw CommandFailure(message: "cannot read \(contracts)", exitCode: .failed)
                }
                let numbers = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                let result = try await session.placementDesk
                    .recall(agent: agent, contractNumbers: numbers, force: force, by: try await session.person(),
                             reasonCode: try PlacementCommand.reason(reason, moving: .defaulted, session), directory: output)
                for (number, reason) in result.refused { printError("\(number): not recalled: \(reason)") }
                if let file = result.file { print("\(file): \(result.placed.count) accounts recalled; run 'miles-adapter push'") }
                try CommandFailure.Code.outcome(done: result.placed.count, refused: result.refused.count)
            }
        }
    }

    struct Instructions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Instructions for an agent, e.g. pause accounts that now have a hold.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The agent.") var agent: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                for instruction in try await session.store.agentInstructions(agent: agent) {
                    print("\(instruction.contractNumber)\t\(instruction.kind)\t\(instruction.reason)")
                }
            }
        }
    }
}
