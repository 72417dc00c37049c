import AgentAPI
import ArgumentParser
import Foundation
import CollectionsStoreSQLite
import Logging
import MilesMapping
import MilesSync
import Workspace

/// `miles-adapter serve`: the agents' HTTP endpoint.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the collections workspace (/workspace) and the agents' HTTP endpoint for updates, with /healthz and /metrics.",
        subcommands: [Run.self, NewToken.self], defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Serve until stopped (the default).",
            discussion: """
                Configure agentAPI in miles-adapter.yaml: host (default 127.0.0.1), port (8081, or MILES_ADAPTER_API_PORT),
                maxBodyBytes (10 MiB), requestsPerMinute per agent (60), failedAuthenticationsPerMinute per source address
                (10), maxConnections (256), headerTimeoutSeconds (10), bodyTimeoutSeconds (60), idleTimeoutSeconds (30),
                answerWithinSeconds (2: a delivery still being processed then is answered 202 with where to poll), and
                tokenHashes: each agent's bearer token as its hex SHA-256 (see 'serve new-token'). Put TLS in front (a
                reverse proxy): tokens travel in a header.
                """)
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Mark the workspace's session cookie Secure: set when people reach it over TLS (a proxy in front).") var secureCookies = false

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                let logger = global.makeLogger("miles-adapter.api", secrets: session.configuration.secrets)
                var configuration = session.configuration.agentAPI
                for agent in configuration.tokenHashes.keys.sorted() where session.mappings.agents[agent]?.updates == nil {
                    printError("warning: agentAPI.tokenHashes names '\(agent)', which sends no updates in mappings/third-party: ignored")
                    configuration.tokenHashes[agent] = nil
                }
                if configuration.tokenHashes.isEmpty {
                    printError("warning: no agent can post (agentAPI.tokenHashes is empty; 'miles-adapter serve new-token --agent NAME' "
                               + "makes a token and its hash): only the workspace is served")
                }
                let desk = session.ingestDesk()
                for file in try await desk.unfinished() { _ = try await desk.process(file) }
                let host = configuration.host
                let workspace = try Workspace(store: session.store, mappings: session.mappings, secureCookies: secureCookies, logger: logger,
                                              now: CommandSession.clock)
                let figures = Task { await workspace.keepFiguresCurrent() }
                defer { figures.cancel() }
                do {
                    try await AgentAPIServer.run(configuration: configuration, desk: desk, monitored: session.store, routes: [workspace],
                                                 logger: logger) { port in
                        logger.notice("agents' API and workspace listening", metadata: ["host": "\(host)", "port": "\(port)"])
                        FileHandle.standardOutput.write(Data("workspace: http://\(host):\(port)/workspace\n".utf8))
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
        @OptionGroup var global: GlobalOptions
        @Option(help: "The agent, as named in mappings/third-party.") var agent: String

        func run() async throws {
            try await reportingFailures {
                let configuration = try await global.loadConfiguration()
                let mappings = try CommandSession.loadMappings(configuration)
                guard mappings.agents[agent]?.updates != nil else {
                    let senders = mappings.agents.values.filter { $0.updates != nil }.map(\.agent).sorted()
                    throw CommandFailure(message: "no agent '\(agent)' sends updates in the mappings' third-party folder; agents that do: "
                                         + senders.joined(separator: ", "), exitCode: .configuration)
                }
                print(Self.issue(for: agent))
            }
        }

        static func issue(for agent: String) -> String {
            let token = AgentTokens.generate()
            return "token for \(agent) (shown once; send it to the agent over a secure channel): \(token)\n"
                + "configuration (miles-adapter.yaml):\nagentAPI:\n  tokenHashes:\n    \(agent): \(AgentTokens.hash(of: token))"
        }
    }
}
