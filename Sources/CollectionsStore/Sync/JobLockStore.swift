import CollectionsDomain

/// Who runs a job now: the process and machine, and since when.
public struct JobLockHolder: Sendable, Equatable, CustomStringConvertible {
    public var processId: Int32
    public var host: String
    public var since: Timestamp

    public init(processId: Int32, host: String, since: Timestamp) {
        self.processId = processId
        self.host = host
        self.since = since
    }

    public var description: String { "process \(processId) on \(host), since \(since)" }
}

/// What asking for a job's lock did.
public enum JobLockOutcome: Sendable, Equatable {
    case acquired
    /// Another run holds it.
    case heldBy(JobLockHolder)
}

/// One run of a job at a time (the contract sync), across processes sharing the store.
public protocol JobLockStore: Sendable {
    /// Takes the job's lock for `holder` unless another holds it; a holder `isGone` says has ended
    /// without releasing it (killed) is taken over. Atomic across processes.
    func acquireJobLock(job: String, for holder: JobLockHolder, isGone: @Sendable (JobLockHolder) -> Bool) async throws -> JobLockOutcome

    /// Releases the lock if `holder` still holds it.
    func releaseJobLock(job: String, for holder: JobLockHolder) async throws
}
