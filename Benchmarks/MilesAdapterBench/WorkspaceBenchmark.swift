import CollectionsDomain
import CollectionsStoreSQLite
import Foundation
import MilesMapping
import MilesSync

// The workspace under its people: a store synced from a miles-mock subprocess by `miles-adapter sync`,
// served by a `miles-adapter serve` subprocess, and 20 signed-in users on loopback, each a thread
// with its own kept-alive connection asking for the next page as soon as the last one arrived
// (a closed loop with no think time: harder than people are). The baseline of the ratios is
// /healthz, the cheapest answer the same server gives, measured under the same load in the same run.

let workspaceContracts = Int(ProcessInfo.processInfo.environment["BENCH_WORKSPACE_CONTRACTS"] ?? "") ?? 1_000_000
let workspaceUsers = Int(ProcessInfo.processInfo.environment["BENCH_WORKSPACE_USERS"] ?? "") ?? 20
/// Requests each user makes of each kind (dashboard, search) in the measured phase.
let workspaceRequests = Int(ProcessInfo.processInfo.environment["BENCH_WORKSPACE_REQUESTS"] ?? "") ?? 150

/// What one user collects: the latency of each request, by kind.
final class LatencyLog: @unchecked Sendable {
    // @unchecked: `samples` is only touched with `lock` held.
    private let lock = NSLock()
    private var samples: [String: [Double]] = [:]

    func add(_ kind: String, _ seconds: Double) {
        lock.lock()
        samples[kind, default: []].append(seconds)
        lock.unlock()
    }

    func sorted(_ kind: String) -> [Double] {
        lock.lock()
        defer { lock.unlock() }
        return (samples[kind] ?? []).sorted()
    }
}

/// A virtual user's connection, handed to its own thread and used only there.
final class VirtualUser: @unchecked Sendable {
    let connection: LoopbackHTTP
    let queries: [SearchQuery]

    init(connection: LoopbackHTTP, queries: [SearchQuery]) {
        self.connection = connection
        self.queries = queries
    }
}

/// Runs `body` for every user on a thread of its own, all at once; returns when all have finished.
func runConcurrently(_ users: [VirtualUser], _ body: @escaping @Sendable (Int, VirtualUser) throws -> Void) async throws {
    let failure = LockedText()
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        let remaining = LockedCount(users.count, whenZero: { done.resume() })
        for (index, user) in users.enumerated() {
            Thread {
                do { try body(index, user) } catch { failure.set("\(error)") }
                remaining.decrement()
            }.start()
        }
    }
    if let text = failure.text { throw LoopbackHTTP.Failure(description: "a virtual user failed: \(text)") }
}

final class LockedCount: @unchecked Sendable {
    // @unchecked: `count` is only touched with `lock` held.
    private let lock = NSLock()
    private var count: Int
    private let whenZero: @Sendable () -> Void

    init(_ count: Int, whenZero: @escaping @Sendable () -> Void) {
        self.count = count
        self.whenZero = whenZero
    }

    func decrement() {
        lock.lock()
        count -= 1
        let finished = count == 0
        lock.unlock()
        if finished { whenZero() }
    }
}

final class LockedText: @unchecked Sendable {
    // @unchecked: `value` is only touched with `lock` held.
    private let lock = NSLock()
    private var value: String?

    func set(_ text: String) {
        lock.lock()
        value = value ?? text
        lock.unlock()
    }

    var text: String? {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}

/// Times one request and checks it answered what a person would see.
func timed(_ log: LatencyLog, _ kind: String, _ request: () throws -> LoopbackHTTP.Response, expecting marker: String) throws {
    try timed(log, kind, request, passes: { $0.contains(marker) }, what: "'\(marker)'")
}

func timed(_ log: LatencyLog, _ kind: String, _ request: () throws -> LoopbackHTTP.Response, passes check: (String) -> Bool,
           what: String) throws {
    let start = ContinuousClock.now
    let response = try request()
    log.add(kind, seconds(ContinuousClock.now - start))
    guard response.status == 200, check(response.text) else {
        throw LoopbackHTTP.Failure(description: "\(kind) answered \(response.status) without \(what): \(response.text.prefix(300))")
    }
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))]
}

