import CollectionsDomain
import CollectionsStore
import Foundation
import MilesSync
import TestSupport
import Testing

@Suite("The bank statements' drop folder ('bank watch')", .serialized, .timeLimit(.minutes(3)))
struct BankWatchTests {
    @Test("complete statements imported into processed/, a malformed one in failed/ with its reason, the same file again a duplicate, one being written left",
          arguments: StoreKind.available)
    func dropFolder(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.syncedBankStore()
            let root = temporaryDirectory("bank-watch")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let drop = root + "/drop"
            try FileManager.default.createDirectory(atPath: drop, withIntermediateDirectories: true)
            let clock = FakeClock()
            let watcher = BankStatementWatcher(desk: harness.bankDesk(store, statements: root + "/kept"), directory: drop,
                                               stableFor: .seconds(10), clock: { clock.now })
            func storedEntries() async throws -> Int {
                var count = 0
                for state in BankEntryState.allCases { count += try await store.bankEntries(state: state, limit: .max).count }
                return count
            }

            try FileManager.default.copyItem(atPath: bankGolden + "/northern-example-camt053.xml", toPath: drop + "/good.xml")
            FileManager.default.createFile(atPath: drop + "/good.xml.done", contents: nil)
            let malformed = camtStatement(statementId: "WATCH-BAD", sequence: 1, opening: 0, date: "2026-12-02",
                                          entries: [(1_000, "C00000003", "X001")])
            try malformed.replacingOccurrences(of: "CRDT</CdtDbtInd><Sts>", with: "CREDIT</CdtDbtInd><Sts>")
                .write(toFile: drop + "/bad.xml", atomically: true, encoding: .utf8)
            FileManager.default.createFile(atPath: drop + "/bad.xml.done", contents: nil)
            let late = camtStatement(statementId: "WATCH-LATE", sequence: 1, opening: 0, date: "2026-12-03",
                                     entries: [(1_250, "C00000003 December", "W001"), (2_500, "C00000004", "W002")])
            let halfway = late.index(late.startIndex, offsetBy: late.count / 2)
            let partial = drop + "/partial.xml"
            let handle = try #require({ () -> FileHandle? in
                FileManager.default.createFile(atPath: partial, contents: nil)
                return FileHandle(forWritingAtPath: partial)
            }())
            try handle.write(contentsOf: Data(late[..<halfway].utf8))
            clock.now = Date().addingTimeInterval(1)

            let first = try await watcher.scan()
            #expect(first.map(\.movedTo) == [drop + "/failed/bad.xml", drop + "/processed/good.xml"])
            #expect(first.map(\.path) == [drop + "/bad.xml", drop + "/good.xml"])
            let good = try #require(first.last?.outcome)
            #expect(!good.duplicate)
            #expect(good.statements.map(\.state) == [.imported, .imported])
            #expect(try await storedEntries() == 9)
            #expect(!FileManager.default.fileExists(atPath: drop + "/processed/good.xml.report.txt"))
            #expect(FileManager.default.fileExists(atPath: drop + "/processed/good.xml.done"))
            #expect(first.first?.outcome == nil)
            let report = try String(contentsOfFile: drop + "/failed/bad.xml.report.txt", encoding: .utf8)
            #expect(report.hasPrefix("bad.xml: " + drop + "/bad.xml: camt.053 statement refused at Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/CdtDbtInd"))
            #expect(report.contains("'CREDIT' is not CRDT or DBIT"))
            #expect(try await store.bankStatements(account: nil, limit: 10).count == 2)
            // Being written, and written to a moment ago: left where it is.
            #expect(FileManager.default.fileExists(atPath: partial))

            // The same file dropped again: imported before, so nothing new, and it does not replace the earlier one in processed/.
            try FileManager.default.copyItem(atPath: bankGolden + "/northern-example-camt053.xml", toPath: drop + "/good.xml")
            FileManager.default.createFile(atPath: drop + "/good.xml.done", contents: nil)
            let again = try await watcher.scan()
            #expect(again.map(\.movedTo) == [drop + "/processed/good.xml.2"])
            #expect(again.first?.outcome?.duplicate == true)
            #expect(try await storedEntries() == 9)
            #expect(try await store.bankStatements(account: nil, limit: 10).count == 2)
            #expect(FileManager.default.fileExists(atPath: partial))

            // Quiet long enough by the clock, but grown since the last look: still being written.
            clock.now = Date().addingTimeInterval(60)
            try handle.write(contentsOf: Data(late[halfway...].utf8))
            try handle.close()
            #expect(try await watcher.scan().isEmpty)
            let completed = try await watcher.scan()
            #expect(completed.map(\.movedTo) == [drop + "/processed/partial.xml"])
            #expect(completed.first?.outcome?.duplicate == false)
            #expect(try await storedEntries() == 11)
            #expect(try FileManager.default.contentsOfDirectory(atPath: drop).filter { !$0.hasPrefix(".") }.sorted() == ["failed", "processed"])
        }
    }

    @Test("'miles-adapter bank watch DIR --once': a complete statement imported into processed/, a broken one in failed/ with its reason on stderr, the run's metrics written, exit 6",
          arguments: StoreKind.available)
    func commandLine(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            _ = try await harness.syncedBankStore()
            let root = temporaryDirectory("bank-watch-cli")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let drop = root + "/drop"
            try FileManager.default.createDirectory(atPath: drop, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: bankGolden + "/northern-example-camt053.xml", toPath: drop + "/good.xml")
            FileManager.default.createFile(atPath: drop + "/good.xml.done", contents: nil)
            try "<Document><BkToCstmrStmt>".write(toFile: drop + "/bad.xml", atomically: true, encoding: .utf8)
            FileManager.default.createFile(atPath: drop + "/bad.xml.done", contents: nil)

            let run = try await runAdapterSeparately(
                ["bank", "watch", drop, "--once", "--metrics-file", root + "/bank.prom"],
                environment: ["MILES_ADAPTER_DATABASE": harness.storePath, "MILES_ADAPTER_MAPPINGS": repositoryMappings,
                              "MILES_ADAPTER_STATEMENTS": root + "/kept"])
            // One of the two files went through: partly done, for the scheduler to see.
            #expect(run.status == 6, "\(run.errors)")
            #expect(run.errors.contains("error: 1 of 2 files taken from \(drop) were refused"), "\(run.errors)")
            #expect(run.output.contains("\(drop)/good.xml -> \(drop)/processed/good.xml: 2 statements"), "\(run.output)")
            #expect(run.errors.contains("\(drop)/bad.xml -> \(drop)/failed/bad.xml"), "\(run.errors)")
            #expect(FileManager.default.fileExists(atPath: drop + "/processed/good.xml"))
            #expect(FileManager.default.fileExists(atPath: drop + "/failed/bad.xml"))
            let metrics = try String(contentsOfFile: root + "/bank.prom", encoding: .utf8).split(separator: "\n")
            #expect(metrics.contains("miles_adapter_job_items{job=\"bank-watch\",item=\"files\"} 2"), "\(metrics)")
            #expect(metrics.contains("miles_adapter_job_items{job=\"bank-watch\",item=\"files_failed\"} 1"), "\(metrics)")
            #expect(metrics.contains("miles_adapter_job_success{job=\"bank-watch\"} 0"), "\(metrics)")
            let store = try await harness.openStore()
            #expect(try await store.bankStatements(account: nil, limit: 10).count == 2)
        }
    }
}
