import Foundation

/// The thread the SQLite store's work runs on: a serial executor for the `SQLiteStore` actor, and a
/// task executor that a job calling the store many times in a row (the outbox relay) can prefer,
/// so that its store calls run on this thread without a hand-off each way. Blocking SQLite work
/// (a commit, a checkpoint, a wait for another process's write lock) never holds one of the
/// cooperative pool's threads.
///
/// The thread ends when the store is released and its queue is empty; a job that still arrives
/// after that (a task that kept preferring this executor) starts it again, so no job is dropped.
final class StoreExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs`, `stopped` and `running` are only touched with `condition` locked.
    private let condition = NSCondition()
    private let name: String
    private var jobs: [UnownedJob] = []
    private var stopped = false
    private var running = false

    init(name: String) {
        self.name = name
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        if running {
            condition.signal()
        } else {
            running = true
            Thread { [self] in run() }.start()
        }
        condition.unlock()
    }

    /// Lets the thread end once the jobs already queued have run.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        // Named once the thread that started this one lets go of the lock, which it holds until `start()` has
        // returned. Foundation on Linux names a thread through the handle `start()` stores as it returns, and
        // its thread start-up writes the name inherited from the starting thread back before `run` begins:
        // named any earlier, inside or from the starting thread, the name could be lost (it was, in one test
        // run of three: the thread kept the pool's "com.apple.root.default-qos").
        condition.lock()
        Thread.current.name = name
        condition.unlock()
        while true {
            condition.lock()
            while jobs.isEmpty, !stopped { condition.wait() }
            guard !jobs.isEmpty else {
                running = false
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
        }
    }
}