/// Signs `connection` in as `name` through the sign-in form, as a browser would.
func signIn(_ connection: LoopbackHTTP, _ name: String, _ password: String) throws {
    let form = try connection.get("/workspace/sign-in")
    guard let csrf = form.text.firstMatch(of: /name="csrf" value="([0-9a-f]+)"/)?.1 else {
        throw LoopbackHTTP.Failure(description: "no CSRF token on the sign-in page (\(form.status))")
    }
    let answer = try connection.postForm("/workspace/sign-in", [("name", name), ("password", password), ("csrf", String(csrf))])
    guard answer.status == 303, answer.header("location").first == "/workspace" else {
        throw LoopbackHTTP.Failure(description: "signing in \(name) answered \(answer.status) \(answer.header("location"))")
    }
}

/// A search an agent types, and what its page must show for the answer to count.
struct SearchQuery: Sendable {
    let text: String
    /// A contract the results must link to, when the query names one.
    let mustList: String?
    /// Whether at least one contract must be found.
    let mustFind: Bool

    func check(_ page: String) -> Bool {
        guard page.contains("id=\"found\">") else { return false }
        if let mustList, !page.contains("/workspace/contracts/\(mustList)\"") { return false }
        return !mustFind || !page.contains("id=\"found\">0 found")
    }
}

/// What agents type into the search box, from contracts in the store: a whole contract number, the
/// first characters of one, a postcode, a surname, a whole name; and the searches that cost most or
/// find nothing: the digits of a number without its letter, one letter (names are looked up from
/// two), a name nobody has.
func searchQueries(_ store: SQLiteStore, count: Int) async throws -> [SearchQuery] {
    var random = SystemRandomNumberGenerator()
    var queries: [SearchQuery] = []
    while queries.count < count {
        let number = String(format: "C%08d", Int.random(in: 1...workspaceContracts, using: &random))
        guard let contract = try await store.contract(number: number) else { continue }
        let name = contract.customer.name.split(separator: " ")
        switch queries.count % 8 {
        case 0: queries.append(SearchQuery(text: number, mustList: number, mustFind: true))
        case 1: queries.append(SearchQuery(text: String(number.prefix(6)), mustList: nil, mustFind: true))
        case 2: queries.append(SearchQuery(text: contract.customer.address.postcode, mustList: nil, mustFind: true))
        case 3: queries.append(SearchQuery(text: String(name.last(where: { $0.contains(where: \.isLetter) }) ?? "Smith"), mustList: nil, mustFind: true))
        case 4: queries.append(SearchQuery(text: contract.customer.name, mustList: nil, mustFind: true))
        case 5: queries.append(SearchQuery(text: String(number.dropFirst(3)), mustList: nil, mustFind: false))
        case 6: queries.append(SearchQuery(text: String(contract.customer.name.first(where: \.isLetter) ?? "S"), mustList: nil, mustFind: false))
        default: queries.append(SearchQuery(text: "Qwxzv", mustList: nil, mustFind: false))
        }
    }
    return queries
}

