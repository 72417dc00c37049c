import ArgumentParser
import Foundation
import Logging
import MilesMock

/// `miles-mock`: the stateful mock MILES as a standalone server.
@main
struct MilesMockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miles-mock",
        abstract: "A stateful mock MILES: ContractService over SOAP with WS-Security, plus an admin API on loopback.",
        discussion: """
            The portfolio is a pure function of --seed and --contracts. The password of the user comes from
            MILES_MOCK_PASSWORD (default: \(MockMilesConfiguration.defaultPassword)).
            Admin API: POST /admin/reset, POST /admin/advance-day {"changes": N}, POST /admin/faults {...},
            DELETE /admin/faults, GET /admin/journal, GET /admin/state.
            """)

    @Option(help: "Port to listen on (0 picks a free one and prints it).")
    var port = 8080

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Contracts in the portfolio.")
    var contracts = 10_000

    @Option(help: "Seed of the portfolio.")
    var seed: UInt64 = 42

    @Option(help: "Username the mock accepts.")
    var username = MockMilesConfiguration.defaultUsername

    @Option(help: "Folder with the WSDL and XSD to serve (default: the contract shipped with miles-mock).")
    var wsdl = Bundle.module.path(forResource: "contract", ofType: nil) ?? "mappings/wsdl"

    @Option(help: ArgumentHelp("A fault to inject from the start, as the admin API's JSON (repeatable).",
                               discussion: #"e.g. --fault '{"operation": "FindContracts", "kind": "http", "httpStatus": 503, "retryAfterSeconds": 2, "percent": 20, "count": 0, "skip": 0}'"#))
    var fault: [String] = []

    @Option(help: "Seed of the random faults (percent, random delays, garbage): the same seed replays the same run.")
    var faultSeed: UInt64 = 1

    @Flag(help: "Refuse a call whose WS-Security header has no wsu:Timestamp, or one that has expired, as Oracle- and OSB-style services do.")
    var requireTimestamp = false

    @Option(help: "With --require-timestamp: how many seconds ahead of the mock's clock a Timestamp's Created may be.")
    var timestampClockSkew = 60

    @Option(help: "Write sample answers (the fuzzer's seed corpus) into this folder and stop, instead of serving.")
    var writeSamples: String?

    func run() async throws {
        if let folder = writeSamples {
            let miles = MockMiles(configuration: MockMilesConfiguration(contractCount: contracts, seed: seed, contractDirectory: wsdl))
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (name, bytes) in try await miles.sampleResponses() {
                guard FileManager.default.createFile(atPath: folder + "/" + name, contents: Data(bytes)) else {
                    throw ValidationError("cannot write \(folder)/\(name)")
                }
            }
            return
        }
        let password = ProcessInfo.processInfo.environment["MILES_MOCK_PASSWORD"] ?? MockMilesConfiguration.defaultPassword
        let configuration = MockMilesConfiguration(
            contractCount: contracts, seed: seed, users: [username: password], contractDirectory: wsdl, host: host, port: port,
            faultSeed: faultSeed, requireTimestamp: requireTimestamp, timestampClockSkewSeconds: timestampClockSkew)
        let rules = try fault.map { text in
            do {
                return try JSONDecoder().decode(FaultRule.self, from: Data(text.utf8))
            } catch {
                throw ValidationError("--fault '\(text)' is not a fault rule: \(error)")
            }
        }
        var logger = Logger(label: "miles-mock")
        logger.logLevel = .warning
        try await MockMilesServer.run(configuration: configuration, faults: rules, logger: logger) { port in
            // Written straight to the descriptor so a parent process sees it at once, unbuffered.
            FileHandle.standardOutput.write(Data("miles-mock listening on http://\(host):\(port)/miles (\(contracts) contracts, seed \(seed))\n".utf8))
        }
    }
}
