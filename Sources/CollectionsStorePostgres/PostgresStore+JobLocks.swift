import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: JobLockStore {
    public func acquireJobLock(job: String, for holder: JobLockHolder, isGone: @Sendable (JobLockHolder) -> Bool) async throws -> JobLockOutcome {
        // A holder is judged outside the store's calls (which may be abandoned at their deadline), and
        // taken over only if it still holds the lock: of two takers at once, one takes it.
        for _ in 0..<3 {
            guard let current = try await tryToTake(job: job, for: holder) else { return .acquired }
            guard isGone(current) else { return .heldBy(current) }
            if try await takeOver(job: job, from: current, for: holder) { return .acquired }
        }
        throw StoreError(.changedMeanwhile, input: "job \(job)", "the lock of job \(job) kept changing hands while it was being taken; try again")
    }

    /// Takes the free lock; nil when taken, or the holder of the held one.
    private func tryToTake(job: String, for holder: JobLockHolder) async throws -> JobLockHolder? {
        try await transaction { [self] connection in
            let inserted = try await rows("""
                INSERT INTO job_locks (job, process_id, host, since)
                VALUES (\(job), \(holder.processId), \(holder.host), \(holder.since.millisecondsSinceEpoch))
                ON CONFLICT (job) DO NOTHING RETURNING job
                """, on: connection)
            guard inserted.isEmpty, let row = try await rows("SELECT * FROM job_locks WHERE job = \(job)", on: connection).first else { return nil }
            return JobLockHolder(processId: try row.value("process_id"), host: try row.value("host"),
                                 since: Timestamp(millisecondsSinceEpoch: try row.value("since")))
        }
    }

    /// Moves the lock from `current`, judged gone, to `holder`, audited; false when `current` no longer holds it.
    private func takeOver(job: String, from current: JobLockHolder, for holder: JobLockHolder) async throws -> Bool {
        try await transaction { [self] connection in
            let moved = try await rows("""
                UPDATE job_locks SET process_id = \(holder.processId), host = \(holder.host), since = \(holder.since.millisecondsSinceEpoch)
                WHERE job = \(job) AND process_id = \(current.processId) AND host = \(current.host) AND since = \(current.since.millisecondsSinceEpoch)
                RETURNING job
                """, on: connection)
            guard !moved.isEmpty else { return false }
            try await audit(connection, at: holder.since, actor: "process \(holder.processId) on \(holder.host)", action: "job.lock-taken-over",
                            subject: "job:\(job)", details: "\(current) had ended without releasing it")
            return true
        }
    }

    public func releaseJobLock(job: String, for holder: JobLockHolder) async throws {
        try await transaction { [self] connection in
            _ = try await connection.query("""
                DELETE FROM job_locks WHERE job = \(job) AND process_id = \(holder.processId) AND host = \(holder.host)
                AND since = \(holder.since.millisecondsSinceEpoch)
                """, logger: logger)
        }
    }
}
