import CollectionsDomain
import CollectionsStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Adapter processes sharing a store: who this one is, and whether another has ended. Jobs that
/// must run one at a time (the contract sync) hold a job lock; push workers hold outbox leases. A
/// holder known to have ended is taken over at once rather than when its lock or lease runs out.
public enum Processes {
    /// This process on this machine, as a job lock's holder from `time`.
    public static func jobLockHolder(at time: Timestamp) -> JobLockHolder {
        JobLockHolder(processId: getpid(), host: hostName, since: time)
    }

    /// This process as a push worker, named `name` or, by default, after the machine and process.
    public static func outboxWorker(named name: String? = nil) -> OutboxWorker {
        OutboxWorker(name: name ?? "\(hostName):\(getpid())", host: hostName, processId: getpid())
    }

    @Sendable public static func isGone(_ holder: JobLockHolder) -> Bool { hasEnded(processId: holder.processId, host: holder.host) }

    @Sendable public static func isGone(_ worker: OutboxWorker) -> Bool { hasEnded(processId: worker.processId, host: worker.host) }

    /// A process on this machine that no longer exists (killed without letting go), or whose process
    /// id now belongs to another program. One on another machine is never judged ended: it ends there.
    static func hasEnded(processId: Int32, host: String) -> Bool {
        guard host == hostName else { return false }
        if kill(processId, 0) == -1 && errno == ESRCH { return true }
        // The id may have been reused since: the holder was a miles-adapter.
        guard let commandLine = try? String(contentsOfFile: "/proc/\(processId)/cmdline", encoding: .utf8) else { return false }
        return !commandLine.contains("miles-adapter")
    }

    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown-host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
