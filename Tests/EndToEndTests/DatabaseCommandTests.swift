import Foundation
import Testing

/// `miles-adapter db status` / `db migrate`, on an SQLite file and a PostgreSQL database (issue 15).
@Suite("db status and db migrate", .serialized, .timeLimit(.minutes(2)))
struct DatabaseCommandTests {
    func migrateAndReport(_ database: String, environment: [String: String] = [:]) async throws {
        let settings = ["MILES_ADAPTER_DATABASE": database].merging(environment) { $1 }
        let before = try await runAdapter(["db", "status"], environment: settings)
        #expect(before.status == 0, "\(before.output)")
        #expect(before.output.contains("pending  v1: "))
        #expect(!before.output.contains("applied  "))
        let migrated = try await runAdapter(["db", "migrate"], environment: settings)
        #expect(migrated.status == 0, "\(migrated.output)")
        let count = before.output.split(separator: "\n").filter { $0.hasPrefix("pending  ") }.count
        #expect(migrated.output.contains("applied \(count) migration"))
        let after = try await runAdapter(["db", "status"], environment: settings)
        #expect(after.output.contains("the store is up to date"))
        #expect(after.output.split(separator: "\n").filter { $0.hasPrefix("applied  ") }.count == count)
        let again = try await runAdapter(["db", "migrate"], environment: settings)
        #expect(again.output.contains("applied 0 migrations"))
    }

    @Test("an SQLite store: every migration pending, then applied once")
    func sqlite() async throws {
        let folder = temporaryDirectory("db-command")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await migrateAndReport(folder + "/collections.sqlite")
        // A URL that holds a password and cannot be read is named without it.
        let garbled = try await runAdapter(["db", "status"], environment: ["MILES_ADAPTER_DATABASE": "postgres://adapter:pa/ss@db/x"])
        #expect(garbled.status == 5)
        #expect(garbled.output.contains("postgres://adapter:***@db/x"))
        #expect(!garbled.output.contains("pa/ss"))
    }

    @Test("a PostgreSQL store: every migration pending, then applied once; a URL with a password or a database that does not exist is refused; the other commands serve it",
          .enabled(if: ProcessInfo.processInfo.environment["MILES_TEST_POSTGRES_URL"] != nil))
    func postgres() async throws {
        let server = try #require(ProcessInfo.processInfo.environment["MILES_TEST_POSTGRES_URL"])
        let name = "db_command_\(UUID().uuidString.prefix(8).lowercased())"
        #expect(try await runProgram("/usr/bin/psql", [server, "-q", "-c", "CREATE DATABASE \(name)"]) == 0)
        let url = server.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
        try await migrateAndReport(url)

        let withPassword = try await runAdapter(["db", "status"], environment: ["MILES_ADAPTER_DATABASE": url.replacingOccurrences(of: "postgres@", with: "postgres:secret@")])
        #expect(withPassword.status == 5)
        #expect(withPassword.output.contains("MILES_ADAPTER_DATABASE_PASSWORD"))
        #expect(!withPassword.output.contains("secret@"))
        // The other commands serve the PostgreSQL store as they do SQLite's.
        let outbox = try await runAdapter(["outbox", "list"], environment: ["MILES_ADAPTER_DATABASE": url])
        #expect(outbox.status == 0, "\(outbox.output)")
        #expect(outbox.output.contains("the outbox has no entries"))
        let unreachable = try await runAdapter(["outbox", "list"], environment: [
            "MILES_ADAPTER_DATABASE": url.replacingOccurrences(of: "/\(name)?", with: "/no_such_database?")])
        #expect(unreachable.status == 5)
        #expect(unreachable.output.contains("cannot open the PostgreSQL store at postgres://postgres@"), "\(unreachable.output)")
        #expect(unreachable.output.contains("database \"no_such_database\" does not exist"), "\(unreachable.output)")
        #expect(try await runProgram("/usr/bin/psql", [server, "-q", "-c", "DROP DATABASE \(name) WITH (FORCE)"]) == 0)
    }

    /// Runs a program to its end; its exit status.
    func runProgram(_ path: String, _ arguments: [String]) async throws -> Int32 {
        try await runAdapterSeparately(arguments, environment: [:], executable: URL(fileURLWithPath: path)).status
    }
}
