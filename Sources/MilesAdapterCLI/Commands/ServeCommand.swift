import AgentAPI
import ArgumentParser
import Foundation
import CollectionsStoreSQLite
import Logging
import MilesMapping
import MilesSync

/// `miles-adapter serve`: the agents' HTTP endpoint.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the agents' HTTP endpoint for updates, with /healthz and /metrics.",
        subcommands: [Run.self, NewToken.self], defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Serve until stopped (the default).",
            discussion: """
                Configure agentAPI in miles-adapter.yaml: host (default 127.0.0.1), port (8081, or MILES_ADAPTER_API_PORT),
                maxBodyBytes (10 MiB), requestsPerMinute per agent (60), and tokenHashes: each agent's bearer token as its
                hex SHA-256 (see 'serve new-token'). Put TLS in front (a reverse proxy): tokens travel in a header.
                """)
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await reportingFailures {
                let session = try CommandSession(global)
                let logger = global.makeLogger("miles-adapter.api", secrets: session.configuration.secrets)
                var configuration = session.configuration.agentAPI
                for agent in configuration.tokenHashes.keys.sorted() where session.mappings.agents[agent] == nil {
                    printError("warning: agentAPI.tokenHashes names '\(agent)', which has no mapping in mappings/third-party: ignored")
                    configuration.tokenHashes[agent] = nil
                }
                if configuration.tokenHashes.isEmpty {
                    throw CommandFailure(message: "no agent can post: set agentAPI.tokenHashes in miles-adapter.yaml "
                                         + "('miles-adapter serve new-token --agent NAME' makes a token and its hash)", exitCode: .configuration)
                }
                let desk = session.ingestDesk()
                for file in try await desk.unfinished() { _ = try await desk.process(file) }
                let host = configuration.host
                do {
                    try await AgentAPIServer.run(configuration: configuration, desk: desk, monitored: session.store, logger: logger) { port in
                        logger.notice("agents' API listening", metadata: ["host": "\(host)", "port": "\(port)"])
                    }
                } catch let error as AgentTokenError {
                    throw CommandFailure(message: error.description, exitCode: .configuration)
                }
            }
        }
    }

    struct NewToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new-token", abstract: "Make a bearer token for an agent: give the token to the agent, put the hash in configuration.")
        @Option(help: "The agent, as named in mappings/third-party.") var agent: String

        func run() async throws {
            let token = AgentTokens.generate()
            print("token for \(agent) (shown once; send it to the agent over a secure channel): \(token)")
            print("configuration (miles-adapter.yaml):\nagentAPI:\n  tokenHashes:\n    \(agent): \(AgentTokens.hash(of: token))")
        }
    }
}
