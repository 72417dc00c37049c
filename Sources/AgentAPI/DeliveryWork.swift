import CollectionsStore
import Logging
import MilesSync

/// Deliveries being processed in the background: each at most once at a time (the same content
/// posted again while it runs joins it rather than processing it twice), with a wait that gives up
/// after a while so a large delivery is answered 202 instead of holding its request.
actor DeliveryWork {
    private let desk: IngestDesk
    private let logger: Logger
    private var running: [Int64: Task<Void, Never>] = [:]
    private var waiters: [Int64: [Int: CheckedContinuation<Result<InboxFile, any Error>?, Never>]] = [:]
    private var nextWaiter = 0

    init(desk: IngestDesk, logger: Logger) {
        self.desk = desk
        self.logger = logger
    }

    /// Processes the delivery, or joins its processing if it is already under way, and waits for the
    /// outcome for at most `duration`: nil if it is still being processed then (it goes on).
    func process(_ file: InboxFile, answeringWithin duration: Duration) async -> Result<InboxFile, any Error>? {
        if running[file.id] == nil {
            let desk = desk
            running[file.id] = Task {
                let result: Result<InboxFile, any Error>
                do { result = .success(try await desk.process(file)) } catch { result = .failure(error) }
                self.finished(file.id, result)
            }
        }
        nextWaiter += 1
        let token = nextWaiter
        return await withCheckedContinuation { continuation in
            waiters[file.id, default: [:]][token] = continuation
            Task {
                try? await Task.sleep(for: duration)
                self.giveUp(file.id, token)
            }
        }
    }

    /// Waits for every delivery being processed (the server is stopping).
    func finishAll() async {
        for task in running.values { await task.value }
    }

    private func finished(_ id: Int64, _ result: Result<InboxFile, any Error>) {
        running[id] = nil
        if case let .failure(error) = result {
            logger.error("agent delivery processing stopped; it resumes when the adapter restarts",
                         metadata: ["delivery": "\(id)", "error": "\(error)"])
        }
        for continuation in (waiters.removeValue(forKey: id) ?? [:]).values { continuation.resume(returning: result) }
    }

    private func giveUp(_ id: Int64, _ token: Int) {
        waiters[id]?.removeValue(forKey: token)?.resume(returning: nil)
    }
}
