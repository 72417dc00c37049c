import Foundation
import Logging
import MilesSync
import Synchronization

/// Shows sync progress: a bar that redraws itself on a terminal, one log line per page otherwise.
final class SyncProgressReporter: Sendable {
    private let isTerminal: Bool
    private let logger: Logger
    private let drewBar = Mutex(false)

    init(logger: Logger) {
        isTerminal = isatty(STDERR_FILENO) == 1
        self.logger = logger
    }

    func report(_ progress: ContractSync.Progress) {
        guard isTerminal else {
            logger.info("page committed", metadata: [
                "page": "\(progress.page)", "received": "\(progress.received)", "of": "\(progress.milesTotal)",
                "written": "\(progress.written)"])
            return
        }
        let total = max(progress.milesTotal, 1)
        let width = 30
        let filled = min(width, progress.received * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(progress.received)/\(progress.milesTotal) contracts, page \(progress.page)".utf8))
        drewBar.withLock { $0 = true }
    }

    /// Ends the bar's line so the summary starts on a fresh one.
    func finish() {
        if drewBar.withLock({ $0 }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
