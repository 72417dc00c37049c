import CollectionsStoreSQLite
import Foundation
import HTTPServing
import Hummingbird
import Logging
import MilesMock
import Testing
import Yams

/// The scheduling examples in docs/scheduling: each parses, and each command it runs is one the
/// adapter's command line accepts (it then stops at the example's configuration, which is not on
/// this machine: exit 5, never 2).
@Suite("The scheduling examples parse and name commands the adapter accepts (issue 15)")
struct SchedulingExamplesTests {
    static let folder = URL(fileURLWithPath: repositoryMappings).deletingLastPathComponent().appendingPathComponent("docs/scheduling").path

    /// A unit file's sections and their keys; a line outside a section or without `=` fails.
    func unit(_ path: String) throws -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast())
                continue
            }
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            guard let section = current, parts.count == 2 else {
                Issue.record("\(path): '\(line)' is not a key=value in a section")
                continue
            }
            sections[section, default: [:]][parts[0]] = parts[1]
        }
        return sections
    }

    /// Runs the adapter with `arguments`: it must get past the command line.
    func expectAccepted(_ arguments: [String], _ origin: String) async throws {
        let run = try await runAdapterSeparately(arguments, environment: [:])
        #expect(run.status == 5, "\(origin): \(arguments.joined(separator: " ")) → \(run.status): \(run.errors)")
    }

    @Test("systemd: each service has a unit and an ExecStart of miles-adapter; each timer a schedule and a service of the same name")
    func systemd() async throws {
        let directory = Self.folder + "/systemd"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names.filter { $0.hasSuffix(".service") }.count == 4 && names.filter { $0.hasSuffix(".timer") }.count == 3)
        for name in names {
            let sections = try unit(directory + "/" + name)
            #expect(sections["Unit"]?["Description"] != nil, "\(name) has no description")
            if name.hasSuffix(".timer") {
                #expect(sections["Timer"]?["OnCalendar"] != nil, "\(name) has no schedule")
                #expect(names.contains(name.replacingOccurrences(of: ".timer", with: ".service")))
                continue
            }
            let command = try #require(sections["Service"]?["ExecStart"], "\(name) has no ExecStart").split(separator: " ").map(String.init)
            #expect(command.first == "/usr/local/bin/miles-adapter")
            try await expectAccepted(Array(command.dropFirst()), name)
        }
    }

    @Test("Kubernetes: a CronJob for sync, push and ingest that forbids overlapping runs, and a Deployment for serve")
    func kubernetes() async throws {
        let text = try String(contentsOfFile: Self.folder + "/kubernetes/miles-adapter.yaml", encoding: .utf8)
        let documents = try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
        let kinds = documents.map { $0["kind"] as? String ?? "" }
        #expect(kinds == ["CronJob", "CronJob", "CronJob", "Deployment"])
        for document in documents {
            let name = (document["metadata"] as? [String: Any])?["name"] as? String ?? "?"
            let spec = document["spec"] as? [String: Any]
            let pod: [String: Any]?
            if document["kind"] as? String == "CronJob" {
                #expect(spec?["concurrencyPolicy"] as? String == "Forbid", "\(name) may overlap")
                #expect(spec?["schedule"] is String)
                let job = (spec?["jobTemplate"] as? [String: Any])?["spec"] as? [String: Any]
                pod = (job?["template"] as? [String: Any])?["spec"] as? [String: Any]
            } else {
                pod = (spec?["template"] as? [String: Any])?["spec"] as? [String: Any]
            }
            let container = try #require((pod?["containers"] as? [[String: Any]])?.first, "\(name) has no container")
            let arguments = try #require(container["args"] as? [String], "\(name) has no args")
            try await expectAccepted(arguments, name)
        }
    }
}

