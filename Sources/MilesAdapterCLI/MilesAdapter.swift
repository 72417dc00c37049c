import ArgumentParser
import Foundation
import Logging
import MilesSync
import Synchronization

/// `miles-adapter`: the MILES collections adapter's command line.
@main
struct MilesAdapter: AsyncParsableCommand {
    /// Runs the command, with command-line mistakes exiting 2 as documented (ArgumentParser's own
    /// code for them is 64).
    static func main() async {
        if CommandLine.arguments.dropFirst() == ["--version"] {
            print(await AdapterVersion.describe())
            Foundation.exit(0)
        }
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code.isSuccess {
                if !message.isEmpty { print(message) }
                Foundation.exit(code.rawValue)
            }
            if !message.isEmpty { printError(message) }
            Foundation.exit(code == .validationFailure ? CommandFailure.Code.usage.rawValue : code.rawValue)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "miles-adapter",
        abstract: "Sync contracts from MILES, and action write-offs into it, for the collections team.",
        discussion: """
            Configuration comes from miles-adapter.yaml (or --config) and MILES_ADAPTER_* environment variables.
            The MILES password is read only from MILES_ADAPTER_PASSWORD or MILES_ADAPTER_PASSWORD_FILE.

            'miles-adapter --version' prints the version and the MILES contract the mappings pin.

            Exit codes:
            \(CommandFailure.Code.table)
            """,
        subcommands: [DatabaseCommand.self, SyncCommand.self, ContractCommand.self, PlacementCommand.self, IngestCommand.self, BankCommand.self, ServeCommand.self, WriteOffCommand.self, CreditCommand.self, ArrangementCommand.self, PushCommand.self, OutboxCommand.self, AuditCommand.self,
                      MappingsCommand.self, ReportCommand.self, RiskCommand.self, UsersCommand.self])
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file (default: miles-adapter.yaml if present).")
    var config: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log format: text, or json (one object per line, for a log collector; the same redaction).")
    var logFormat: LogFormat = .text

    @Flag(name: .long, help: "Show customers' personal data in the log, for a debugging session (the switch itself is logged). Secrets stay hidden.")
    var logPersonalData = false

    /// A logger whose output never holds `secrets`, and masks personal data unless --log-personal-data.
    func makeLogger(_ label: String, secrets: [String]) -> Logger {
        let policy = RedactionPolicy(logPersonalData: logPersonalData, secrets: secrets)
        let json = logFormat == .json
        var logger = Logger(label: label) {
            RedactingLogHandler(inner: json ? JSONLogHandler(label: $0) : StreamLogHandler.standardError(label: $0), policy: policy)
        }
        logger.logLevel = logLevel
        if logPersonalData {
            logger.notice("personal data logging is ON for this session (--log-personal-data)", metadata: [
                "user": "\(ProcessInfo.processInfo.environment["MILES_ADAPTER_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "unknown")"])
        }
        return logger
    }

    func loadConfiguration() async throws -> AdapterConfiguration {
        do {
            return try await AdapterConfiguration.load(path: config)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .configuration)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// How the log is written on standard error.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// A failure the CLI reports as one clear line and a documented exit code.
struct CommandFailure: Error, CustomStringConvertible {
    /// The documented exit codes (`Output/ExitCodes.swift` says what each means).
    enum Code: Int32, CaseIterable {
        case success = 0
        case failed = 1
        case usage = 2
        case authentication = 3
        case mappings = 4
        case configuration = 5
        case partly = 6
        case identity = 7
    }

    let message: String
    let exitCode: Code
    var description: String { message }

    /// A drop-folder look (`watch --once`, for a scheduler) that refused files: the run failed when it
    /// refused every file it took, and was partly done when it imported some; nil when none was refused.
    static func filesRefused(_ refused: Int, of taken: Int, in folder: String) -> CommandFailure? {
        guard refused > 0 else { return nil }
        return CommandFailure(message: "\(refused) of \(taken) files taken from \(folder) were refused (each moved to a failed/ folder with NAME.report.txt)",
                              exitCode: refused == taken ? .failed : .partly)
    }
}

extension AsyncParsableCommand {
    /// Runs `body`, printing a `CommandFailure`, or one of the adapter's typed errors, as `error: …`
    /// and exiting with its documented code.
    func reportingFailures(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let failure as CommandFailure {
            printError("error: \(failure.message)")
            throw ExitCode(failure.exitCode.rawValue)
        } catch {
            guard let failure = CommandFailure(error) else { throw error }
            printError("error: \(failure.message)")
            throw ExitCode(failure.exitCode.rawValue)
        }
    }
}

/// Prints a line on standard error through the same redaction as the log: an agent's value quoted
/// in a refusal or an error can carry an e-mail address, a phone number or a secret.
func printError(_ text: String) {
    var standardError = StandardError()
    print(Terminal.scrub(text), to: &standardError)
}

/// What the terminal may show: personal data masked until a command's options say otherwise
/// (`CommandSession` sets it from --log-personal-data and the configured secrets).
enum Terminal {
    private static let redaction = Mutex(RedactionPolicy(logPersonalData: false, secrets: []))

    static func redact(_ policy: RedactionPolicy) {
        redaction.withLock { $0 = policy }
    }

    static func scrub(_ text: String) -> String {
        redaction.withLock { $0.scrub(text) }
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
