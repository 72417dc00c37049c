import CollectionsDomain
import CollectionsStore
import CollectionsStorePostgres
import Foundation
import MilesMapping
import MilesMock
import MilesSync

// The PostgreSQL store beside SQLite, in the same run (issue 15): a full sync of
// BENCH_PG_SYNC_CONTRACTS contracts (default 1,000,000) into each from one miles-mock subprocess,
// and a push of `writeOffCount` approved write-offs by 1, 2 and 4 `miles-adapter push` workers
// sharing one PostgreSQL outbox, with the mock's CPU time beside theirs.

let postgresSyncContracts = Int(ProcessInfo.processInfo.environment["BENCH_PG_SYNC_CONTRACTS"] ?? "") ?? 1_000_000

/// A PostgreSQL server of the bench's own, from Debian's packages (scripts/postgres-test-server
/// --durable): fsync on and commits not waiting for their WAL flush, as the SQLite store's WAL with
/// synchronous=NORMAL (a crash of the process loses nothing, one of the machine may lose the last
/// moments; neither corrupts).
struct BenchPostgres {
    let folder: String
    let url: String

    static func start() throws -> BenchPostgres {
        let folder = repository + "/.build/bench-postgres"
        // The URL from the file the script writes: the server it starts inherits the script's output,
        // so a pipe would never reach its end.
        let script = try launch(path: repository + "/scripts/postgres-test-server", ["start", folder, "--durable"], output: nil)
        script.waitUntilExit()
        let url = ((try? String(contentsOfFile: folder + "/url", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        precondition(script.terminationStatus == 0 && url.hasPrefix("postgres://"), "the bench's PostgreSQL server did not start (see \(folder))")
        return BenchPostgres(folder: folder, url: url)
    }

    /// A new, empty database on the server; its URL.
    func database(_ name: String) throws -> String {
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        psql.arguments = [url, "-q", "-c", "CREATE DATABASE \(name)"]
        try psql.run()
        psql.waitUntilExit()
        precondition(psql.terminationStatus == 0, "cannot create the database \(name)")
        return url.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
    }

    func stop() {
        let script = try? launch(path: repository + "/scripts/postgres-test-server", ["stop", folder])
        script?.waitUntilExit()
    }
}

/// CPU time (user and system) process `pid` has used so far, from /proc.
func cpuSeconds(ofProcess pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let afterName = stat.range(of: ") ", options: .backwards) else { return 0 }
    let fields = stat[afterName.upperBound...].split(separator: " ")
    // utime and stime are fields 14 and 15 of the line; the slice starts at field 3.
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func postgresBenchmark() async throws {
    let postgres = try BenchPostgres.start()
    defer { postgres.stop() }
    let adapter = adapters[adapters.count - 1]

    let (syncMock, syncEndpoint) = try startMock(contracts: postgresSyncContracts)
    print("postgres: a full sync of \(postgresSyncContracts) contracts from a miles-mock subprocess, pages of 1,000, into SQLite and into "
          + "PostgreSQL (\(postgres.url.replacingOccurrences(of: "postgres://", with: "")), fsync on, synchronous_commit off), one after the other")
    let sqliteFile = FileManager.default.temporaryDirectory.appendingPathComponent("bench-pg-\(UUID().uuidString).sqlite").path
    let intoSQLite = try sync(with: adapter, endpoint: syncEndpoint, into: sqliteFile)
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: sqliteFile + suffix) }
    let intoPostgres = try sync(with: adapter, endpoint: syncEndpoint, into: try postgres.database("bench_sync"))
    syncMock.terminate()
    syncMock.waitUntilExit()
    for (label, run) in [("SQLite", intoSQLite), ("PostgreSQL", intoPostgres)] {
        print(String(format: "  into %@: %.2f s (%.0f contracts/s), %.2f s of CPU in the sync process, peak memory %.0f MB",
                     label.padding(toLength: 10, withPad: " ", startingAt: 0), run.seconds, Double(postgresSyncContracts) / run.seconds,
                     run.cpuSeconds, run.peakMegabytes))
    }
    print(String(format: "  PostgreSQL / SQLite: wall time %.2f (goal: at most 1.5)", intoPostgres.seconds / intoSQLite.seconds))

    print("postgres: a push of \(writeOffCount) approved write-offs by N `miles-adapter push --worker` processes sharing one outbox, "
          + "to a miles-mock subprocess")
    let (pushMock, pushEndpoint) = try startMock(contracts: writeOffCount * 2)
    defer { pushMock.terminate(); pushMock.waitUntilExit() }
    var rates: [Int: Double] = [:]
    for workers in [1, 2, 4] {
        let database = try postgres.database("bench_push_\(workers)")
        _ = try sync(with: adapter, endpoint: pushEndpoint, into: database)
        let queued = try await approveWriteOffs(in: database)
        let mockCPUBefore = cpuSeconds(ofProcess: pushMock.processIdentifier)
        let cpuBefore = childrenCPUSeconds()
        let start = ContinuousClock.now
        let pushes = try (1...workers).map { worker in
            try launch(path: adapter.executable, ["push", "--worker", "push-\(worker)", "--log-level", "warning"], environment: [
                "MILES_ADAPTER_ENDPOINT": pushEndpoint, "MILES_ADAPTER_USERNAME": MockMilesConfiguration.defaultUsername,
                "MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword, "MILES_ADAPTER_DATABASE": database,
                "MILES_ADAPTER_MAPPINGS": adapter.mappings,
            ], output: Pipe())
        }
        for push in pushes {
            push.waitUntilExit()
            precondition(push.terminationStatus == 0, "a push worker failed with exit code \(push.terminationStatus)")
        }
        let elapsed = seconds(ContinuousClock.now - start)
        let workersCPU = childrenCPUSeconds() - cpuBefore
        let mockCPU = cpuSeconds(ofProcess: pushMock.processIdentifier) - mockCPUBefore
        let store = try await PostgresStore(location: PostgresLocation(url: database, password: nil))
        let counts = try await store.outboxCounts()
        store.close()
        precondition(counts == [.sent: queued], "after \(workers) workers the outbox holds \(counts), not \(queued) sent")
        rates[workers] = Double(queued) / elapsed
        print(String(format: "  %d worker%@: %.2f s, %.0f write-offs/s; CPU: workers %.1f s, mock %.1f s (%.0f %% of one core)",
                     workers, workers == 1 ? " " : "s", elapsed, Double(queued) / elapsed, workersCPU, mockCPU, 100 * mockCPU / elapsed))
    }
    if let one = rates[1], let two = rates[2], let four = rates[4] {
        print(String(format: "  throughput / 1 worker's: 2 workers %.2f, 4 workers %.2f", two / one, four / one))
    }
}

/// Raises one £0.01 write-off on each of `writeOffCount` contracts with something open in the store
/// at `database`, as an agent, and approves them as a team leader; returns how many are queued.
func approveWriteOffs(in database: String) async throws -> Int {
    let store = try await PostgresStore(location: PostgresLocation(url: database, password: nil))
    defer { store.close() }
    let mappings = try MappingSet.load(directory: mappingsDirectory)
    var lines = ["contract_number,amount,invoice_numbers,reason_code,comment"]
    try await store.forEachContract(pageSize: 1_000) { contract in
        if contract.openBalance.minorUnits > 0, lines.count <= writeOffCount { lines.append("\(contract.contractNumber),0.01,,UNEC,bench") }
    }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("bench-pg-writeoffs-\(UUID().uuidString).csv").path
    defer { try? FileManager.default.removeItem(atPath: file) }
    try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
    let roles = ["alice": "agent", "bob": "teamLeader"]
    let desk = WriteOffDesk(store: store, mappings: mappings)
    let report = try await desk.prepare(file: try WriteOffFile(path: file), by: try desk.user(named: "alice", roles: roles))
    _ = await desk.approve(ids: report.created.map(\.id), by: try desk.user(named: "bob", roles: roles), comment: nil)
    return try await store.outboxEntries(state: .pending).count
}
