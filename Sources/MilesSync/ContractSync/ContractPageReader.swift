import CollectionsDomain
import Synchronization

/// The pages of one FindContracts query, read from MILES in order and ahead of the caller: a page
/// is asked for as soon as the answer before it names it (MILES's schema puts NextCursor before the
/// contracts), so up to `depth` pages ahead of the caller's are received and decoded at once, on as
/// many cores, while the caller works on the one it took.
///
/// A page asked before the answer naming it is whole is asked *early*: once, without retries, and
/// only while the page two before it was answered (so a MILES failing every answer is asked one
/// page ahead at most). An early page that failed is asked again when its turn comes, told that
/// failure, which counts as its first attempt (a retry honours its Retry-After). A page whose
/// answer, once whole, names another next cursor than the one its successor was asked with (an
/// answer retried after a failure that moved on) has its successor asked again with the cursor the
/// whole answer names.
///
/// ```swift
/// let reader = ContractPageReader(depth: 2) { cursor, early, failedEarly, nextCursorRead in
///     await fetch(cursor: cursor, attempts: early ? 1 : 3, after: failedEarly, nextCursorRead: nextCursorRead)
/// }
/// try await reader.reading {
///     var page = try await reader.first(at: checkpointCursor)!.get()
///     while let next = await reader.next(after: page) { page = try next.get() }
/// }
/// ```
public final class ContractPageReader<Failure: Error>: Sendable {
    /// Asks for the page at `cursor`. `early`: asked before the answer naming it was whole, so once,
    /// without retries; `failedEarly`: how the early attempt failed, when this asks again in its turn.
    public typealias Fetch = @Sendable (_ cursor: String?, _ early: Bool, _ failedEarly: Failure?,
                                        _ nextCursorRead: @escaping @Sendable (String) -> Void) async -> Result<ContractPage, Failure>

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
        /// Pages asked early, and pages whose answer came whole and good.
        var early: Set<Int> = []
        var answered: Set<Int> = []
        var stopped = false
    }

    private let depth: Int
    private let priority: TaskPriority?
    private let fetch: Fetch
    private let state = Mutex(State())

    /// `depth`: how many pages may be asked for ahead of the one the caller works on (at least 1).
    /// Each is held decoded in memory until taken. `priority`: the priority of the pages asked ahead
    /// of the caller (the caller's when nil); a page the caller already waits for is asked at its own.
    public init(depth: Int, priority: TaskPriority? = nil, fetch: @escaping Fetch) {
        self.depth = max(1, depth)
        self.priority = priority
        self.fetch = fetch
    }

    deinit {
        stop()
    }

    /// The query's first page here: the one asked for with `cursor` (nil: the query's start).
    public func first(at cursor: String?) async -> Result<ContractPage, Failure>? {
        await take { state in
            precondition(state.cursors.isEmpty, "a ContractPageReader reads one query: first(at:) is asked once")
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
                state.early = state.early.filter { $0 < position }
                state.answered = state.answered.filter { $0 < position }
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
        let chosen: (position: Int, fetch: Task<Result<ContractPage, Failure>, Never>)? = state.withLock { state in
            guard !state.stopped, let position = choose(&state) else { return nil }
            state.taken = position + 1
            askAllowed(&state)
            return state.fetches.removeValue(forKey: position).map { (position, $0) }
        }
        guard let (position, fetch) = chosen else { return nil }
        let result = await wait(for: fetch)
        guard case let .failure(failure) = result else { return result }
        // An early page that failed is asked again in its turn, its early failure the first attempt. Kept
        // among the fetches while it runs, so that `stop` returns it, and let go of (with its page) once in.
        let again: Task<Result<ContractPage, Failure>, Never>? = state.withLock { state in
            guard !state.stopped, state.early.remove(position) != nil else { return nil }
            let task = ask(position, cursor: state.cursors[position], early: false, failedEarly: failure, ahead: false)
            state.fetches[position] = task
            return task
        }
        guard let again else { return result }
        let answer = await wait(for: again)
        state.withLock { _ = $0.fetches.removeValue(forKey: position) }
        return answer
    }

    private func wait(for fetch: Task<Result<ContractPage, Failure>, Never>) async -> Result<ContractPage, Failure> {
        await withTaskCancellationHandler {
            await fetch.value
        } onCancel: {
            fetch.cancel()
        }
    }

    /// The answer for the page at `position`, asked with `askedWith`, named the cursor of the page after it.
    /// An answer dropped since (its cursor replaced) is not listened to.
    private func cursorRead(_ cursor: String, after position: Int, askedWith: String?) {
        state.withLock { state in
            guard !state.stopped, state.cursors.count == position + 1, state.cursors[position] == askedWith else { return }
            state.cursors.append(cursor)
            askAllowed(&state)
        }
    }

    /// Asks for every page not yet asked for whose cursor is known, up to `depth` past the caller's; a
    /// page whose predecessor is not yet answered only while the page two before it is.
    private func askAllowed(_ state: inout State) {
        // The caller works on page `taken - 1`, or waits for it.
        let last = min(state.cursors.count - 1, state.taken - 1 + depth)
        guard !state.stopped, state.askedUpTo < last else { return }
        for position in (state.askedUpTo + 1)...last {
            let early = position >= state.taken && !state.answered.contains(position - 1)
            if early, position >= 2, !state.answered.contains(position - 2) { break }
            if early { state.early.insert(position) }
            state.fetches[position] = ask(position, cursor: state.cursors[position], early: early, failedEarly: nil,
                                          ahead: position >= state.taken)
            state.askedUpTo = position
        }
    }

    /// `ahead`: asked before the caller waits for it, so at the reader's priority.
    private func ask(_ position: Int, cursor: String?, early: Bool, failedEarly: Failure?,
                     ahead: Bool) -> Task<Result<ContractPage, Failure>, Never> {
        // The task holds the reader until its answer is in: a reader let go of without `stop` still
        // ends, after at most `depth` more pages. The shared pool is named, though an unstructured task
        // does not take the caller's executor preference today: the sync prefers the SQLite store's
        // thread, and decoding must never queue behind the store's work there. A waiting caller's
        // priority raises the task's, but not that of a thread already running its call (libdispatch
        // fixes a thread's nice value when it takes the work): hence the caller's own priority for a
        // page it already waits for.
        Task(executorPreference: globalConcurrentExecutor, priority: ahead ? priority : nil) { [fetch, self] in
            let result = await fetch(cursor, early, failedEarly) { next in self.cursorRead(next, after: position, askedWith: cursor) }
            if case .success = result { answered(position, askedWith: cursor) }
            return result
        }
    }

    /// The page at `position`, asked with `askedWith`, was answered whole: pages held back behind it may be asked.
    private func answered(_ position: Int, askedWith: String?) {
        state.withLock { state in
            guard !state.stopped, position < state.cursors.count, state.cursors[position] == askedWith else { return }
            state.answered.insert(position)
            askAllowed(&state)
        }
    }
}
