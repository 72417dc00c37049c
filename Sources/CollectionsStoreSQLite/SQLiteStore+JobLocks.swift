import CollectionsDomain
import CollectionsStore
import GRDB

extension SQLiteStore: JobLockStore {
    public func acquireJobLock(job: String, for holder: JobLockHolder, isGone: @Sendable (JobLockHolder) -> Bool) async throws -> JobLockOutcome {
        // IMMEDIATE: the read and the write are one step for every process sharing the store.
        try immediateTransaction { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM job_locks WHERE job = ?", arguments: [job]) {
                let current = JobLockHolder(processId: row["process_id"], host: row["host"], since: Timestamp(millisecondsSinceEpoch: row["since"]))
                guard isGone(current) else { return .heldBy(current) }
                try self.audit(db, at: holder.since, actor: "process \(holder.processId) on \(holder.host)", action: "job.lock-taken-over",
                               subject: "job:\(job)", details: "\(current) had ended without releasing it")
            }
            try db.execute(sql: """
                INSERT INTO job_locks (job, process_id, host, since) VALUES (?, ?, ?, ?)
                ON CONFLICT(job) DO UPDATE SET process_id = excluded.process_id, host = excluded.host, since = excluded.since
                """, arguments: [job, holder.processId, holder.host, holder.since.millisecondsSinceEpoch])
            return .acquired
        }
    }

    public func releaseJobLock(job: String, for holder: JobLockHolder) async throws {
        try transaction { db in
            try db.execute(sql: "DELETE FROM job_locks WHERE job = ? AND process_id = ? AND host = ? AND since = ?",
                           arguments: [job, holder.processId, holder.host, holder.since.millisecondsSinceEpoch])
        }
    }
}
