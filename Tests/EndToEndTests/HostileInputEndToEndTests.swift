import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesMapping
import MilesMock
import MilesSync
import Testing
import TestSupport

/// The permission bits of a file or folder.
func permissions(_ path: String) throws -> Int {
    try #require((try FileManager.default.attributesOfItem(atPath: path))[.posixPermissions] as? Int)
}

/// A copy of the shipped mappings with `limits` added to `agent`'s updates section; removed by the caller.
func mappingsWithLimits(_ limits: String, agent: String = "acme-dca") throws -> String {
    let directory = temporaryDirectory("mappings")
    try FileManager.default.removeItem(atPath: directory)
    try FileManager.default.copyItem(atPath: repositoryMappings, toPath: directory)
    let file = directory + "/third-party/\(agent).yaml"
    try (try String(contentsOfFile: file, encoding: .utf8) + "  limits:\n" + limits).write(toFile: file, atomically: true, encoding: .utf8)
    return directory
}

@Suite("Agents' input is hostile: formulas, files, limits and the terminal, end to end (issue 11)", .serialized, .timeLimit(.minutes(3)))
struct HostileInputEndToEndTests {
    static let header = "AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes\n"

    @Test("a formula that reached MILES's customer data goes into a DCA's placement file as text; the file and folder are the owner's only",
          arguments: StoreKind.available)
    func placementFileFormula(kind: StoreKind) async throws {
        try await withHarness(contracts: 400, store: kind) { harness in
            let (store, _) = try await harness.syncedAnyStore(minimumOpen: 0)
            var target: Contract?
            try await store.forEachContract { if target == nil, $0.statusCode == "DEF", !$0.customer.vulnerable { target = $0 } }
            let contract = try #require(target)
            let formula = #"=HYPERLINK("http://x","click")"#
            _ = await harness.server.miles.changeBehindTheAdaptersBack(contractNumber: contract.contractNumber, customerAddressLine1: formula)
            _ = try await harness.sync(store: store).run(mode: .full)
            #expect(try await store.contract(number: contract.contractNumber)?.customer.address.line1 == formula)
            try await store.recordNotice(contractNumber: contract.contractNumber, arrearsNoticeSentOn: nil,
                                         defaultNotice: .init(served: LocalDate.parse("2026-01-05")!, remedyDate: LocalDate.parse("2026-01-25")!),
                                         by: "bob", at: CollectionsClock.system())
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("placements-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: output) }
            let bob = try WriteOffDesk(store: store, mappings: harness.mappings).user(named: "bob", roles: teamRoles)
            let result = try await PlacementDesk(store: store, mappings: harness.mappings)
                .create(agent: "acme-dca", contractNumbers: [contract.contractNumber], by: bob, reasonCode: "DCAP", directory: output)
            #expect(result.placed == [contract.contractNumber])
            let file = try #require(result.file)
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(text.contains(#""'=HYPERLINK(""http://x"",""click"")""#))
            #expect(!text.contains(#","=HYPERLINK"#) && !text.contains(#",=HYPERLINK"#))
            #expect(try permissions(file) == 0o600)
            #expect(try permissions(output) == 0o700)
        }
    }

    @Test("a formula in a write-off comment goes into the finance export as text; the export file is the owner's only",
          arguments: StoreKind.available)
    func writeOffExportFormula(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let desk = harness.desk(store)
            let file = try WriteOffFile(path: try harness.writeOffFile([
                "\(candidates[0].contractNumber),1.00,,UNEC,=1+2", "\(candidates[1].contractNumber),1.00,,UNEC,@SUM(A1)",
            ]))
            _ = try await desk.prepare(file: file, by: try desk.user(named: "alice", roles: teamRoles))
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString).csv").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try WriteOffExport.write(try await store.writeOffRequests(state: nil), to: path)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.contains(",'=1+2,") && text.contains(",'@SUM(A1),"))
            #expect(!text.contains(",=1+2,") && !text.contains(",@SUM(A1),"))
            #expect(try permissions(path) == 0o600)
        }
    }

    @Test("a symbolic link, a pipe or a folder is refused and nothing is copied; an oversized file is refused before it is stored")
    func inboxRefusals() async throws {
        let folder = temporaryDirectory("hostile")
        let mappingsFolder = try mappingsWithLimits("    maxFileBytes: 200\n")
        defer {
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(atPath: mappingsFolder)
        }
        let store = try SQLiteStore(path: folder + "/store.sqlite")
        let desk = IngestDesk(store: store, mappings: try MappingSet.load(directory: mappingsFolder), inboxDirectory: folder + "/inbox")
        let secret = folder + "/secret.txt"
        try "root:x:0:0:root:/root:/bin/bash\n".write(toFile: secret, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.csv", withDestinationPath: secret)
        #expect(mkfifo(folder + "/pipe.csv", 0o600) == 0)
        try FileManager.default.createDirectory(atPath: folder + "/folder.csv", withIntermediateDirectories: false)
        for name in ["link.csv", "pipe.csv", "folder.csv"] {
            await #expect { try await desk.ingest(path: folder + "/" + name, agent: "acme-dca", channel: "file") }
                throws: { ($0 as? IngestError)?.code == .notARegularFile && ($0 as? IngestError)?.input == folder + "/" + name }
        }
        let large = folder + "/large.csv"
        try (Self.header + String(repeating: "C00000001,NOTE,28/11/2026,,,note\n", count: 10)).write(toFile: large, atomically: true, encoding: .utf8)
        await #expect { try await desk.ingest(path: large, agent: "acme-dca", channel: "file") }
            throws: { ($0 as? IngestError)?.code == .overLimit && "\($0)".contains("maxFileBytes") }
        let stored = (try? FileManager.default.subpathsOfDirectory(atPath: folder + "/inbox")) ?? []
        #expect(stored.allSatisfy { !$0.hasSuffix(".csv") && !$0.contains(".receiving-") }, "nothing copied: \(stored)")
        #expect(try await store.inboxFiles(agent: nil, state: nil, limit: 10).isEmpty)
    }

    @Test("the inbox copy, its folders and a new store are the owner's only, whatever the source file's mode")
    func ownerOnlyFiles() async throws {
        let folder = temporaryDirectory("modes")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try SQLiteStore(path: folder + "/store.sqlite")
        let desk = IngestDesk(store: store, mappings: try MappingSet.load(directory: repositoryMappings), inboxDirectory: folder + "/inbox")
        let delivery = folder + "/return.csv"
        try (Self.header + "C00000001,NOTE,28/11/2026,,,n\n").write(toFile: delivery, atomically: true, encoding: .utf8)
        #expect(chmod(delivery, 0o644) == 0)
        let outcome = try await desk.ingest(path: delivery, agent: "acme-dca", channel: "file")
        #expect(try permissions(outcome.file.storedPath) == 0o600)
        #expect(try permissions(folder + "/inbox") == 0o700)
        #expect(try permissions(folder + "/inbox/acme-dca") == 0o700)
        #expect(try permissions(folder + "/store.sqlite") == 0o600)
        #expect(try permissions(folder + "/store.sqlite-wal") == 0o600)
    }

    @Test("rejected rows on standard error show no personal value by default, and do with --log-personal-data; a shared store is warned about")
    func terminalRedaction() async throws {
        let folder = temporaryDirectory("terminal")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let delivery = folder + "/return.csv"
        try (Self.header + """
            C00000001,Chloé Evans 07700 964856,28/11/2026,,,x
            C00000002,chloe.evans@example.com,28/11/2026,,,x
            C00000003,PAY,Chloé,12.00,,
            C00000004,NOTE,28/11/2026,,,Call Chloé Evans on 07700 964856 or chloe.evans@example.com

            """).write(toFile: delivery, atomically: true, encoding: .utf8)
        let environment = ["MILES_ADAPTER_DATABASE": folder + "/store.sqlite", "MILES_ADAPTER_MAPPINGS": repositoryMappings,
                           "MILES_ADAPTER_INBOX": folder + "/inbox"]
        let run = try await runAdapterSeparately(["ingest", "file", delivery, "--agent", "acme-dca"], environment: environment)
        #expect(run.status == 1, "every row rejected: \(run.output)\(run.errors)")
        #expect(run.errors.contains("line 5, AccountRef 'C00000004'"), "\(run.errors)")
        #expect(run.errors.contains("line 2, ActionCode ‹value masked"))
        for personal in ["Chloé", "Evans", "07700", "964856", "chloe.evans", "example.com"] {
            #expect(!run.errors.contains(personal), "\(personal) on standard error: \(run.errors)")
        }
        #expect(try permissions(folder + "/store.sqlite") == 0o600)

        let shown = try await runAdapterSeparately(["ingest", "show", "1", "--log-personal-data"], environment: environment)
        #expect(shown.output.contains("'Chloé Evans 07700 964856'"), "\(shown.output)")
        #expect(!shown.errors.contains("warning"))

        #expect(chmod(folder + "/store.sqlite", 0o644) == 0)
        let listed = try await runAdapterSeparately(["ingest", "list"], environment: environment)
        // The folder's random name can hold a run of digits the terminal masks as a phone number: the warning is matched without it.
        #expect(listed.errors.contains("warning: the store /") && listed.errors.contains("/store.sqlite can be read by others (mode 644)"),
                "\(listed.errors)")
    }

    @Test("a 200 MiB field: refused before it is stored by default; under a raised file limit, the row is rejected with flat memory")
    func hugeField() async throws {
        let folder = temporaryDirectory("huge")
        let raised = try mappingsWithLimits("    maxFileBytes: 1073741824\n")
        defer {
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(atPath: raised)
        }
        let delivery = folder + "/huge.csv"
        FileManager.default.createFile(atPath: delivery, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: delivery))
        try handle.write(contentsOf: Data((Self.header + "C00000001,NOTE,28/11/2026,,,").utf8))
        let chunk = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
        for _ in 0..<200 { try handle.write(contentsOf: chunk) }
        try handle.write(contentsOf: Data("\nC00000002,NOTE,28/11/2026,,,short\n".utf8))
        try handle.close()
        let environment = ["MILES_ADAPTER_DATABASE": folder + "/store.sqlite", "MILES_ADAPTER_MAPPINGS": repositoryMappings,
                           "MILES_ADAPTER_INBOX": folder + "/inbox"]

        let refused = try await runAdapterSeparately(["ingest", "file", delivery, "--agent", "acme-dca"], environment: environment)
        #expect(refused.status == 1)
        #expect(refused.errors.contains("over the agent's limit of 67108864 bytes (updates.limits.maxFileBytes"), "\(refused.errors)")
        #expect(((try? FileManager.default.subpathsOfDirectory(atPath: folder + "/inbox")) ?? []).allSatisfy { !$0.hasSuffix(".csv") })

        let rss = folder + "/rss.txt"
        let measured = try await runAdapterSeparately(
            ["-f", "%M", "-o", rss, AdapterProcess.executable.path, "ingest", "file", delivery, "--agent", "acme-dca"],
            environment: environment.merging(["MILES_ADAPTER_MAPPINGS": raised]) { $1 }, executable: URL(fileURLWithPath: "/usr/bin/time"))
        #expect(measured.status == 1, "both rows rejected: \(measured.errors)")
        #expect(measured.errors.contains("line 2, Notes: longer than the 16384-byte field limit"), "\(measured.errors)")
        let peakKilobytes = try #require(Int(try String(contentsOfFile: rss, encoding: .utf8).split(separator: "\n").last ?? ""))
        #expect(peakKilobytes < 64 * 1024, "peak \(peakKilobytes / 1024) MB")
        let storeSize = try #require((try FileManager.default.attributesOfItem(atPath: folder + "/store.sqlite"))[.size] as? Int)
        #expect(storeSize < 4 << 20, "the store grew to \(storeSize) bytes")
    }

    @Test("serve new-token makes a token only for an agent whose mapping sends updates")
    func tokensOnlyForMappedAgents() async throws {
        let environment = ["MILES_ADAPTER_MAPPINGS": repositoryMappings]
        let refused = try await runAdapterSeparately(["serve", "new-token", "--agent", "nosuchagent"], environment: environment)
        #expect(refused.status == 5)
        #expect(refused.errors.contains("no agent 'nosuchagent' sends updates"), "\(refused.errors)")
        #expect(!refused.output.contains("token for"))
        let made = try await runAdapterSeparately(["serve", "new-token", "--agent", "acme-dca"], environment: environment)
        #expect(made.status == 0)
        #expect(made.output.contains("tokenHashes:\n    acme-dca: "))
    }
}
