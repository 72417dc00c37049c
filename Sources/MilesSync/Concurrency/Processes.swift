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
        JobLockHolder(processId: getpid(), host: machine, since: time)
    }

    /// This process as a push worker, named `name` or, by default, after the machine and process.
    public static func outboxWorker(named name: String? = nil) -> OutboxWorker {
        OutboxWorker(name: name ?? "\(hostName):\(getpid())", host: machine, processId: getpid())
    }

    @Sendable public static func isGone(_ holder: JobLockHolder) -> Bool { hasEnded(processId: holder.processId, host: holder.host) }

    @Sendable public static func isGone(_ worker: OutboxWorker) -> Bool { hasEnded(processId: worker.processId, host: worker.host) }

    /// A process on this machine that no longer exists (killed without letting go), or whose process
    /// id now belongs to another program. One on another machine is never judged ended: it ends
    /// there. Whatever cannot be told for sure (a process of another user, say) counts as alive.
    static func hasEnded(processId: Int32, host: String) -> Bool {
        guard host == machine, processId != getpid() else { return false }
        if kill(processId, 0) == -1 && errno == ESRCH { return true }
        // The id may have been reused since: the holder ran the program this process runs.
        guard let theirs = executable(of: "\(processId)"), let ours = executable(of: "self") else { return false }
        return theirs != ours
    }

    /// The program a process runs, as /proc links it; nil when it cannot be read.
    private static func executable(of process: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process)/exe")
    }

    /// This machine as lock and lease holders name it: the host name and the process-id namespace.
    /// Containers that share a host name (host networking) each have process ids of their own, and
    /// an id seen from one says nothing about another: to each other they are different machines.
    static var machine: String {
        guard let namespace = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid"),
              let inode = namespace.split(whereSeparator: { !$0.isNumber }).last else { return hostName }
        return "\(hostName)/pidns-\(inode)"
    }

    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown-host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
