import ArgumentParser
import Foundation

/// Runs `miles-adapter` as its own process with the demo's configuration, showing what it prints.
struct AdapterRunner {
    let executable: String
    let configuration: String
    /// Options every command gets (the log level).
    let options: [String]
    /// The mock's password, handed over in the environment as an operator would (never a flag).
    let password: String

    /// Runs one command, as the person whose personal `token` is given and with `input` on its
    /// standard input, and returns its standard output; a failure stops the demo unless `allowFailure`.
    @discardableResult
    func callAsFunction(_ arguments: [String], token: String? = nil, input: String? = nil, shown: Bool = true,
                        allowFailure: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments + ["--config", configuration] + options
        var environment = ProcessInfo.processInfo.environment
        environment["MILES_ADAPTER_PASSWORD"] = password
        environment["MILES_ADAPTER_TOKEN"] = token
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        let standardInput = Pipe()
        if input != nil { process.standardInput = standardInput }
        try process.run()
        if let input {
            standardInput.fileHandleForWriting.write(Data(input.utf8))
            try standardInput.fileHandleForWriting.close()
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if shown {
            print(text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n"),
                  terminator: "")
        }
        if process.terminationStatus != 0, !allowFailure {
            throw ValidationError("miles-adapter \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return text
    }
}
