import CollectionsDomain
import CollectionsStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The lock that keeps one contract sync at a time per store (a scheduler may start tonight's run
/// while yesterday's is still going): who this process is, and whether a holder has ended.
public enum JobLocks {
    /// This process on this machine, from now.
    public static func thisProcess(at time: Timestamp) -> JobLockHolder {
        JobLockHolder(processId: getpid(), host: hostName, since: time)
    }

    /// A holder on this machine whose process no longer exists (killed without releasing it), or
    /// whose process id now belongs to another program. One on another machine is never judged
    /// gone: it ends there.
    @Sendable public static func isGone(_ holder: JobLockHolder) -> Bool {
        guard holder.host == hostName else { return false }
        if kill(holder.processId, 0) == -1 && errno == ESRCH { return true }
        // The id may have been reused since: the holder was a miles-adapter.
        guard let commandLine = try? String(contentsOfFile: "/proc/\(holder.processId)/cmdline", encoding: .utf8) else { return false }
        return !commandLine.contains("miles-adapter")
    }

    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown-host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
