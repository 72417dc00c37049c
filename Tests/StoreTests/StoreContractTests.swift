import CollectionsDomain
import CollectionsStore
import Foundation
import TestSupport
import Testing

/// The store contract, on every store: the same tests, the same count on each (issue 15).
@Suite("The store contract, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct StoreContractTests {
    let start = Timestamp(millisecondsSinceEpoch: 1_796_000_000_000)

    @Test("the schema is migrated when a store opens, once however many open it at once", arguments: StoreKind.available)
    func migrations(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let migrations = try await subject.store.migrations()
            #expect(!migrations.isEmpty)
            #expect(migrations.allSatisfy { $0.isApplied })
            async let first = subject.reopen()
            async let second = subject.reopen()
            let reopened = try await [first, second]
            #expect(try await reopened[0].migrations() == migrations.map { SchemaMigration(name: $0.name, isApplied: true, appliedAt: $0.appliedAt) })
        }
    }

    @Test("audit entries from two stores at once make one chain; a deleted last entry or an edited one breaks it, where it happened", arguments: StoreKind.available)
    func auditChain(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let other = try await subject.reopen()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, store) in [subject.store, other].enumerated() {
                    group.addTask {
                        for view in 0..<25 {
                            try await store.recordPersonalDataView(by: "agent-\(index)", partnerId: "P\(view)", contractNumber: "C\(view)",
                                                                   at: start.adding(milliseconds: Int64(view)))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let entries = try await subject.store.auditEntries()
            #expect(entries.map(\.sequence) == Array(1...50))
            #expect(try await subject.store.verifyAudit() == .intact(entries: 50))
            #expect(try await other.recentAuditEntries(limit: 2).map(\.sequence) == [50, 49])
            let aboutC3 = try await subject.store.auditEntries(subject: "contract:C3", limit: 10)
            #expect(aboutC3.count == 2)
            // A contract's page shows the newest of a long trail, not the oldest.
            #expect(try await subject.store.auditEntries(subject: "contract:C3", limit: 1).map(\.sequence) == [aboutC3.map(\.sequence).max()])
            #expect(aboutC3.map(\.sequence) == aboutC3.map(\.sequence).sorted(by: >))

            try await subject.execute("UPDATE audit_log SET details = 'nothing to see' WHERE sequence = 7")
            #expect(try await subject.store.verifyAudit() == .broken(sequence: 7, reason: "its content was changed after it was written"))
            try await subject.execute("UPDATE audit_log SET details = '\(entries[6].details.replacingOccurrences(of: "'", with: "''"))' WHERE sequence = 7")
            try await subject.execute("DELETE FROM audit_log WHERE sequence = 50")
            #expect(try await subject.store.verifyAudit() == .broken(sequence: 50, reason: "entries 50...50 are missing (deleted)"))
            try await subject.store.acknowledgeAuditBreak(sequence: 50, by: "carol", reason: "restored from backup without the last view", at: start)
            #expect(try await subject.store.verifyAudit() == .acknowledged(entries: 50, breaks: [50]))
        }
    }

    @Test("a job lock: one holder at a time, a holder that has ended taken over and audited, released only by its holder", arguments: StoreKind.available)
    func jobLocks(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let first = JobLockHolder(processId: 11, host: "machine-a", since: start)
            let second = JobLockHolder(processId: 22, host: "machine-b", since: start.adding(milliseconds: 1_000))
            let other = try await subject.reopen()
            #expect(try await subject.store.acquireJobLock(job: "contracts", for: first) { _ in false } == .acquired)
            #expect(try await other.acquireJobLock(job: "contracts", for: second) { _ in false } == .heldBy(first))
            #expect(try await other.acquireJobLock(job: "push", for: second) { _ in false } == .acquired)
            try await other.releaseJobLock(job: "contracts", for: second)
            #expect(try await other.acquireJobLock(job: "contracts", for: second) { _ in false } == .heldBy(first))
            #expect(try await other.acquireJobLock(job: "contracts", for: second) { $0 == first } == .acquired)
            let takeover = try #require(try await subject.store.auditEntries().last)
            #expect(takeover.action == "job.lock-taken-over")
            #expect(takeover.subject == "job:contracts")
            #expect(takeover.details.contains("process 11 on machine-a"))
            try await other.releaseJobLock(job: "contracts", for: second)
            #expect(try await subject.store.acquireJobLock(job: "contracts", for: first) { _ in false } == .acquired)
        }
    }

    @Test("a rate bucket is shared by every store on the same data: drawn down, waited for, refilled over the minute", arguments: StoreKind.available)
    func rateLimits(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let other = try await subject.reopen()
            #expect(try await subject.store.drawToken(bucket: "requests:acme", capacity: 3, now: start, taking: true) == nil)
            #expect(try await other.drawToken(bucket: "requests:acme", capacity: 3, now: start, taking: true) == nil)
            #expect(try await subject.store.drawToken(bucket: "requests:acme", capacity: 3, now: start, taking: true) == nil)
            // Empty: one token comes back every 20 seconds.
            #expect(try await other.drawToken(bucket: "requests:acme", capacity: 3, now: start, taking: true) == 20)
            #expect(try await other.drawToken(bucket: "requests:acme", capacity: 3, now: start.adding(milliseconds: 15_000), taking: false) == 5)
            #expect(try await other.drawToken(bucket: "requests:acme", capacity: 3, now: start.adding(milliseconds: 20_000), taking: true) == nil)
            #expect(try await subject.store.drawToken(bucket: "requests:tracewise", capacity: 3, now: start, taking: true) == nil)
        }
    }
}
