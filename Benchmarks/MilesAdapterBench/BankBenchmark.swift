import CollectionsDomain
import Foundation
import MilesMapping
import MilesMock

/// Entries in each statement of the bank benchmark (issue 17: 1,000,000, against as many contracts).
let bankEntries = Int(ProcessInfo.processInfo.environment["BENCH_BANK_ENTRIES"] ?? "") ?? 1_000_000

/// Issue 17: a statement of `bankEntries` payments in, each quoting a contract of the synced book, in
/// camt.053 and in MT940. Each is parsed alone in this process (the reader, entries/s), then imported
/// and matched by a `miles-adapter bank import` subprocess into its own copy of the synced store, twice
/// (entries/s of the faster, the higher peak memory beside what `miles-adapter --help` holds at start).
func bankBenchmark(_ target: SyncTarget, synced: Bool) throws {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("bench-bank-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    if !synced { _ = try sync(with: adapters[adapters.count - 1], endpoint: target.endpoint, into: target.database) }
    // The bench's payments quote only the contract number: at the shipped threshold (80) they would all
    // wait for a person. At 70 the contract number alone allocates, so the allocation path (the outbox
    // included) is what is measured.
    let mappings = work + "/mappings"
    try FileManager.default.copyItem(atPath: mappingsDirectory, toPath: mappings)
    let rules = mappings + "/bank/northern-example-bank.yaml"
    let shipped = try String(contentsOfFile: rules, encoding: .utf8)
    let lowered = shipped.replacingOccurrences(of: "\nallocateAt: 80", with: "\nallocateAt: 70")
    precondition(lowered != shipped, "\(rules) no longer says 'allocateAt: 80': the bench would measure only entries to check")
    try lowered.write(toFile: rules, atomically: true, encoding: .utf8)
    let startMegabytes = try helpPeakMegabytes(binDirectory + "/miles-adapter")
    print("bank: statements of \(bankEntries) payments in against \(target.contracts) synced contracts; "
          + String(format: "miles-adapter holds %.1f MB at start (--help)", startMegabytes))
    for format in [BankStatementFormat.camt053, .mt940] {
        let file = work + "/statement." + (format == .camt053 ? "xml" : "sta")
        let contracts = target.contracts
        // Payments quoting contracts spread over the whole book (C00000001 …), as a day's payments would.
        try MockBankStatement(statementId: "BENCH-1", date: "2026-12-01", count: bankEntries) { index in
            MockBankStatement.Payment(minorUnits: Int64(1_000 + index % 5_000),
                                      remittance: "C" + String(format: "%08d", (index &* 7_919) % contracts + 1) + " instalment",
                                      reference: "E\(index)", payer: "A Payer")
        }.write(format, toFile: file)
        var counter = EntryCounter()
        let parseSeconds = try best(1) { try BankStatementReader(format: format).read(fileAt: file, into: &counter) }
        precondition(counter.entries == bankEntries, "read \(counter.entries) of \(bankEntries) entries")
        let parseRate = Double(bankEntries) / parseSeconds
        // The faster of two imports, as the syncs are measured (the machine is shared and drifts); the
        // memory goal is held to the higher of the two peaks.
        let runs = try (0..<2).map { _ in try bankImport(file, into: target.database, mappings: mappings, work: work) }
        let run = runs.min { $0.seconds < $1.seconds }!
        let importRate = Double(bankEntries) / run.seconds
        let beyondStart = runs.map(\.peakMegabytes).max()! - startMegabytes
        print("  \(format.rawValue):")
        print(String(format: "    parse only:        %9.0f entries/s (%.2f s)", parseRate, parseSeconds))
        print(String(format: "    import and match:  %9.0f entries/s (best of %@ s; %.2f s of CPU), peak memory %.0f MB (%.0f MB beyond the start); "
                     + "ratio import / parse %.1f %%", importRate, runs.map { String(format: "%.2f", $0.seconds) }.joined(separator: " and "),
                     run.cpuSeconds, beyondStart + startMegabytes, beyondStart, 100 * parseSeconds / run.seconds))
        print("    \(run.report)")
        goals.check(parseRate >= 100_000, String(format: "%@ parsed at %.0f entries/s (goal: at least 100,000/s, issue 17)",
                                                 format.rawValue, parseRate))
        goals.check(importRate >= 20_000, String(format: "%@ matched and stored at %.0f entries/s (goal: at least 20,000/s, issue 17)",
                                                  format.rawValue, importRate))
        goals.check(beyondStart < 64, String(format: "%@ import peaks %.0f MB beyond the start (goal: under 64 MB, issue 17)",
                                              format.rawValue, beyondStart))
        try FileManager.default.removeItem(atPath: file)
    }
}

/// One `miles-adapter bank import` of `file` into a copy of the synced store at `database`; its report is the counts line.
private func bankImport(_ file: String, into database: String, mappings: String, work: String) throws -> ChildRun {
    let copy = work + "/store.sqlite"
    for suffix in ["", "-wal", "-shm"] {
        try? FileManager.default.removeItem(atPath: copy + suffix)
        if FileManager.default.fileExists(atPath: database + suffix) { try FileManager.default.copyItem(atPath: database + suffix, toPath: copy + suffix) }
    }
    defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: copy + suffix) } }
    let cpuBefore = childrenCPUSeconds()
    let start = ContinuousClock.now
    let output = Pipe()
    let process = try launch("miles-adapter", ["bank", "import", file, "--log-level", "warning"], environment: [
        "MILES_ADAPTER_DATABASE": copy, "MILES_ADAPTER_MAPPINGS": mappings, "MILES_ADAPTER_STATEMENTS": work + "/kept",
    ], output: output)
    let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let elapsed = seconds(ContinuousClock.now - start)
    precondition(process.terminationStatus == 0, "bank import failed with exit code \(process.terminationStatus):\n\(report)")
    // Every entry decided this run: none was stored before, and the counts add up to the statement.
    guard let counts = report.split(separator: "\n").first(where: { $0.contains(" allocated, ") }) else { fatalError("no counts in:\n\(report)") }
    let numbers = counts.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .punctuationCharacters)) }
    precondition(numbers.count == 6 && numbers.dropLast().reduce(0, +) == bankEntries && numbers.last == 0, "the import decided \(counts)")
    try? FileManager.default.removeItem(atPath: work + "/kept")
    return ChildRun(seconds: elapsed, cpuSeconds: childrenCPUSeconds() - cpuBefore, peakMegabytes: reportedPeakMegabytes(report, job: "bank import"),
                    report: String(counts))
}

/// Counts entries, holding none.
private struct EntryCounter: BankStatementVisitor {
    var entries = 0
    mutating func beginStatement(_ header: BankStatementHeader) throws {}
    mutating func entry(_ entry: BankEntry) throws { entries += 1 }
    mutating func endStatement(closing: BankBalance) throws {}
}
