import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore: JobLockStore {
    public func acquireJobLock(job: String, for holder: JobLockHolder, isGone: @Sendable (JobLockHolder) -> Bool) async throws -> JobLockOutcome {
        do {
            return try await acquiring(job: job, for: holder, isGone: isGone)
        } catch let error as StoreError where error.code == .changedMeanwhile {
            // Released between the insert and the look: free now, as SQLite would have found it.
            return try await acquiring(job: job, for: holder, isGone: isGone)
        }
    }

    private func acquiring(job: String, for holder: JobLockHolder, isGone: @Sendable (JobLockHolder) -> Bool) async throws -> JobLockOutcome {
        try await transaction { connection in
            let inserted = try await rows("""
                INSERT INTO job_locks (job, process_id, host, since)
                VALUES (\(job), \(holder.processId), \(holder.host), \(holder.since.millisecondsSinceEpoch))
                ON CONFLICT (job) DO NOTHING RETURNING job
                """, on: connection)
            guard inserted.isEmpty else { return .acquired }
            // Held: the row stays locked while the holder is judged, so two takers cannot both take it over.
            guard let row = try await rows("SELECT * FROM job_locks WHERE job = \(job) FOR UPDATE", on: connection).first else {
                throw StoreError(.changedMeanwhile, input: "job \(job)", "the lock of job \(job) was released while it was being taken; try again")
            }
            let current = JobLockHolder(processId: try row.value("process_id"), host: try row.value("host"),
                                        since: Timestamp(millisecondsSinceEpoch: try row.value("since")))
            guard isGone(current) else { return .heldBy(current) }
            try await audit(connection, at: holder.since, actor: "process \(holder.processId) on \(holder.host)", action: "job.lock-taken-over",
                            subject: "job:\(job)", details: "\(current) had ended without releasing it")
            try await connection.query("""
                UPDATE job_locks SET process_id = \(holder.processId), host = \(holder.host), since = \(holder.since.millisecondsSinceEpoch)
                WHERE job = \(job)
                """, logger: logger)
            return .acquired
        }
    }

    public func releaseJobLock(job: String, for holder: JobLockHolder) async throws {
        try await transaction { connection in
            try await connection.query("""
                DELETE FROM job_locks WHERE job = \(job) AND process_id = \(holder.processId) AND host = \(holder.host)
                AND since = \(holder.since.millisecondsSinceEpoch)
                """, logger: logger)
        }
    }
}
