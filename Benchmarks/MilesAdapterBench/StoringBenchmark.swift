import Foundation
import MilesMock

// A full sync beside its storing floor (issue 16), and an incremental sync of 1 % changes after it:
// BENCH_STORING_CONTRACTS contracts (default 1,000,000) from one miles-mock subprocess, which the
// peers benchmark pulls from too.

let storingContracts = Int(ProcessInfo.processInfo.environment["BENCH_STORING_CONTRACTS"] ?? "") ?? 1_000_000
/// The sync's peak memory is also measured at this size, to show it flat.
let memoryReferenceContracts = 100_000
let storingPageSize = 1_000

/// The miles-mock subprocess the storing, peers and incremental benchmarks share in one run, and the
/// SQLite file its full sync fills.
struct SyncTarget {
    let mock: Process
    let endpoint: String
    let contracts: Int
    let database: String

    static func start(contracts: Int) throws -> SyncTarget {
        let (mock, endpoint) = try startMock(contracts: contracts)
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("bench-storing-\(UUID().uuidString).sqlite").path
        return SyncTarget(mock: mock, endpoint: endpoint, contracts: contracts, database: database)
    }

    /// CPU time the mock has used so far.
    var mockCPUSeconds: Double { cpuSeconds(ofProcess: mock.processIdentifier) }

    func stop() {
        mock.terminate()
        mock.waitUntilExit()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
    }
}

/// The storing floor of `target.contracts` contracts, then a full sync of them into `target.database`
/// with this tree's `miles-adapter`; returns the sync's run.
func storingBenchmark(_ target: SyncTarget) throws -> ChildRun {
    let count = target.contracts
    print("storing: \(count) contracts as the mock generates them, pages of \(storingPageSize): the storing floor (SQLite's C API, "
          + "prepared statements, a transaction a page, WAL, synchronous=NORMAL), then a full sync from a miles-mock subprocess")
    let floor = try StoringFloor(contracts: count, pageSize: storingPageSize, schema: .store).measure()
    let bareFloor = try StoringFloor(contracts: count, pageSize: storingPageSize, schema: .bare).measure()
    let firstLoadFloor = try StoringFloor(contracts: count, pageSize: storingPageSize, schema: .indexesBuiltAfter).measure()
    for (schema, seconds) in [(StoringFloor.Schema.store, floor), (.bare, bareFloor), (.indexesBuiltAfter, firstLoadFloor)] {
        print(String(format: "  floor, %@: %.2f s (%.0f contracts/s)", schema.rawValue, seconds, Double(count) / seconds))
    }

    let adapter = adapters[adapters.count - 1]
    let mockBefore = target.mockCPUSeconds
    let full = try sync(with: adapter, endpoint: target.endpoint, into: target.database)
    let mockCPU = target.mockCPUSeconds - mockBefore
    print(String(format: "  full sync: %.2f s (%.0f contracts/s), %.2f s of CPU in the sync process, peak memory %.1f MB (VmHWM); "
                 + "the mock's CPU %.2f s (%.0f %% of one core)",
                 full.seconds, Double(count) / full.seconds, full.cpuSeconds, full.peakMegabytes, mockCPU, 100 * mockCPU / full.seconds))
    // The goal is against the floor the issue names (the store's schema kept row by row); the sync, a first load
    // into an empty store, builds its look-up indexes after the last page, so the floor built that way says what
    // the rest of the sync adds.
    print(String(format: "  sync / floor: %.2f (the bare tables' floor: %.2f; the first-load floor: %.2f)",
                 full.seconds / floor, full.seconds / bareFloor, full.seconds / firstLoadFloor))
    goals.check(full.seconds / floor <= 1.25, String(format: "full sync / storing floor %.2f, at most 1.25", full.seconds / floor))

    var peaks = [(count, full.peakMegabytes)]
    if count > memoryReferenceContracts {
        let reference = try SyncTarget.start(contracts: memoryReferenceContracts)
        defer { reference.stop() }
        let run = try sync(with: adapter, endpoint: reference.endpoint, into: reference.database)
        print(String(format: "  full sync of %d contracts (own mock): %.2f s, peak memory %.1f MB", memoryReferenceContracts, run.seconds,
                     run.peakMegabytes))
        peaks.insert((memoryReferenceContracts, run.peakMegabytes), at: 0)
    }
    for (contracts, peak) in peaks {
        goals.check(peak < 32, String(format: "sync peak memory at %d contracts %.1f MB, under 32 MB", contracts, peak))
    }
    if let smallest = peaks.first, let largest = peaks.last, largest.0 > smallest.0 {
        let growth = largest.1 / smallest.1
        goals.check(growth <= 1.1, String(format: "sync peak memory at %d / at %d contracts %.2f, at most 1.10 (flat)", largest.0, smallest.0, growth))
    } else {
        print("  (the memory at \(memoryReferenceContracts) contracts beside it needs BENCH_STORING_CONTRACTS above \(memoryReferenceContracts))")
    }
    return full
}

/// 1 % of the contracts changed in the mock (its admin API's advance-day), then `sync contracts`
/// again, which runs the incremental query from the last run's checkpoint.
func incrementalBenchmark(_ target: SyncTarget, fullSyncDone: Bool) throws {
    let adapter = adapters[adapters.count - 1]
    if !fullSyncDone { _ = try sync(with: adapter, endpoint: target.endpoint, into: target.database) }
    let changes = max(1, target.contracts / 100)
    guard let port = URLComponents(string: target.endpoint)?.port else { fatalError("no port in \(target.endpoint)") }
    let admin = try LoopbackHTTP(port: UInt16(port)).send("POST", "/admin/advance-day", body: Array("{\"changes\": \(changes)}".utf8),
                                                          contentType: "application/json")
    precondition(admin.status == 200, "the mock's advance-day answered \(admin.status): \(admin.text)")
    print("incremental: \(changes) of \(target.contracts) contracts changed in the mock (a day of business), then `sync contracts` "
          + "from the full sync's checkpoint")
    let mockBefore = target.mockCPUSeconds
    let run = try sync(with: adapter, endpoint: target.endpoint, into: target.database)
    let mockCPU = target.mockCPUSeconds - mockBefore
    let received = reportedCount(run.report, line: "contracts received:")
    let written = reportedCount(run.report, line: "new or changed:")
    precondition(written == changes, "the incremental sync stored \(written) changed contracts, not the \(changes) changed:\n\(run.report)")
    print(String(format: "  %.2f s (%d contracts received, %d stored), %.2f s of CPU in the sync process, peak memory %.1f MB (VmHWM); "
                 + "the mock's CPU %.2f s", run.seconds, received, written, run.cpuSeconds, run.peakMegabytes, mockCPU))
}

/// The number after `line` in a job's summary.
func reportedCount(_ report: String, line: String) -> Int {
    guard let found = report.split(separator: "\n").first(where: { $0.contains(line) }),
          let number = found.split(separator: ":").dropFirst().first?.split(separator: " ").first.flatMap({ Int($0) }) else {
        fatalError("no '\(line)' in the summary:\n\(report)")
    }
    return number
}
