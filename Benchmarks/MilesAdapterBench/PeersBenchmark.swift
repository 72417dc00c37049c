import CollectionsDomain
import Foundation
import MilesMapping
import MilesMock
import MilesSOAP
import MilesSync

// The adapter beside the peers a Python team would use (issue 16), in the same run, on the same mock
// subprocess and pages: zeep (bench/peers/zeep_client.py) and a hand-written lxml iterparse client
// (bench/peers/lxml_client.py), from the virtual environment `make bench` creates (BENCH_PYTHON), and
// this bench's own pull-and-decode mode (the real gateway, pages decoded and dropped). Each runs in a
// process of its own, so each peak memory is its own.

let peerContracts = Int(ProcessInfo.processInfo.environment["BENCH_PEER_CONTRACTS"] ?? "") ?? 100_000
let benchPython = ProcessInfo.processInfo.environment["BENCH_PYTHON"] ?? repository + "/.build/bench-venv/bin/python"
/// The argument that runs this executable as the adapter's pull-and-decode client instead of the benchmarks.
let pullAndDecodeArgument = "--pull-and-decode"

/// What each client prints when it finishes (bench/peers/peer_output.py), the checksums included.
struct PeerRun: Decodable {
    let client: String
    let contracts: Int
    let seconds: Double
    let contractsPerSecond: Double
    let peakRssMb: Double
    let arrearsMinorUnits: Int64
    let invoices: Int

    enum CodingKeys: String, CodingKey {
        case client, contracts, seconds, invoices
        case contractsPerSecond = "contracts_per_second"
        case peakRssMb = "peak_rss_mb"
        case arrearsMinorUnits = "arrears_minor_units"
    }

    var json: String {
        String(format: "{\"client\": \"%@\", \"contracts\": %d, \"seconds\": %.3f, \"contracts_per_second\": %.1f, \"peak_rss_mb\": %.1f, "
               + "\"arrears_minor_units\": %lld, \"invoices\": %d}", client, contracts, seconds, contractsPerSecond, peakRssMb,
               arrearsMinorUnits, invoices)
    }
}

/// `miles-adapter-bench --pull-and-decode ENDPOINT CONTRACTS`: pages of 1,000 through the adapter's
/// gateway (libcurl streaming into the SAX decoder, WS-Security PasswordDigest), read ahead as the
/// sync reads them (`ContractPageReader`, `ContractSync.pagesAhead` pages), each decoded into
/// `Contract` values and dropped; prints one JSON line as the peers do.
func pullAndDecode(endpoint: String, contracts wanted: Int) async throws {
    let gateway = MilesGateway(connection: MilesConnection(endpoint: endpoint, credentials: MilesCredentials(
        username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword)),
        mappings: try MappingSet.load(directory: mappingsDirectory))
    var received = 0
    var arrears: Int64 = 0
    var invoices = 0
    let start = ContinuousClock.now
    let reader = ContractPageReader<SOAPCallError>(depth: ContractSync.pagesAhead) { cursor, _, _, nextCursorRead in
        do throws(SOAPCallError) {
            return .success(try await gateway.findContracts(changedSince: nil, cursor: cursor, pageSize: storingPageSize,
                                                            nextCursorRead: nextCursorRead))
        } catch {
            return .failure(error)
        }
    }
    defer { reader.stop() }
    var next = await reader.first(at: nil)
    while let result = next {
        let page = try result.get()
        received += page.contracts.count
        for contract in page.contracts {
            arrears += contract.arrears.amount.minorUnits
            invoices += contract.openInvoices.count
        }
        next = received < wanted ? await reader.next(after: page) : nil
    }
    let elapsed = seconds(ContinuousClock.now - start)
    print(PeerRun(client: "miles-adapter", contracts: received, seconds: elapsed, contractsPerSecond: Double(received) / elapsed,
                  peakRssMb: Double(peakResidentKilobytes()) / 1024, arrearsMinorUnits: arrears, invoices: invoices).json)
}

/// This process's VmHWM, from /proc.
func peakResidentKilobytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { fatalError("no VmHWM in /proc/self/status") }
    return kilobytes
}