func workspaceBenchmark() async throws {
    print("workspace: dashboard and contract search over \(workspaceContracts) synced contracts, \(workspaceUsers) signed-in users "
          + "on loopback, each asking again as soon as answered (release build, serve and the load generator on the same 2 cores)")
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-workspace-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let database = folder + "/store.sqlite"

    let (mock, endpoint) = try startMock(contracts: workspaceContracts)
    let synced = try sync(with: adapters[adapters.count - 1], endpoint: endpoint, into: database)
    mock.terminate()
    mock.waitUntilExit()
    print(String(format: "  sync of the store: %.1f s (%.0f contracts/s, mock included), peak memory %.0f MB",
                 synced.seconds, Double(workspaceContracts) / synced.seconds, synced.peakMegabytes))

    let store = try SQLiteStore(path: database)
    let people = PeopleDesk(store: store, mappings: try MappingSet.load(directory: mappingsDirectory), cost: 4)
    let password = "bench-password-\(UUID().uuidString.prefix(8))"
    _ = try await people.addUser(name: "bench-admin", displayName: nil, role: "headOfCredit", password: password, by: nil)
    let admin = try await people.authenticate(name: "bench-admin", password: password)
    let names = (1...workspaceUsers).map { String(format: "agent%02d", $0) }
    for name in names { _ = try await people.addUser(name: name, displayName: nil, role: "agent", password: password, by: admin) }
    let queries = try await searchQueries(store, count: 500)

    let output = Pipe()
    let port = try LoopbackHTTP.freePort()
    let serve = try launch("miles-adapter", ["serve", "--log-level", "warning"], environment: [
        "MILES_ADAPTER_DATABASE": database, "MILES_ADAPTER_MAPPINGS": mappingsDirectory, "MILES_ADAPTER_API_PORT": String(port),
    ], output: output)
    defer { serve.terminate(); serve.waitUntilExit() }
    _ = listeningAddress(of: serve, output)

    let first = LoopbackHTTP(port: port)
    try signIn(first, names[0], password)
    let cold = LatencyLog()
    try timed(cold, "dashboard", { try first.get("/workspace") }, expecting: "Aged debt as of")
    try timed(cold, "dashboard", { try first.get("/workspace") }, expecting: "Aged debt as of")
    let coldTimes = cold.sorted("dashboard")
    print(String(format: "  first dashboard after start: %.2f s (it waits for the aged debt of every open invoice, which serve "
                 + "computes when it starts and keeps until a sync writes a contract); the next: %.1f ms",
                 coldTimes.last ?? .nan, 1000 * (coldTimes.first ?? .nan)))

    for group in ["contracts", "customers"] {
        let log = LatencyLog()
        for _ in 0..<2 { try timed(log, group, { try first.get("/workspace/aged-debt/" + group) }, expecting: "Aged debt by") }
        let times = log.sorted(group)
        print(String(format: "  aged debt by %@ (the 200 largest): first %.2f s (one pass over the invoices, then kept like the aged debt); "
                     + "the next: %.1f ms", group, times.last ?? .nan, 1000 * (times.first ?? .nan)))
    }

    var users: [VirtualUser] = []
    for (index, name) in names.enumerated() {
        let connection = index == 0 ? first : LoopbackHTTP(port: port)
        if index > 0 { try signIn(connection, name, password) }
        users.append(VirtualUser(connection: connection, queries: queries.shuffled()))
    }

    let log = LatencyLog()
    let requests = workspaceRequests
    let floorStart = ContinuousClock.now
    try await runConcurrently(users) { _, user in
        for _ in 0..<requests { try timed(log, "healthz", { try user.connection.get("/healthz") }, expecting: "ok") }
    }
    let floorSeconds = seconds(ContinuousClock.now - floorStart)
    let measuredStart = ContinuousClock.now
    try await runConcurrently(users) { index, user in
        for round in 0..<requests {
            // Half the users start with the dashboard, half with a search, so both are always in flight.
            let dashboardFirst = (index + round) % 2 == 0
            for kind in dashboardFirst ? ["dashboard", "search"] : ["search", "dashboard"] {
                if kind == "dashboard" {
                    try timed(log, kind, { try user.connection.get("/workspace") }, expecting: "Aged debt as of")
                } else {
                    let query = user.queries[round % user.queries.count]
                    let text = query.text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                    try timed(log, kind, { try user.connection.get("/workspace/contracts?q=" + text) }, passes: query.check,
                              what: "the results for '\(query.text)'")
                }
            }
        }
    }
    let measuredSeconds = seconds(ContinuousClock.now - measuredStart)

    let floor = log.sorted("healthz")
    print(String(format: "  baseline /healthz: %d requests in %.1f s; median %.2f ms, p99 %.2f ms",
                 floor.count, floorSeconds, 1000 * percentile(floor, 0.5), 1000 * percentile(floor, 0.99)))
    print(String(format: "  dashboard and search together: %d requests in %.1f s (%.0f requests/s)",
                 2 * workspaceUsers * requests, measuredSeconds, Double(2 * workspaceUsers * requests) / measuredSeconds))
    for kind in ["dashboard", "search"] {
        let times = log.sorted(kind)
        print(String(format: "  %@: %d requests; median %.1f ms, p99 %.1f ms, max %.1f ms (goal: p99 under 200 ms); "
                     + "p99 / baseline p99 %.1f", kind, times.count, 1000 * percentile(times, 0.5), 1000 * percentile(times, 0.99),
                     1000 * (times.last ?? .nan), percentile(times, 0.99) / percentile(floor, 0.99)))
    }
}
