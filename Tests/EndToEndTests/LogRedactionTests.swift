import CollectionsDomain
import Foundation
import MilesMock
import Testing

@Suite("Logs hold no secrets and, unless asked, no personal data", .serialized, .timeLimit(.minutes(2)))
struct LogRedactionTests {
    /// Runs the demo (`miles-demo`, which runs each step with `miles-adapter`) at the most verbose
    /// level; everything it wrote, standard output and error together.
    func demoOutput(_ extra: [String]) async throws -> String {
        let folder = temporaryDirectory("demo")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (status, output) = try await runAdapter(
            ["--contracts", "300", "--changes", "40", "--seed", "7", "--output", folder,
             "--mappings", repositoryMappings, "--log-level", "trace"] + extra, environment: [:],
            executable: AdapterProcess.executable.deletingLastPathComponent().appendingPathComponent("miles-demo"))
        #expect(status == 0)
        return output
    }

    /// Every customer's name, phone number and email in the demo's portfolio.
    func personalData() async -> Set<String> {
        let miles = MockMiles(configuration: MockMilesConfiguration(contractCount: 300, seed: 7, contractDirectory: repositoryMappings + "/wsdl"))
        var values: Set<String> = []
        await miles.forEachContract { contract in
            values.insert(contract.customer.name)
            values.formUnion(contract.customer.phones)
            if let email = contract.customer.email { values.insert(email) }
        }
        return values
    }

    @Test("a trace-level log over a full demo holds neither the password nor any customer's name, phone or email")
    func redacted() async throws {
        let output = try await demoOutput([])
        #expect(output.contains("contract from MILES"), "the trace log should describe each contract")
        // The demo's last step ran through: a bank statement imported, one entry allocated by hand and both pushed.
        #expect(output.contains("1 allocated, 1 to check") && output.contains("allocated to C") && output.contains("payments allocated 2 "))
        #expect(!output.contains(MockMilesConfiguration.defaultPassword))
        let leaked = await personalData().filter { output.contains($0) }
        #expect(leaked.isEmpty, "personal data in the log: \(leaked.sorted().prefix(5))")
    }

    @Test("--log-personal-data shows it, says so in the log, and still hides the password")
    func personalDataSwitchedOn() async throws {
        let output = try await demoOutput(["--log-personal-data"])
        #expect(output.contains("personal data logging is ON"))
        #expect(!output.contains(MockMilesConfiguration.defaultPassword))
        #expect(!(await personalData().filter { output.contains($0) }).isEmpty)
    }
}

@Suite("Configuration reaches the jobs", .serialized, .timeLimit(.minutes(2)))
struct ConfigurationTests {
    /// Runs `arguments` with a configuration file holding `yaml`; the exit status and what it wrote.
    func run(_ arguments: [String], yaml: String, harness: SyncHarness) async throws -> (Int32, String) {
        let folder = temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try yaml.write(toFile: folder + "/miles-adapter.yaml", atomically: true, encoding: .utf8)
        return try await runAdapter(arguments + ["--config", folder + "/miles-adapter.yaml"], environment: [
            "MILES_ADAPTER_ENDPOINT": harness.server.endpoint, "MILES_ADAPTER_USERNAME": MockMilesConfiguration.defaultUsername,
            "MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword, "MILES_ADAPTER_DATABASE": harness.storePath,
            "MILES_ADAPTER_MAPPINGS": repositoryMappings,
        ])
    }

    @Test("--log-format json: every line of the log is one JSON object with time, level, label and message; the password never appears")
    func jsonLog() async throws {
        try await withHarness(contracts: 300) { harness in
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", count: 1, kind: .http, httpStatus: 503))
            let run = try await runAdapterSeparately(["sync", "contracts", "--log-format", "json"], environment: [
                "MILES_ADAPTER_ENDPOINT": harness.server.endpoint, "MILES_ADAPTER_USERNAME": MockMilesConfiguration.defaultUsername,
                "MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword, "MILES_ADAPTER_DATABASE": harness.storePath,
                "MILES_ADAPTER_MAPPINGS": repositoryMappings,
            ])
            #expect(run.status == 0, "\(run.errors)")
            let lines = run.errors.split(separator: "\n").filter { !$0.isEmpty }
            #expect(lines.count >= 2, "the retry and the page: \(run.errors)")
            var levels: Set<String> = []
            for line in lines {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object != nil, "not a JSON object: \(line)")
                for key in ["time", "level", "label", "message"] { #expect(object?[key] is String, "\(key) missing in \(line)") }
                levels.insert(object?["level"] as? String ?? "")
            }
            #expect(levels.contains("warning"), "the 503's retry is logged: \(run.errors)")
            #expect(!run.errors.contains(MockMilesConfiguration.defaultPassword))
        }
    }

    @Test("the circuit breaker's threshold comes from the configuration; a threshold of 0 is refused with exit code 5")
    func circuitBreakerSettings() async throws {
        try await withHarness(contracts: 100) { harness in
            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", count: 1_000, kind: .http, httpStatus: 503))
            let (status, output) = try await run(["sync", "contracts"], yaml: """
                miles:
                  circuitBreakerFailures: 2
                sync:
                  maxAttempts: 10
                """, harness: harness)
            #expect(status == 1)
            #expect(output.contains("keeps failing"))
            #expect(await harness.server.miles.journalEntries().count == 2)
            let (refused, message) = try await run(["sync", "contracts"], yaml: "miles:\n  circuitBreakerFailures: 0\n", harness: harness)
            #expect(refused == 5)
            #expect(message.contains("miles.circuitBreakerFailures='0' must be a whole number above 0"))
            #expect(message.contains("MILES_ADAPTER_MILES_CIRCUIT_BREAKER_FAILURES"))
        }
    }