/// Runs one client to its end; its JSON line, and the CPU time the mock spent serving it.
func runPeer(_ label: String, _ executable: String, _ arguments: [String], target: SyncTarget) throws -> (run: PeerRun, mockCPU: Double) {
    let errors = FileManager.default.temporaryDirectory.appendingPathComponent("bench-peer-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errors) }
    let output = Pipe()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: repository)
    process.environment = ProcessInfo.processInfo.environment.merging([
        "MILES_USERNAME": MockMilesConfiguration.defaultUsername, "MILES_PASSWORD": MockMilesConfiguration.defaultPassword,
    ]) { $1 }
    process.standardOutput = output
    process.standardError = try FileHandle(forWritingTo: errors)
    let mockBefore = target.mockCPUSeconds
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let mockCPU = target.mockCPUSeconds - mockBefore
    guard process.terminationStatus == 0, let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
          let run = try? JSONDecoder().decode(PeerRun.self, from: Data(line.utf8)) else {
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        fatalError("the \(label) client failed (exit \(process.terminationStatus)):\n\(text)\n\(stderr.suffix(3_000))")
    }
    return (run, mockCPU)
}

/// The three clients one after the other over the same `peerContracts` contracts; their rates,
/// memory and the ratios against the goals. `fullSync`, when the storing benchmark ran, gives the
/// ratio of the whole sync (storing included) to zeep's pull and decode.
func peersBenchmark(_ target: SyncTarget, fullSync: ChildRun?) throws {
    guard FileManager.default.isExecutableFile(atPath: benchPython) else {
        fatalError("no Python for the peers at \(benchPython): `make bench` creates .build/bench-venv from bench/peers/requirements.txt "
                   + "(or set BENCH_PYTHON to a Python with those packages)")
    }
    let count = min(peerContracts, target.contracts)
    let peers = repository + "/bench/peers/"
    let clientArguments = ["--endpoint", target.endpoint, "--contracts", String(count), "--page-size", String(storingPageSize)]
    print("peers: FindContracts pages of \(storingPageSize) from the same miles-mock subprocess (\(target.contracts) contracts), "
          + "\(count) contracts each, WS-Security PasswordDigest, each contract decoded into plain values and dropped")
    let pullAndDecodeArguments = [pullAndDecodeArgument, target.endpoint, String(count)]
    // A first pass, not counted, has the mock render and keep the pages (up to its cache's bound), so
    // no client pays for rendering that the others are spared.
    let warmUp = try runPeer("pull-and-decode", binDirectory + "/miles-adapter-bench", pullAndDecodeArguments, target: target)
    print(String(format: "  (a first pass to fill the mock's page cache: the mock's CPU %.2f s)", warmUp.mockCPU))
    let ours = try runPeer("pull-and-decode", binDirectory + "/miles-adapter-bench", pullAndDecodeArguments, target: target)
    let lxml = try runPeer("lxml", benchPython, [peers + "lxml_client.py"] + clientArguments, target: target)
    let zeep = try runPeer("zeep", benchPython, [peers + "zeep_client.py", "--wsdl", mappingsDirectory + "/wsdl/miles-collections.wsdl"]
                           + clientArguments, target: target)
    for (name, result) in [("miles-adapter pull+decode", ours), ("lxml iterparse (by hand)", lxml), ("zeep", zeep)] {
        print(String(format: "  %@ %8.0f contracts/s  %7.2f s  peak memory %6.1f MB  the mock's CPU %.2f s (%.0f %% of one core)",
                     name.padding(toLength: 26, withPad: " ", startingAt: 0), result.run.contractsPerSecond, result.run.seconds,
                     result.run.peakRssMb, result.mockCPU, 100 * result.mockCPU / result.run.seconds))
    }
    // The same contracts, decoded alike: the checksums of all three agree, or a client read something else.
    for peer in [lxml.run, zeep.run] {
        precondition(peer.contracts == ours.run.contracts && peer.arrearsMinorUnits == ours.run.arrearsMinorUnits
                     && peer.invoices == ours.run.invoices,
                     "the \(peer.client) client read other contracts than the adapter:\n  \(peer.json)\n  \(ours.run.json)")
    }
    let overZeep = ours.run.contractsPerSecond / zeep.run.contractsPerSecond
    let overLxml = ours.run.contractsPerSecond / lxml.run.contractsPerSecond
    print(String(format: "  pull+decode / zeep %.1f, / lxml %.1f; peak memory / zeep %.2f, / lxml %.2f", overZeep, overLxml,
                 ours.run.peakRssMb / zeep.run.peakRssMb, ours.run.peakRssMb / lxml.run.peakRssMb))
    goals.check(overZeep >= 50, String(format: "pull+decode / zeep %.1f, at least 50", overZeep))
    goals.check(overLxml >= 5, String(format: "pull+decode / lxml %.1f, at least 5", overLxml))
    if let fullSync {
        let syncOverZeep = Double(target.contracts) / fullSync.seconds / zeep.run.contractsPerSecond
        goals.check(syncOverZeep >= 15, String(format: "full sync with storing / zeep's pull+decode %.1f, at least 15", syncOverZeep))
    } else {
        print("  (the full sync's ratio to zeep needs the storing benchmark in the same run)")
    }
}
