import Foundation
import MilesMock
import Testing

/// The README's first hour, run as written: every command of the blocks marked `<!-- first-hour -->`,
/// in order, from a scratch folder outside the repository, against a mock started as the README
/// starts it (200 contracts, the default seed). `export` lines set the environment (the endpoint and
/// the mappings folder are this machine's); a comment `exits N` or `prints "…"` is checked.
@Suite("The README, executed (issue 12)", .serialized, .timeLimit(.minutes(3)))
struct ReadmeTests {
    struct Step {
        let command: String
        let exit: Int32
        let prints: [String]
    }

    static func steps(of readme: String) -> [Step] {
        readme.matches(of: /<!-- first-hour -->\n```sh\n((?:.|\n)*?)```/).flatMap { block in
            block.1.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { line in
                let comment = line.firstRange(of: "  # ").map { String(line[$0.upperBound...]) } ?? ""
                let exit = comment.firstMatch(of: /exits (\d)/).flatMap { Int32($0.1) } ?? 0
                return Step(command: line, exit: exit, prints: comment.matches(of: /prints "([^"]+)"/).map { String($0.1) })
            }
        }
    }

    @Test("every first-hour command in the README runs as written, with the exit code and output it says")
    func firstHour() async throws {
        let readme = try String(contentsOfFile: repositoryMappings + "/../README.md", encoding: .utf8)
        let steps = Self.steps(of: readme)
        #expect(steps.count >= 25, "the README's first hour has \(steps.count) commands")
        let server = try await MockMilesServer.start(configuration: MockMilesConfiguration(
            contractCount: 200, seed: 42, contractDirectory: repositoryMappings + "/wsdl"))
        let scratch = temporaryDirectory("readme")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let binaries = AdapterProcess.executable.deletingLastPathComponent().path
        // A new user's shell: no MILES_ADAPTER_* settings from the test run.
        var environment = ["PATH": binaries + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "HOME": scratch]
        do {
            for step in steps {
                if let export = step.command.wholeMatch(of: /export (\w+)=(\S+)(?:\s+#.*)?/) {
                    switch export.1 {
                    case "MILES_ADAPTER_ENDPOINT": environment[String(export.1)] = server.endpoint
                    case "MILES_ADAPTER_MAPPINGS": environment[String(export.1)] = repositoryMappings
                    default: environment[String(export.1)] = String(export.2)
                    }
                    continue
                }
                let run = try await runAdapterSeparately(["-c", step.command], environment: environment,
                                                         executable: URL(fileURLWithPath: "/bin/bash"), separately: false, in: scratch,
                                                         inheritingEnvironment: false)
                #expect(run.status == step.exit, "README: \(step.command)\n\(run.output)")
                for text in step.prints {
                    #expect(run.output.contains(text), "README: \(step.command) should print \"\(text)\"\n\(run.output)")
                }
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