@Suite("Batch jobs write their run as Prometheus text for node_exporter (issue 15)", .serialized, .timeLimit(.minutes(2)))
struct JobMetricsFileTests {
    /// The samples of a Prometheus text file, by metric and labels; every line either a comment or a sample.
    func samples(_ path: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            let value = try #require(parts.count == 2 ? Double(parts[1]) : nil, "not a sample: \(line)")
            samples[String(parts[0])] = value
        }
        return samples
    }

    @Test("sync and push write duration, success, end time and what they did; a failed run writes success 0; the file is readable by the collector")
    func metricsFiles() async throws {
        try await withHarness(contracts: 250) { harness in
            let folder = temporaryDirectory("metrics")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let environment = ["MILES_ADAPTER_ENDPOINT": harness.server.endpoint, "MILES_ADAPTER_USERNAME": MockMilesConfiguration.defaultUsername,
                               "MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword, "MILES_ADAPTER_DATABASE": harness.storePath,
                               "MILES_ADAPTER_MAPPINGS": repositoryMappings]
            let sync = try await runAdapter(["sync", "contracts", "--metrics-file", folder + "/sync.prom"], environment: environment)
            #expect(sync.status == 0)
            let synced = try samples(folder + "/sync.prom")
            #expect(synced["miles_adapter_job_success{job=\"sync\"}"] == 1)
            #expect(synced["miles_adapter_job_items{job=\"sync\",item=\"contracts_received\"}"] == 250)
            #expect((synced["miles_adapter_job_duration_seconds{job=\"sync\"}"] ?? -1) > 0)
            #expect(abs((synced["miles_adapter_job_last_run_timestamp_seconds{job=\"sync\"}"] ?? 0) - Date().timeIntervalSince1970) < 120)
            #expect(try FileManager.default.attributesOfItem(atPath: folder + "/sync.prom")[.posixPermissions] as? Int == 0o644)

            let store = try SQLiteStore(path: harness.storePath)
            _ = try await harness.approvedWriteOffs(Array(try await harness.syncedStore().1.prefix(2)), store: store)
            let push = try await runAdapter(["push", "--metrics-file", folder + "/push.prom"], environment: environment)
            #expect(push.status == 0)
            let pushed = try samples(folder + "/push.prom")
            #expect(pushed["miles_adapter_job_items{job=\"push\",item=\"pushed\"}"] == 2)
            #expect(pushed["miles_adapter_job_success{job=\"push\"}"] == 1)

            await harness.server.miles.injectFault(FaultRule(operation: "FindContracts", count: 1_000, kind: .http, httpStatus: 503))
            let failed = try await runAdapter(["sync", "contracts", "--full", "--metrics-file", folder + "/sync.prom"], environment: environment)
            #expect(failed.status == 1)
            #expect(try samples(folder + "/sync.prom")["miles_adapter_job_success{job=\"sync\"}"] == 0)
        }
    }

    @Test("--metrics-push posts the run to a Pushgateway under the job's name; a gateway that is down is a warning, not a failed job")
    func metricsPush() async throws {
        let received = PushedMetrics()
        let router = Router()
        router.post("metrics/job/:job/instance/:instance") { request, context -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            await received.record(job: context.parameters.get("job") ?? "", instance: context.parameters.get("instance") ?? "",
                                  text: String(buffer: body))
            return .ok
        }
        let gateway = try await InProcessServer.start(name: "the Pushgateway", logger: Logger(label: "test")) { onListening in
            Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                        onServerRunning: { onListening($0.localAddress?.port ?? 0) })
        }
        do {
            try await withHarness(contracts: 120) { harness in
                let sync = try await runAdapter(["sync", "contracts", "--metrics-push", "http://127.0.0.1:\(gateway.port)/"],
                                                environment: harness.adapterEnvironment)
                #expect(sync.status == 0, "\(sync.output)")
                let pushed = await received.texts
                #expect(pushed.map(\.job) == ["sync"])
                // Grouped by machine too, so workers on several machines do not overwrite each other's runs.
                #expect(pushed.map(\.instance) == [ProcessInfo.processInfo.hostName])
                #expect(pushed.first?.text.contains("miles_adapter_job_success{job=\"sync\"} 1\n") == true)
                #expect(pushed.first?.text.contains("miles_adapter_job_items{job=\"sync\",item=\"contracts_received\"} 120\n") == true)

                let unreachable = try await runAdapterSeparately(["push", "--metrics-push", "http://127.0.0.1:1"], environment: harness.adapterEnvironment)
                #expect(unreachable.status == 0)
                #expect(unreachable.errors.contains("warning: the run's metrics were not pushed to http://127.0.0.1:1/metrics/job/push"))
                let secret = try await runAdapterSeparately(["push", "--metrics-push", "http://pusher:s3cr3t@127.0.0.1:1"],
                                                            environment: harness.adapterEnvironment)
                #expect(secret.errors.contains("http://pusher:***@127.0.0.1:1/metrics/job/push"))
                #expect(!secret.errors.contains("s3cr3t"))
                let refused = try await runAdapterSeparately(["push", "--metrics-push", "ftp://gateway"], environment: harness.adapterEnvironment)
                #expect(refused.status == 2)
                #expect(refused.errors.contains("--metrics-push 'ftp://gateway' is not an http(s) URL"))
            }
        } catch {
            await gateway.stop()
            throw error
        }
        await gateway.stop()
    }

    @Test("ingest watch writes each look: files taken, rows applied, refused and rejected")
    func ingestMetrics() async throws {
        try await withHarness(contracts: 60) { harness in
            _ = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008", "C00000013", "C00000026"])
            let folder = temporaryDirectory("ingest-metrics")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try FileManager.default.createDirectory(atPath: folder + "/drop/acme-dca", withIntermediateDirectories: true)
            let delivery = folder + "/drop/acme-dca/return.csv"
            try FileManager.default.copyItem(atPath: goldenDirectory + "/agents/acme-dca-return.csv", toPath: delivery)
            FileManager.default.createFile(atPath: delivery + ".done", contents: nil)
            let run = try await runAdapter(["ingest", "watch", folder + "/drop", "--once", "--metrics-file", folder + "/ingest.prom"], environment: [
                "MILES_ADAPTER_DATABASE": harness.storePath, "MILES_ADAPTER_MAPPINGS": repositoryMappings, "MILES_ADAPTER_INBOX": folder + "/inbox",
            ])
            #expect(run.status == 0, "\(run.output)")
            let taken = try samples(folder + "/ingest.prom")
            #expect(taken["miles_adapter_job_items{job=\"ingest\",item=\"files\"}"] == 1)
            #expect(taken["miles_adapter_job_items{job=\"ingest\",item=\"rows_applied\"}"] == 4)
            #expect(taken["miles_adapter_job_success{job=\"ingest\"}"] == 1)
        }
    }

    @Test("'ingest watch --once' that refuses every file it takes exits 1, naming the folder, the file in failed/")
    func ingestRefusedLook() async throws {
        try await withHarness(contracts: 60) { harness in
            _ = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008"])
            let folder = temporaryDirectory("ingest-refused")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try FileManager.default.createDirectory(atPath: folder + "/drop/acme-dca", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: folder + "/drop/acme-dca/broken.csv", contents: Data([0x41, 0x2C, 0xFF, 0xFE, 0x0A]))
            FileManager.default.createFile(atPath: folder + "/drop/acme-dca/broken.csv.done", contents: nil)
            let run = try await runAdapter(["ingest", "watch", folder + "/drop", "--once"], environment: [
                "MILES_ADAPTER_DATABASE": harness.storePath, "MILES_ADAPTER_MAPPINGS": repositoryMappings, "MILES_ADAPTER_INBOX": folder + "/inbox",
            ])
            #expect(run.status == 1, "\(run.output)")
            #expect(run.output.contains("1 of 1 files taken from \(folder)/drop were refused"), "\(run.output)")
            #expect(FileManager.default.fileExists(atPath: folder + "/drop/acme-dca/failed/broken.csv"))
        }
    }
}

/// What the test's Pushgateway was sent.
actor PushedMetrics {
    private(set) var texts: [(job: String, instance: String, text: String)] = []

    func record(job: String, instance: String, text: String) { texts.append((job, instance, text)) }
}
