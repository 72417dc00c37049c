import CollectionsDomain
import Synchronization

/// The pages of one FindContracts query, read from MILES in order and ahead of the caller: a page
/// is asked for as soon as the answer before it names it (MILES's schema puts NextCursor before the
/// contracts), so up to `depth` pages ahead of the caller's are received and decoded at once, on as
/// many cores, while the caller works on the one it took.
///
/// A page whose answer, once whole, names another next cursor than the one its successor was asked
/// with (an answer retried after a failure that moved on) has its successor asked again with the
/// cursor the whole answer names; what was asked with the other one is dropped.
///
/// ```swift
/// let reader = ContractPageReader(depth: 2) { cursor, nextCursorRead in
///     await fetch(cursor: cursor, nextCursorRead: nextCursorRead)
/// }
/// try await reader.reading {
///     var page = try await reader.first(at: checkpointCursor)!.get()
///     while let next = await reader.next(after: page) { page = try next.get() }
/// }
/// ```
public final class ContractPageReader<Failure: Error>: Sendable {
    public typealias Fetch = @Sendable (_ cursor: String?, _ nextCursorRead: @escaping @Sendable (String) -> Void) async
        -> Result<ContractPage, Failure>

    private struct State {
        /// The cursor each page is asked with, by its position in the query (the first may be nil).
        var cursors: [String?] = []
        var fetches: [Int: Task<Result<ContractPage, Failure>, Never>] = [:]
        /// Pages dropped while still being asked for, which `reading` waits for.
        var dropped: [Task<Result<ContractPage, Failure>, Never>] = []
        /// Pages handed to the caller; the caller works on the last of them.
        var taken = 0
        /// Pages asked for so far are those up to this position.
        var askedUpTo = -1
        var stopped = false
    }

    private let depth: Int
    private let fetch: Fetch
    private let state = Mutex(State())

    /// `depth`: how many pages may be asked for ahead of the one the caller works on (at least 1).
    /// Each is held decoded in memory until taken.
    public init(depth: Int, fetch: @escaping Fetch) {
        self.depth = max(1, depth)
        self.fetch = fetch
    }

    deinit {
        stop()
    }

    /// The query's first page here: the one asked for with `cursor` (nil: the query's start).
    public func first(at cursor: String?) async -> Result<ContractPage, Failure>? {
        await take { state in
            state.cursors = [cursor]
            return 0
        }
    }

    /// The page after `previous` (the page last taken), or nil when `previous` names none.
    public func next(after previous: ContractPage) async -> Result<ContractPage, Failure>? {
        await take { state in
            guard let following = previous.nextCursor else { return nil }
            let position = state.taken
            if position < state.cursors.count, state.cursors[position] != following {
                for (later, fetch) in state.fetches where later >= position {
                    fetch.cancel()
                    state.dropped.append(fetch)
                }
                state.fetches = state.fetches.filter { $0.key < position }
                state.cursors.removeSubrange(position...)
                state.askedUpTo = position - 1
            }
            if position == state.cursors.count { state.cursors.append(following) }
            return position
        }
    }

    /// Runs `body`, which takes the pages, then stops reading and waits for every page still being
    /// asked for to end: nothing the reader started outlives it.
    public func reading<Output>(_ body: () async throws(Failure) -> Output) async throws(Failure) -> Output {
        let outcome: Result<Output, Failure>
        do throws(Failure) {
            outcome = .success(try await body())
        } catch {
            outcome = .failure(error)
        }
        for fetch in stop() { _ = await fetch.value }
        return try outcome.get()
    }

    /// Stops reading: pages being asked for are cancelled and nothing more is asked. Returns them.
    @discardableResult
    public func stop() -> [Task<Result<ContractPage, Failure>, Never>] {
        state.withLock { state in
            state.stopped = true
            let running = Array(state.fetches.values) + state.dropped
            for fetch in running { fetch.cancel() }
            state.fetches = [:]
            state.dropped = []
            return running
        }
    }

    private func take(_ choose: (inout State) -> Int?) async -> Result<ContractPage, Failure>? {
        let chosen: Task<Result<ContractPage, Failure>, Never>? = state.withLock { state in
            guard !state.stopped, let position = choose(&state) else { return nil }
            state.taken = position + 1
            askAllowed(&state)
            return state.fetches.removeValue(forKey: position)
        }
        guard let fetch = chosen else { return nil }
        return await withTaskCancellationHandler {
            await fetch.value
        } onCancel: {
            fetch.cancel()
        }
    }

    /// The answer for the page at `position` named the cursor of the page after it.
    private func cursorRead(_ cursor: String, after position: Int) {
        state.withLock { state in
            guard !state.stopped, state.cursors.count == position + 1 else { return }
            state.cursors.append(cursor)
            askAllowed(&state)
        }
    }

    /// Asks for every page not yet asked for whose cursor is known, up to `depth` past the caller's.
    private func askAllowed(_ state: inout State) {
        // The caller works on page `taken - 1`, or waits for it.
        let last = min(state.cursors.count - 1, state.taken - 1 + depth)
        guard !state.stopped, state.askedUpTo < last else { return }
        for position in (state.askedUpTo + 1)...last {
            let cursor = state.cursors[position]
            state.fetches[position] = Task { [fetch] in
                await fetch(cursor) { [weak self] next in self?.cursorRead(next, after: position) }
            }
        }
        state.askedUpTo = last
    }
}