    @Test("one precedence (issue 15): the environment's long name, then its short name, then the secrets folder, then the file; secrets never from the file")
    func precedence() async throws {
        try await withHarness(contracts: 100) { harness in
            let folder = temporaryDirectory("precedence")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try "sync:\n  pageSize: 40\nmiles:\n  endpoint: \(harness.server.endpoint)\n"
                .write(toFile: folder + "/miles-adapter.yaml", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: folder + "/secrets", withIntermediateDirectories: true)
            try (MockMilesConfiguration.defaultPassword + "\n").write(toFile: folder + "/secrets/miles-password", atomically: true, encoding: .utf8)
            try "25".write(toFile: folder + "/secrets/sync-pageSize", atomically: true, encoding: .utf8)
            let base = ["MILES_ADAPTER_USERNAME": MockMilesConfiguration.defaultUsername, "MILES_ADAPTER_DATABASE": harness.storePath,
                        "MILES_ADAPTER_MAPPINGS": repositoryMappings]
            /// The page size the sync asked MILES for, with `environment` on top of `base`.
            func pageSize(_ environment: [String: String]) async throws -> String? {
                await harness.server.miles.clearJournal()
                let run = try await runAdapter(["sync", "contracts", "--full", "--config", folder + "/miles-adapter.yaml"],
                                               environment: base.merging(environment) { $1 })
                #expect(run.status == 0, "\(run.output)")
                return await harness.server.miles.journalEntries().first { $0.operation == "FindContracts" }?.parameters["PageSize"]
            }
            let password = ["MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword]
            #expect(try await pageSize(password) == "40")
            #expect(try await pageSize(password.merging(["MILES_ADAPTER_SECRETS_DIR": folder + "/secrets"]) { $1 }) == "25")
            #expect(try await pageSize(password.merging(["MILES_ADAPTER_PAGE_SIZE": "20"]) { $1 }) == "20")
            #expect(try await pageSize(password.merging(["MILES_ADAPTER_PAGE_SIZE": "20", "MILES_ADAPTER_SYNC_PAGE_SIZE": "30"]) { $1 }) == "30")
            // The password from the secrets folder alone.
            #expect(try await pageSize(["MILES_ADAPTER_SECRETS_DIR": folder + "/secrets"]) == "25")

            // A password written in the file is not read.
            try "miles:\n  endpoint: \(harness.server.endpoint)\n  password: \(MockMilesConfiguration.defaultPassword)\n"
                .write(toFile: folder + "/miles-adapter.yaml", atomically: true, encoding: .utf8)
            let inFile = try await runAdapter(["sync", "contracts", "--config", folder + "/miles-adapter.yaml"], environment: base)
            #expect(inFile.status == 5)
            #expect(inFile.output.contains("no MILES password"))
            let missing = try await runAdapter(["sync", "contracts"], environment: base.merging(["MILES_ADAPTER_SECRETS_DIR": folder + "/none"]) { $1 })
            #expect(missing.status == 5)
            #expect(missing.output.contains("the secrets folder \(folder)/none"))
            let bad = try await runAdapter(["sync", "contracts"], environment: base.merging(["MILES_ADAPTER_MILES_VERIFY_TLS": "maybe"]) { $1 })
            #expect(bad.status == 5)
            #expect(bad.output.contains("miles.verifyTLS='maybe' must be true or false (set by MILES_ADAPTER_MILES_VERIFY_TLS"))
        }
    }
}

@Suite("Terminal output masks agents' personal values", .serialized)
struct IngestTerminalRedactionTests {
    func ingest(_ extra: [String]) async throws -> String {
        let folder = temporaryDirectory("ingest-terminal")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "ClientRef;Result;TracedOn;NewAddress1;NewAddress2;NewTown;NewPostcode;NewPhone;NewEmail;Comment\nC00000013;TRACED;2026-11-26;4 Rose Lane;;;EH6 7AA;;;\n"
            .write(toFile: folder + "/trace.csv", atomically: true, encoding: .utf8)
        return try await runAdapter(["ingest", folder + "/trace.csv", "--agent", "tracewise"] + extra, environment: [
            "MILES_ADAPTER_DATABASE": folder + "/store.sqlite", "MILES_ADAPTER_MAPPINGS": repositoryMappings,
            "MILES_ADAPTER_INBOX": folder + "/inbox",
        ]).output
    }

    @Test("a rejected row's postcode is masked unless --log-personal-data")
    func masked() async throws {
        let masked = try await ingest([])
        #expect(masked.contains("NewPostcode ‹value masked: --log-personal-data shows it›: a new address needs a town and a postcode"))
        #expect(!masked.contains("EH6 7AA"))
        let shown = try await ingest(["--log-personal-data"])
        #expect(shown.contains("NewPostcode 'EH6 7AA'"))
        #expect(shown.contains("personal data logging is ON"))
    }
}
