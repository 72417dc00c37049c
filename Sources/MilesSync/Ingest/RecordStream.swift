import Foundation
import MilesMapping

/// A file read on a thread of its own and handed on in chunks, at most two waiting, so reading on
/// one core overlaps deciding and writing on the other and memory stays flat: an agent's delivery
/// to the ingest, a bank statement to the bank desk. The reader is synchronous (it streams from
/// disk); it blocks only its own thread.
///
/// The stream ends normally only when the reader reached the end of the file: a consumer that is
/// cancelled gets `CancellationError`, never a short read that looks whole.
struct RecordStream<Record: Sendable>: AsyncSequence, Sendable {
    typealias Element = [Record]

    /// Reads the whole file, handing every record to `body` in file order.
    typealias Reader = @Sendable (_ body: (Record) throws -> Void) throws -> Void

    let chunkSize: Int
    let read: Reader

    struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var base: AsyncThrowingStream<Element, any Error>.Iterator
        fileprivate let slots: ChunkSlots

        mutating func next() async throws -> Element? {
            guard let chunk = try await base.next() else {
                // A cancelled task's stream ends early without an error: say so.
                try Task.checkCancellation()
                return nil
            }
            slots.give()
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        let slots = ChunkSlots(2)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Element.self)
        // The consumer gave up (an error downstream, or cancelled): the reader stops at its next chunk.
        continuation.onTermination = { _ in slots.close() }
        let (chunkSize, read) = (chunkSize, read)
        let started = NSLock()
        started.lock()
        let thread = Thread {
            // Named for an operator's `top -H` or `ps -L` during a long ingest, from inside once `start()` has
            // returned (the lock): as for the store's thread, Foundation on Linux loses a name set any earlier.
            // At most 15 bytes, Linux's limit, or the name is not applied at all.
            started.lock()
            Thread.current.name = "miles-reader"
            started.unlock()
            var chunk: Element = []
            chunk.reserveCapacity(chunkSize)
            do {
                try read { record in
                    chunk.append(record)
                    guard chunk.count >= chunkSize else { return }
                    guard slots.take() else { throw CancellationError() }
                    continuation.yield(chunk)
                    chunk.removeAll(keepingCapacity: true)
                }
                if !chunk.isEmpty { continuation.yield(chunk) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        thread.start()
        started.unlock()
        return AsyncIterator(base: stream.makeAsyncIterator(), slots: slots)
    }
}

/// How many chunks the reader may hand over before the consumer takes one; closed when the
/// consumer is gone, which wakes a waiting reader.
private final class ChunkSlots: @unchecked Sendable {
    // @unchecked: `free` and `closed` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var free: Int
    private var closed = false

    init(_ count: Int) {
        free = count
    }

    /// Waits for a free slot; false once the consumer is gone.
    func take() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while free == 0, !closed { condition.wait() }
        guard !closed else { return false }
        free -= 1
        return true
    }

    func give() {
        condition.lock()
        free += 1
        condition.signal()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
    }
}
