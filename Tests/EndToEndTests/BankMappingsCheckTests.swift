import Foundation
import Testing

/// A copy of the repository's mappings, changed by `change`, for one run of the adapter.
private func mappingsCopy(_ change: (String) throws -> Void) throws -> String {
    let directory = temporaryDirectory("bank-mappings")
    try FileManager.default.removeItem(atPath: directory)
    try FileManager.default.copyItem(atPath: repositoryMappings, toPath: directory)
    try change(directory)
    return directory
}

@Suite("mappings check and the bank files (issue 17)", .serialized, .timeLimit(.minutes(2)))
struct BankMappingsCheckTests {
    @Test("mappings check lists each configured bank account with its bank, currency, patterns and threshold")
    func listsAccounts() async throws {
        let run = try await runAdapterSeparately(["mappings", "check", "--mappings", repositoryMappings], environment: [:])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("""
            bank accounts:
              DE89370400440532013000 EUR (Example EU Bank): 1 contract and 1 invoice pattern, allocated at 80 and 20 ahead of the next contract; 2 of the bank's return reasons sent to MILES as other codes
              GB33BUKB20201555555555 GBP (Northern Example Bank): 1 contract and 1 invoice pattern, allocated at 80 and 20 ahead of the next contract

            """), "\(run.output)")
    }

    @Test("without a bank folder, mappings check says no account is configured")
    func noBankFolder() async throws {
        let directory = try mappingsCopy { try FileManager.default.removeItem(atPath: $0 + "/bank") }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try await runAdapterSeparately(["mappings", "check", "--mappings", directory], environment: [:])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("bank accounts: none (no bank/*.yaml: every bank statement is refused)\n"), "\(run.output)")
    }

    @Test("a problem in a bank file fails the check with exit code 4, naming the file, the line, the key and the value")
    func problemInBankFile() async throws {
        let directory = try mappingsCopy { directory in
            let path = directory + "/bank/example-eu-bank.yaml"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try text.replacingOccurrences(of: "allocateAt: 80", with: "allocateAt: 180").write(toFile: path, atomically: true, encoding: .utf8)
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let line = try String(contentsOfFile: directory + "/bank/example-eu-bank.yaml", encoding: .utf8)
            .components(separatedBy: "\n").firstIndex(of: "allocateAt: 180").map { $0 + 1 }
        let run = try await runAdapterSeparately(["mappings", "check", "--mappings", directory], environment: [:])
        #expect(run.status == 4)
        #expect(run.errors.contains("\(directory)/bank/example-eu-bank.yaml:\(line ?? 0): allocateAt '180' must be a whole number from 1 to 100"),
                "\(run.errors)")
    }
}
