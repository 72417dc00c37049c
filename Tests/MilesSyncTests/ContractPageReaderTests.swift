import CollectionsDomain
import Dispatch
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
        var heldUntilAsked: [String: (other: String, within: Duration)] = [:]
        var answered: [String?] = []
        /// "asked X" and "answered X", in the order they happened.
        var events: [String] = []
        var waiting: [String: [CheckedContinuation<Bool, Never>]] = [:]
        var heldTooLong = false
    }

    let pages: Int
    /// The next cursor each page's answer names early, when it differs from the one its whole answer names.
    let earlyCursors: [String: String]
    let failing: Set<String>
    private let state = Mutex(State())

    /// Cursors whose first answer fails (after naming its next cursor); asked again, they answer.
    let failingOnce: Set<String>

    init(pages: Int, earlyCursors: [String: String] = [:], failing: Set<String> = [], failingOnce: Set<String> = []) {
        self.pages = pages
        self.earlyCursors = earlyCursors
        self.failing = failing
        self.failingOnce = failingOnce
    }

    var asked: [String?] { state.withLock { $0.asked } }
    /// Set when a held answer gave up waiting: what it waited for was not asked for in time.
    var heldTooLong: Bool { state.withLock { $0.heldTooLong } }

    /// The cursors whose answers have been given, in that order.
    var answered: [String?] { state.withLock { $0.answered } }
    var events: [String] { state.withLock { $0.events } }

    /// The answer for `cursor` waits, after naming its next cursor, until `other` has been asked for
    /// (or `within` has passed).
    func hold(_ cursor: String?, until other: String, within: Duration = .seconds(10)) {
        state.withLock { $0.heldUntilAsked[cursor ?? "start"] = (other, within) }
    }

    /// True once `cursor` has been asked for; false if it was not within `limit` (a failure's deadline,
    /// so that a reader which never asks fails the test instead of hanging it).
    func waitUntilAsked(_ cursor: String, within limit: Duration = .seconds(10)) async -> Bool {
        let deadline = Task {
            do { try await Task.sleep(for: limit) } catch { return }
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
            state.events.append("asked \(cursor ?? "start")")
            return cursor.flatMap { state.waiting.removeValue(forKey: $0) } ?? []
        }
        for waiter in waiters { waiter.resume(returning: true) }
        let index = cursor.map { Int($0.dropFirst())! } ?? 0
        let next = index + 1 < pages ? "c\(index + 1)" : nil
        if let next { nextCursorRead(earlyCursors[cursor ?? "start"] ?? next) }
        if let hold = state.withLock({ $0.heldUntilAsked[cursor ?? "start"] }), await !waitUntilAsked(hold.other, within: hold.within) {
            state.withLock { $0.heldTooLong = true }
        }
        defer {
            state.withLock { state in
                state.answered.append(cursor)
                state.events.append("answered \(cursor ?? "start")")
            }
        }
        if let cursor, failing.contains(cursor) { return .failure(Failure(cursor: cursor)) }
        if let cursor, failingOnce.contains(cursor), asked.filter({ $0 == cursor }).count == 1 { return .failure(Failure(cursor: cursor)) }
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
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { cursor, _, _, named in await miles.fetch(cursor, named) }
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
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { cursor, _, _, named in await miles.fetch(cursor, named) }
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
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { cursor, _, _, named in await miles.fetch(cursor, named) }
        defer { reader.stop() }
        let first = try #require(try await reader.first(at: nil)?.get())
        #expect(first.nextCursor == "c1")
        #expect(await miles.waitUntilAsked("c9"), "page 1 is asked for with the cursor read early")
        let second = try #require(try await reader.next(after: first)?.get())
        #expect(second.totalCount == 1, "and asked again with the one the whole answer names")
        #expect(miles.asked.contains("c1"))
    }

    @Test("a failed page is handed over in its place, after the pages before it")
    func failureInOrder() async throws {
        let miles = ScriptedMiles(pages: 5, failing: ["c2"])
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { cursor, _, _, named in await miles.fetch(cursor, named) }
        defer { reader.stop() }
        let first = try #require(try await reader.first(at: nil)?.get())
        let second = try #require(try await reader.next(after: first)?.get())
        let third = try #require(await reader.next(after: second))
        #expect(throws: ScriptedMiles.Failure(cursor: "c2")) { try third.get() }
    }

    @Test("a page asked early is asked once; failed, it is asked again in its turn; none is asked two past an unanswered page")
    func earlyPagesHeldBack() async throws {
        let miles = ScriptedMiles(pages: 10, failingOnce: ["c1"])
        // The first answer names c1 at once but is whole only after a while.
        miles.hold(nil, until: "never", within: .milliseconds(300))
        let early = Mutex<[String?]>([])
        let told = Mutex<[ScriptedMiles.Failure]>([])
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { cursor, isEarly, failedEarly, named in
            if isEarly { early.withLock { $0.append(cursor) } }
            if let failedEarly { told.withLock { $0.append(failedEarly) } }
            return await miles.fetch(cursor, named)
        }
        defer { reader.stop() }
        async let firstAnswer = reader.first(at: nil)
        #expect(await miles.waitUntilAsked("c1"))
        let first = try #require(await firstAnswer).get()
        let second = try #require(await reader.next(after: first)).get()
        #expect(second.totalCount == 1)
        #expect(early.withLock { $0 }.first == "c1", "page 1 was asked early")
        #expect(miles.asked.filter { $0 == "c1" }.count == 2, "page 1 failed early and was asked again in its turn")
        #expect(told.withLock { $0 } == [ScriptedMiles.Failure(cursor: "c1")], "told how its early attempt failed")
        // Page 1's answer named c2 while page 0 was still arriving; page 2 was asked only once page 0 was whole.
        let events = miles.events
        let pageZeroWhole = try #require(events.firstIndex(of: "answered start"))
        let pageTwoAsked = try #require(events.firstIndex(of: "asked c2"))
        #expect(events.firstIndex(of: "answered c1").map { $0 < pageZeroWhole } == true, "page 1 failed before page 0 was whole")
        #expect(pageZeroWhole < pageTwoAsked)
    }

    @Test("reading ends only once every page it asked for has been answered")
    func readingWaits() async throws {
        let miles = ScriptedMiles(pages: 10)
        // Page 1 is still being answered when the caller is done with page 0.
        miles.hold("c1", until: "never", within: .milliseconds(200))
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 1) { cursor, _, _, named in await miles.fetch(cursor, named) }
        let first = try await reader.reading { () async -> Result<ContractPage, ScriptedMiles.Failure>? in
            let page = await reader.first(at: nil)
            #expect(await miles.waitUntilAsked("c1"))
            return page
        }
        #expect(try first?.get().totalCount == 0)
        #expect(miles.answered.contains("c1"), "reading returned before the page it asked for was answered")
    }

    @Test("pages asked ahead are asked at the reader's priority, one the caller waits for at its own; none on the caller's executor")
    func priorityAndExecutor() async throws {
        let miles = ScriptedMiles(pages: 4)
        let executor = QueueExecutor()
        // (base priority, asked on the caller's executor) per page.
        let asked = Mutex<[(TaskPriority?, Bool)]>([])
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2, priority: .utility) { cursor, _, _, named in
            asked.withLock { $0.append((withUnsafeCurrentTask { $0?.basePriority }, QueueExecutor.isCurrent)) }
            return await miles.fetch(cursor, named)
        }
        defer { reader.stop() }
        let positions = try await withTaskExecutorPreference(executor) {
            // The preference takes effect when the task is next scheduled, not at the call.
            await Task.yield()
            #expect(QueueExecutor.isCurrent)
            var page = try #require(try await reader.first(at: nil)?.get())
            var positions = [page.totalCount]
            while let next = await reader.next(after: page) {
                page = try next.get()
                positions.append(page.totalCount)
            }
            return positions
        }
        #expect(positions == [0, 1, 2, 3])
        let seen = asked.withLock { $0 }
        #expect(seen.count == 4)
        // The first page is waited for as soon as it is asked; each later one is named, and asked, before.
        #expect(seen.first?.0 != .utility, "the page the caller waited for was asked at \(String(describing: seen.first?.0))")
        #expect(seen.dropFirst().allSatisfy { $0.0 == .utility }, "asked at \(seen.map(\.0))")
        // A guard more than a check today: an unstructured task does not take the caller's preference.
        #expect(seen.allSatisfy { !$0.1 }, "a page was asked on the caller's executor, where the store works")
    }

    @Test("the last page names no next one; once stopped nothing more is handed over or asked for")
    func endAndStop() async throws {
        let miles = ScriptedMiles(pages: 1)
        let reader = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { cursor, _, _, named in await miles.fetch(cursor, named) }
        let only = try #require(try await reader.first(at: nil)?.get())
        #expect(await reader.next(after: only) == nil)

        let longer = ScriptedMiles(pages: 10)
        let stopped = ContractPageReader<ScriptedMiles.Failure>(depth: 2) { cursor, _, _, named in await longer.fetch(cursor, named) }
        let page = try #require(try await stopped.first(at: nil)?.get())
        #expect(await longer.waitUntilAsked("c2"))
        stopped.stop()
        #expect(await stopped.next(after: page) == nil)
        // Taking page 1 would have asked for page 3.
        #expect(!longer.asked.contains("c3"))
    }
}

/// A task executor of its own for a test's caller: jobs run on one dispatch queue, which code can
/// recognise itself on.
private final class QueueExecutor: TaskExecutor {
    private static let key = DispatchSpecificKey<Bool>()
    private let queue = DispatchQueue(label: "the caller's executor")

    init() {
        queue.setSpecific(key: Self.key, value: true)
    }

    static var isCurrent: Bool { DispatchQueue.getSpecific(key: key) == true }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
