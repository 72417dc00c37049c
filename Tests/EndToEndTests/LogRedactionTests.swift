import CollectionsDomain
import Foundation
import MilesMock
import Testing

@Suite("Logs hold no secrets and, unless asked, no personal data", .serialized, .timeLimit(.minutes(2)))
struct LogRedactionTests {
    /// Runs the demo at the most verbose level; everything it wrote, standard output and error together.
    func demoOutput(_ extra: [String]) async throws -> String {
        let folder = temporaryDirectory("demo")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let process = Process()
        process.executableURL = AdapterProcess.executable
        process.arguments = ["demo", "--contracts", "300", "--changes", "40", "--seed", "7", "--database", folder + "/demo.sqlite",
                             "--mappings", repositoryMappings, "--log-level", "trace"] + extra
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self)
    }

    /// Every customer's name, phone number and email in the demo's portfolio.
    func personalData() async -> Set<String> {
        let miles = MockMiles(configuration: MockMilesConfiguration(contractCount: 300, seed: 7, contractDirectory: repositoryMappings + "/wsdl"))
        var values: Set<String> = []
        await miles.forEachContract { contract in
            values.insert(contract.customer.name)
            values.formUnion(contract.customer.phones)
            if let email = contract.customer.email { values.insert(email) }
        }
        return values
    }

    @Test("a trace-level log over a full demo holds neither the password nor any customer's name, phone or email")
    func redacted() async throws {
        let output = try await demoOutput([])
        #expect(output.contains("contract from MILES"), "the trace log should describe each contract")
        #expect(!output.contains(MockMilesConfiguration.defaultPassword))
        let leaked = await personalData().filter { output.contains($0) }
        #expect(leaked.isEmpty, "personal data in the log: \(leaked.sorted().prefix(5))")
    }

    @Test("--log-personal-data shows it, says so in the log, and still hides the password")
    func personalDataSwitchedOn() async throws {
        let output = try await demoOutput(["--log-personal-data"])
        #expect(output.contains("personal data logging is ON"))
        #expect(!output.contains(MockMilesConfiguration.defaultPassword))
        #expect(!(await personalData().filter { output.contains($0) }).isEmpty)
    }
}
