import Foundation
import MilesMapping

/// An agent's file read on a thread of its own and handed to the ingest in chunks, at most two
/// waiting, so reading on one core overlaps deciding and writing on the other and memory stays
/// flat. The reader is synchronous (CSV streams from disk); it blocks only its own thread.
struct RecordStream: AsyncSequence, Sendable {
    typealias Element = [AgentFileParser.Record]

    /// Reads the whole file, handing every record to `body` in file order.
    typealias Reader = @Sendable (_ body: (AgentFileParser.Record) throws -> Void) throws -> Void

    let chunkSize: Int
    let read: Reader

    struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var base: AsyncThrowingStream<Element, any Error>.Iterator
        fileprivate let slots: DispatchSemaphore

        mutating func next() async throws -> Element? {
            let chunk = try await base.next()
            if chunk != nil { slots.signal() }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        let slots = DispatchSemaphore(value: 2)
        let stopped = StopFlag()
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Element.self)
        continuation.onTermination = { _ in
            // The consumer gave up (an error downstream): let the reader see it and end.
            stopped.set()
            slots.signal()
        }
        let (chunkSize, read) = (chunkSize, read)
        let thread = Thread {
            var chunk: Element = []
            chunk.reserveCapacity(chunkSize)
            do {
                try read { record in
                    chunk.append(record)
                    guard chunk.count >= chunkSize else { return }
                    slots.wait()
                    if stopped.isSet { throw CancellationError() }
                    continuation.yield(chunk)
                    chunk.removeAll(keepingCapacity: true)
                }
                if !chunk.isEmpty { continuation.yield(chunk) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        thread.name = "miles-adapter.ingest-reader"
        thread.start()
        return AsyncIterator(base: stream.makeAsyncIterator(), slots: slots)
    }
}

/// Set once, read from another thread.
private final class StopFlag: Sendable {
    private let lock = NSLock()
    // Guarded by `lock`; the class is Sendable because every access takes it.
    nonisolated(unsafe) private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
