import CollectionsDomain
import Foundation
import MilesMapping
@testable import MilesSync
import Testing

@Suite("The ingest's record stream: read on its own thread, handed over in chunks")
struct RecordStreamTests {
    /// A reader of `count` agents' notes, lines 1…count.
    static func notes(_ count: Int) -> RecordStream<AgentFileParser.Record>.Reader {
        { body in
            for line in 1...count {
                try body(.update(ThirdPartyUpdate(agent: "acme-dca", source: "test.csv:\(line)", contractNumber: "C\(line)", kind: .note("n")),
                                 line: line))
            }
        }
    }

    @Test("every record arrives once, in file order, in chunks of the size asked for")
    func everyRecordInOrder() async throws {
        var lines: [Int] = []
        var sizes: Set<Int> = []
        for try await chunk in RecordStream<AgentFileParser.Record>(chunkSize: 100, read: Self.notes(1_050)) {
            lines += chunk.map(\.line)
            sizes.insert(chunk.count)
        }
        #expect(lines == Array(1...1_050))
        #expect(sizes == [100, 50])
    }

    @Test("the file is read on a thread named miles-reader, for an operator's top -H or ps -L")
    func readerThreadNamed() async throws {
        for _ in 0..<20 {
            let stream = RecordStream<String>(chunkSize: 1) { body in
                try body((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "unreadable")
            }
            var names: [String] = []
            for try await chunk in stream { names += chunk.map { $0.trimmingCharacters(in: .newlines) } }
            #expect(names == ["miles-reader"])
        }
    }

    @Test("a consumer that stops early (a failed batch) ends the reader cleanly, with chunks still waiting")
    func consumerStopsEarly() async throws {
        for _ in 0..<20 {
            var iterator = RecordStream<AgentFileParser.Record>(chunkSize: 10, read: Self.notes(10_000)).makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first?.map(\.line) == Array(1...10))
        }
    }

    @Test("a cancelled consumer gets CancellationError, never a short stream that looks whole")
    func cancelledConsumer() async {
        let reading = Task {
            var received = 0
            for try await chunk in RecordStream<AgentFileParser.Record>(chunkSize: 10, read: Self.notes(1_000_000)) {
                received += chunk.count
                if received == 100 { withUnsafeCurrentTask { $0?.cancel() } }
            }
            return received
        }
        await #expect(throws: CancellationError.self) { try await reading.value }
    }
}
