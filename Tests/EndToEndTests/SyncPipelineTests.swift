import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMock
import MilesSync
import Synchronization
import TestSupport
import Testing

private struct ReadAheadMissing: Error, CustomStringConvertible {
    let page: Int
    var description: String { "MILES was not asked for page \(page + 1) while page \(page) waited to be stored" }
}

private struct CommitRefused: Error {}

@Suite("The sync reads the next page from MILES while it stores the last one (issue 16)", .serialized, .timeLimit(.minutes(2)))
struct SyncPipelineTests {
    @Test("each page's commit waits until MILES has been asked for the page after it; the store still equals MILES",
          arguments: StoreKind.available)
    func nextPageAskedWhileStoring(kind: StoreKind) async throws {
        try await withHarness(contracts: 2_500, store: kind) { harness in
            let store = try await harness.openStore()
            let miles = harness.server.miles
            let watched = WatchedSyncStore(store) { page in
                guard page < 5 else { return }
                // Polls for a condition, with a deadline: without reading ahead it never comes.
                let deadline = ContinuousClock.now + .seconds(20)
                while await miles.journalEntries().filter({ $0.operation == "FindContracts" }).count <= page {
                    guard ContinuousClock.now < deadline else { throw ReadAheadMissing(page: page) }
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            let summary = try await harness.sync(store: watched).run(mode: .resume)
            #expect(summary.outcome == .completed && summary.pages == 5 && summary.received == 2_500)
            #expect(await harness.findContractsCalls().count == 5)
            #expect(try await storeChecksum(store) == (await harness.milesChecksum()))
        }
    }

    @Test("a commit that fails stops the sync with the pages before it kept and the page read ahead not stored; the next run resumes",
          arguments: StoreKind.available)
    func failedCommitKeepsEarlierPages(kind: StoreKind) async throws {
        try await withHarness(contracts: 2_500, store: kind) { harness in
            let store = try await harness.openStore()
            let failing = WatchedSyncStore(store) { page in
                if page == 3 { throw CommitRefused() }
            }
            await #expect(throws: ContractSyncError.self) { _ = try await harness.sync(store: failing).run(mode: .resume) }
            let query = try #require(try await store.checkpoint(job: "contracts").inProgress)
            #expect(query.pagesDone == 2 && query.received == 1_000)
            #expect(try await store.contractCount() == 1_000)

            let resumed = try await harness.sync(store: store).run(mode: .resume)
            #expect(resumed.resumedAfterPage == 2 && resumed.pages == 3)
            #expect(try await storeChecksum(store) == (await harness.milesChecksum()))
        }
    }

    /// The sync reads at utility priority so that, with fewer free cores than stages, the reading
    /// yields to the store's writer: libdispatch gives a utility thread a higher nice value on Linux.
    @Test("a page asked at utility priority is received and decoded on a thread that yields to one asked at the default",
          .enabled(if: (processNice() ?? 0) < 2, "started niced at 2 or more: an unprivileged thread cannot take a lower nice value back"))
    func readingYieldsToTheStore() async throws {
        try await withHarness(contracts: 20) { harness in
            let gateway = harness.gateway()
            let utility = try #require(await niceWhileDecoding(gateway, priority: .utility))
            let medium = try #require(await niceWhileDecoding(gateway, priority: .medium))
            #expect(utility > medium)
        }
    }

    /// The nice value of the thread decoding a FindContracts answer asked for at `priority`, read when
    /// the decoder reaches the answer's next cursor.
    private func niceWhileDecoding(_ gateway: MilesGateway, priority: TaskPriority) async -> Int? {
        // Awaited through a continuation, not the task's value, so the test's own priority does not raise it.
        await withCheckedContinuation { continuation in
            Task(priority: priority) {
                let nice = Mutex<Int?>(nil)
                _ = try? await gateway.findContracts(changedSince: nil, cursor: nil, pageSize: 10) { _ in
                    nice.withLock { $0 = currentThreadNice() }
                }
                continuation.resume(returning: nice.withLock { $0 })
            }
        }
    }
}

/// This thread's nice value (Linux's /proc).
private func currentThreadNice() -> Int? { nice(statFile: "/proc/thread-self/stat") }

/// The nice value the test process was started with.
private func processNice() -> Int? { nice(statFile: "/proc/self/stat") }

/// Field 19 of a /proc stat file, the 17th after the parenthesised name.
private func nice(statFile: String) -> Int? {
    guard let stat = try? String(contentsOfFile: statFile, encoding: .utf8),
          let nameEnd = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: nameEnd)...].split(separator: " ")
    return fields.count > 16 ? Int(fields[16]) : nil
}
