import CollectionsDomain
import MilesSync
import Synchronization
import Testing

/// A MILES for the page reader: page N is asked for with cursor "cN" (the first with none) and its
/// answer names "cN+1"; each answer carries its page's position as its total count, so a test can
/// tell which page it was handed. Records which cursors were asked for, and can hold an answer back.
private final class ScriptedMiles: Sendable {
    struct Failure: Error, Equatable {
        let cursor: String?
    }

    private struct State {
        var asked: [String?] = []
        var heldUntilAsked: [String: String] = [:]
        var waiting: [String: [CheckedContinuation<Bool, Never>]] = [:]
        var heldTooLong = false
    }

    let pages: Int
    /// The next cursor each page's answer names early, when it differs from the one its whole answer names.
    let earlyCursors: [String: String]
    let failing: Set<String>
    private let state = Mutex(State())

    init(pages: Int, earlyCursors: [String: String] = [:], failing: Set<String> = []) {
        self.pages = pages
        self.earlyCursors = earlyCursors
        self.failing = failing
    }

    var asked: [String?] { state.withLock { $0.asked } }
    /// Set when a held answer gave up waiting: what it waited for was not asked for in time.
    var heldTooLong: Bool { state.withLock { $0.heldTooLong } }

    /// The answer for `cursor` waits, after naming its next cursor, until `other` has been asked for.
    func hold(_ cursor: String?, until other: String) {
        state.withLock { $0.heldUntilAsked[cursor ?? "start"] = other }
    }

    /// True once `cursor` has been asked for; false if it was not within `limit` (a failure's deadline,
    /// so that a reader which never asks fails the test instead of hanging it).
    func waitUntilAsked(_ cursor: String, within limit: Duration = .seconds(10)) async -> Bool {
        let deadline = Task {
            try? await Task.sleep(for: limit)
            let waiters = state.withLock { $0.waiting.removeValue(forKey: cursor) ?? [] }
            for waiter in waiters { waiter.resume(returning: false) }
        }
        defer { deadline.cancel() }
        return await withCheckedContinuation { continuation in
            let already = state.withLock { state in
                if state.asked.contains(cursor) { return true }
                state.waiting[cursor, default: []].append(continuation)
                return false
            }
            if already { continuation.resume(returning: true) }
        }
    }

    func fetch(_ cursor: String?, _ nextCursorRead: @Sendable (String) -> Void) async -> Result<ContractPage, Failure> {
        let waiters = state.withLock { state in
            state.asked.append(cursor)
            return cursor.flatMap { state.waiting.removeValue(forKey: $0) } ?? []
        }
        for waiter in waiters { waiter.resume(returning: true) }
        let index = cursor.map { Int($0.dropFirst())! } ?? 0
        let next = index + 1 < pages ? "c\(index + 1)" : nil
        if let next { nextCursorRead(earlyCursors[cursor ?? "start"] ?? next) }
        if let other = state.withLock({ $0.heldUntilAsked[cursor ?? "start"] }), await !waitUntilAsked(other) {
            state.withLock { $0.heldTooLong = true }
        }
        if let cursor, failing.contains(cursor) { return .failure(Failure(cursor: cursor)) }
        return .success(ContractPage(asOf: nil, totalCount: index, nextCursor: next, contracts: []))
    }
}

@Suite("Pages read ahead of the store: asked as soon as the answer before names them", .timeLimit(.minutes(1)))
struct ContractPageReaderTests {
    @Test("the next page is asked for while the answer before it is still arriving; pages come in order")
    func askedEarly() async throws {
        let miles = ScriptedMiles(pages: 4)
        // The first answer is not finished until the second page has been asked for: read one page at a
        // time, it would give up waiting and say so.
        miles.hold(nil, until: "c1")
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { await miles.fetch($0, $1) }
        defer { reader.stop() }
        var page = try #require(try await reader.first(at: nil)?.get())
        var positions = [page.totalCount]
        while let next = await reader.next(after: page) {
            page = try next.get()
            positions.append(page.totalCount)
        }
        #expect(positions == [0, 1, 2, 3])
        #expect(!miles.heldTooLong)
        #expect(miles.asked == [nil, "c1", "c2", "c3"])
    }

    @Test("no more than `depth` pages are asked for past the caller's")
    func boundedAhead() async throws {
        let miles = ScriptedMiles(pages: 10)
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { await miles.fetch($0, $1) }
        defer { reader.stop() }
        let first = try #require(try await reader.first(at: nil)?.get())
        #expect(await miles.waitUntilAsked("c2"))
        // Page 3 is not asked for while the caller works on page 0, whenever page 2's answer names it.
        #expect(!miles.asked.contains("c3"))
        let second = try #require(try await reader.next(after: first)?.get())
        #expect(second.totalCount == 1)
        #expect(await miles.waitUntilAsked("c3"))
        let third = try #require(try await reader.next(after: second)?.get())
        #expect(third.totalCount == 2)
        #expect(await miles.waitUntilAsked("c4"))
        #expect(!miles.asked.contains("c5"))
        #expect(miles.asked.count == 5)
    }

    @Test("a page asked with a cursor the whole answer before did not name is asked again with the one it did")
    func cursorMovedOn() async throws {
        // Page 0 names "c9" early, but its whole answer names "c1".
        let miles = ScriptedMiles(pages: 10, earlyCursors: ["start": "c9"])
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { await miles.fetch($0, $1) }
        defer { reader.stop() }
        let first = try #require(try await reader.first(at: nil)?.get())
        #expect(first.nextCursor == "c1")
        let second = try #require(try await reader.next(after: first)?.get())
        #expect(second.totalCount == 1)
        #expect(miles.asked.contains("c9"))
        #expect(miles.asked.contains("c1"))
    }

    @Test("a failed page is handed over in its place, after the pages before it")
    func failureInOrder() async throws {
        let miles = ScriptedMiles(pages: 5, failing: ["c2"])
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { await miles.fetch($0, $1) }
        defer { reader.stop() }
        let first = try #require(try await reader.first(at: nil)?.get())
        let second = try #require(try await reader.next(after: first)?.get())
        let third = try #require(await reader.next(after: second))
        #expect(throws: ScriptedMiles.Failure(cursor: "c2")) { try third.get() }
    }

    @Test("the last page names no next one; once stopped nothing more is handed over or asked for")
    func endAndStop() async throws {
        let miles = ScriptedMiles(pages: 1)
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { await miles.fetch($0, $1) }
        let only = try #require(try await reader.first(at: nil)?.get())
        #expect(await reader.next(after: only) == nil)

        let longer = ScriptedMiles(pages: 10)
        let stopped = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { await longer.fetch($0, $1) }
        let page = try #require(try await stopped.first(at: nil)?.get())
        stopped.stop()
        #expect(await stopped.next(after: page) == nil)
        #expect(longer.asked.count <= 3)
    }
}
