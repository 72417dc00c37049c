import CollectionsDomain
import CollectionsStore
import Foundation
import GRDB

extension SQLiteStore {
    public func claimOutboxEntries(for worker: OutboxWorker, now: Timestamp, leaseUntil: Timestamp, limit: Int,
                                   isGone: @Sendable (OutboxWorker) -> Bool) async throws -> [OutboxEntry] {
        // IMMEDIATE: the look and the claim are one step for every process sharing the store.
        try immediateTransaction { db in
            let holders = try Row.fetchAll(db, sql: """
                SELECT DISTINCT lease_worker, lease_host, lease_pid FROM outbox
                WHERE state IN ('pending', 'sending') AND lease_expires_at > ?
                """, arguments: [now.millisecondsSinceEpoch]).map(Self.worker)
            let gone = holders.filter { $0 != worker && isGone($0) }
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM outbox
                WHERE state IN ('pending', 'sending') AND (state = 'sending' OR next_attempt_at <= ?1)
                  AND (lease_expires_at IS NULL OR lease_expires_at <= ?1
                       OR lease_worker || char(31) || lease_host || char(31) || lease_pid IN (SELECT value FROM json_each(?2)))
                  AND \(Self.undoingWaits)
                ORDER BY id LIMIT ?3
                """, arguments: [now.millisecondsSinceEpoch, Self.workerKeys(gone), limit])
            let claim = try db.cachedStatement(sql: """
                UPDATE outbox SET lease_worker = ?, lease_host = ?, lease_pid = ?, lease_expires_at = ?, fence = fence + 1 WHERE id = ?
                """)
            return try rows.map { row in
                var entry = try Self.outboxEntry(row)
                if let previous = entry.lease {
                    let why = previous.expiresAt <= now ? "its lease expired at \(previous.expiresAt)" : "its process had ended"
                    try self.audit(db, at: now, actor: worker.name, action: "outbox.lease-taken-over", subject: "outbox:\(entry.id)",
                                   details: "from \(previous.worker): \(why)")
                }
                try claim.execute(arguments: [worker.name, worker.host, worker.processId, leaseUntil.millisecondsSinceEpoch, entry.id])
                entry.lease = OutboxLease(worker: worker, expiresAt: leaseUntil)
                entry.fence += 1
                return entry
            }
        }
    }

    public func renewOutboxLeases(_ entries: [OutboxEntry], until: Timestamp) async throws -> Set<Int64> {
        try transaction { db in
            let renew = try db.cachedStatement(sql: "UPDATE outbox SET lease_expires_at = ? WHERE id = ? AND fence = ?")
            var held: Set<Int64> = []
            for entry in entries {
                try renew.execute(arguments: [until.millisecondsSinceEpoch, entry.id, entry.fence])
                if db.changesCount == 1 { held.insert(entry.id) }
            }
            return held
        }
    }

    public func releaseOutboxLeases(_ entries: [OutboxEntry]) async throws {
        try transaction { db in
            let release = try db.cachedStatement(sql: "UPDATE outbox SET \(Self.noLease) WHERE id = ? AND fence = ?")
            for entry in entries { try release.execute(arguments: [entry.id, entry.fence]) }
        }
    }

    public func outboxBacklog() async throws -> OutboxBacklog {
        try read { db in
            // An entry can be claimed when its retry time has come (a pending one) and no live lease holds it;
            // one undoing a write that is still waiting, when that write is settled, which its own time says.
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*) AS waiting,
                       min(CASE WHEN \(Self.undoingWaits)
                           THEN max(CASE state WHEN 'pending' THEN next_attempt_at ELSE 0 END, coalesce(lease_expires_at, 0)) END) AS next
                FROM outbox WHERE state IN ('pending', 'sending')
                """)
            return OutboxBacklog(waiting: row?["waiting"] ?? 0, nextClaimAt: (row?["next"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)))
        }
    }

    public func outboxEntries(state: OutboxEntry.State?) async throws -> [OutboxEntry] {
        try read { db in
            try (state.map { try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE state = ? ORDER BY id", arguments: [$0.rawValue]) }
                ?? Row.fetchAll(db, sql: "SELECT * FROM outbox ORDER BY id")).map(Self.outboxEntry)
        }
    }

    public func subjects(of entries: [OutboxEntry]) async throws -> [Int64: OutboxSubject] {
        try read { db in
            var subjects: [Int64: OutboxSubject] = [:]
            for entry in entries {
                let id = entry.subjectId
                switch entry.kind {
                case .postWriteOff: subjects[entry.id] = try self.writeOffRequest(id: id, db).map(OutboxSubject.writeOff)
                case .updateContractStatus: subjects[entry.id] = try self.statusChange(id: id, db).map(OutboxSubject.statusChange)
                case .addContractNote: subjects[entry.id] = try self.note(id: id, db).map(OutboxSubject.note)
                case .updateContactDetails: subjects[entry.id] = try self.contactChange(id: id, db).map(OutboxSubject.contactChange)
                case .raiseCreditNote: subjects[entry.id] = try self.creditNote(id: id, db).map(OutboxSubject.creditNote)
                case .reverseWriteOff: subjects[entry.id] = try self.writeOffReversal(id: id, db).map(OutboxSubject.writeOffReversal)
                case .requestCustomerLetter: subjects[entry.id] = try self.letterRequest(id: id, db).map(OutboxSubject.letter)
                case .createPaymentArrangement:
                    subjects[entry.id] = try self.arrangement(id: id, db).map { OutboxSubject.arrangement($0, cancellation: nil) }
                case .cancelPaymentArrangement:
                    let reason = try String.fetchOne(db, sql: "SELECT cancel_reason FROM arrangements WHERE id = ?", arguments: [id])
                    subjects[entry.id] = try self.arrangement(id: id, db).map { OutboxSubject.arrangement($0, cancellation: reason ?? "cancelled") }
                case .allocatePayment:
                    let payer = try String.fetchOne(db, sql: "SELECT counterparty_name FROM bank_entries WHERE id = ?", arguments: [id])
                    subjects[entry.id] = try self.paymentAllocation(id: id, db).map { OutboxSubject.paymentAllocation($0, payerName: payer) }
                case .reverseAllocation:
                    let reason = try String.fetchOne(db, sql: "SELECT return_reason FROM bank_entries WHERE reverses_entry_id = ? ORDER BY id LIMIT 1",
                                                     arguments: [id])
                    subjects[entry.id] = try self.paymentAllocation(id: id, db).map { OutboxSubject.allocationReversal($0, returnReason: reason) }
                }
            }
            return subjects
        }
    }

    public func outboxCounts() async throws -> [OutboxEntry.State: Int] {
        try read { db in
            var counts: [OutboxEntry.State: Int] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT state, count(*) AS n FROM outbox GROUP BY state")) {
                if let state = OutboxEntry.State(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }

    public func outboxEntry(id: Int64) async throws -> OutboxEntry? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM outbox WHERE id = ?", arguments: [id]).map(Self.outboxEntry) }
    }

    public func markSending(_ entry: OutboxEntry, at: Timestamp) async throws {
        try transaction { db in
            try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ? AND fence = ? AND state IN ('pending', 'sending')
                """).execute(arguments: [at.millisecondsSinceEpoch, entry.id, entry.fence])
            try Self.requireHeld(entry, db)
            if entry.kind == .allocatePayment {
                // From now MILES may hold it: the bank matching counts it until a sync shows MILES changed the contract since.
                try db.execute(sql: "UPDATE payment_allocations SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
                               arguments: [at.millisecondsSinceEpoch, entry.subjectId])
            }
            try self.audit(db, at: at, actor: "outbox-relay", action: "outbox.sending", subject: "outbox:\(entry.id)",
                           details: "push to MILES" + (entry.lease.map { " by \($0.worker.name)" } ?? ""))
        }
    }

    public func recordWriteOffPosted(_ entry: OutboxEntry, posted: PostedWriteOff, at: Timestamp) async throws {
        try transaction { db in
            let requestId = try self.markSent(entry, result: posted.writeOffId, at: at, db)
            try db.cachedStatement(sql: """
                UPDATE writeoff_requests SET state = 'posted', miles_writeoff_id = ?, miles_contract_version = ?, failure_reason = NULL WHERE id = ?
                """).execute(arguments: [posted.writeOffId, posted.contractVersion, requestId])
            try self.audit(db, at: at, actor: "outbox-relay", action: "writeoff.posted", subject: "writeoff:\(requestId)",
                      details: "MILES write-off \(posted.writeOffId) for \(posted.amount) on \(posted.contractNumber), "
                        + "contract version \(posted.contractVersion), reference \(posted.clientReference)")
        }
    }

    public func recordCreditPosted(_ entry: OutboxEntry, posted: PostedCredit, at: Timestamp) async throws {
        try transaction { db in
            let id = try self.markSent(entry, result: posted.milesId, at: at, db)
            let table = OutboxDoor.recordTable(of: entry.kind)
            try db.execute(sql: "UPDATE \(table) SET state = 'posted', miles_reference = ?, failure_reason = NULL WHERE id = ?",
                           arguments: [posted.milesId, id])
            if entry.kind == .raiseCreditNote {
                try db.execute(sql: "UPDATE credit_notes SET miles_contract_version = ? WHERE id = ?", arguments: [posted.contractVersion, id])
            }
            let record = try Self.creditTable(entry.kind).record
            try self.audit(db, at: at, actor: "outbox-relay", action: "\(record).posted", subject: "\(record):\(id)",
                      details: "MILES \(posted.milesId) for \(posted.amount) on \(posted.contractNumber), "
                        + "contract version \(posted.contractVersion), reference \(posted.clientReference)")
        }
    }

    public func recordRetry(_ entry: OutboxEntry, error: String, nextAttemptAt: Timestamp, at: Timestamp) async throws {
        try transaction { db in try self.scheduleRetry(entry, error: error, nextAttemptAt: nextAttemptAt, at: at, db) }
    }

    public func recordVersionConflictRetry(_ entry: OutboxEntry, version: Int64, error: String, nextAttemptAt: Timestamp, at: Timestamp) async throws {
        let table: String
        switch entry.kind {
        case .updateContractStatus: table = "status_changes"
        case .updateContactDetails: table = "contact_changes"
        default:
            throw StoreError(.wrongState, input: "outbox entry \(entry.id)",
                             "outbox entry \(entry.id) is a \(entry.kind.recordName), which carries no MILES version to re-send against")
        }
        try transaction { db in
            // The fence first: a worker whose claim was taken over changes nothing.
            try self.scheduleRetry(entry, error: error, nextAttemptAt: nextAttemptAt, at: at, db)
            try db.execute(sql: "UPDATE \(table) SET expected_version = ? WHERE id = ?", arguments: [version, entry.subjectId])
        }
    }

    /// Puts the claimed entry back to wait until `nextAttemptAt`, fenced on its claim.
    private func scheduleRetry(_ entry: OutboxEntry, error: String, nextAttemptAt: Timestamp, at: Timestamp, _ db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE outbox SET state = 'pending', last_error = ?, next_attempt_at = ?, updated_at = ?, \(Self.noLease) WHERE id = ? AND fence = ?
            """).execute(arguments: [error, nextAttemptAt.millisecondsSinceEpoch, at.millisecondsSinceEpoch, entry.id, entry.fence])
        try Self.requireHeld(entry, db)
        try self.audit(db, at: at, actor: "outbox-relay", action: "outbox.retry-scheduled", subject: "outbox:\(entry.id)",
                       details: "next attempt at \(nextAttemptAt): \(error)")
    }

    public func recordDeadLetter(_ entry: OutboxEntry, reason: String, cause: DeadLetterCause, at: Timestamp) async throws {
        try transaction { db in
            let requestId = entry.subjectId
            try db.execute(sql: "UPDATE outbox SET state = 'deadLetter', last_error = ?, updated_at = ?, \(Self.noLease) WHERE id = ? AND fence = ?",
                           arguments: [reason, at.millisecondsSinceEpoch, entry.id, entry.fence])
            try Self.requireHeld(entry, db)
            if entry.kind == .cancelPaymentArrangement {
                // The arrangement is still active in MILES: it stays active here, with why the cancellation failed.
                try db.execute(sql: "UPDATE arrangements SET failure_reason = ? WHERE id = ?", arguments: ["cancellation failed: " + reason, requestId])
            } else if entry.kind == .allocatePayment, cause == .refusedByMiles {
                try self.allocationNotSent(id: requestId, failure: reason, why: "MILES refused the allocation: " + reason, db)
                try self.dropWaitingReversal(of: entry, refusal: reason, at: at, db)
            } else if entry.kind == .allocatePayment {
                // Given up with the outcome unknown: MILES may hold it, so it stays allocated (pending) for a person to
                // retry (MILES answers a repeat with its first result) or reverse; never offered to another contract.
                try db.execute(sql: "UPDATE payment_allocations SET failure_reason = ? WHERE id = ?", arguments: ["not confirmed: " + reason, requestId])
            } else if entry.kind == .reverseAllocation {
                // MILES still holds the allocation: it stays reversing, with why the reversal failed.
                try db.execute(sql: "UPDATE payment_allocations SET failure_reason = ? WHERE id = ?", arguments: ["reversal failed: " + reason, requestId])
            } else {
                try db.execute(sql: "UPDATE \(OutboxDoor.recordTable(of: entry.kind)) SET state = 'failed', failure_reason = ? WHERE id = ?",
                               arguments: [reason, requestId])
            }
            try self.audit(db, at: at, actor: "outbox-relay", action: "outbox.dead-lettered", subject: "outbox:\(entry.id)", details: reason)
        }
    }

    public func retryOutboxEntry(id: Int64, by actor: String, at: Timestamp) async throws {
        try transaction { db in
            if let returnedBy = try Int64.fetchOne(db, sql: """
                SELECT r.id FROM outbox JOIN bank_entries r ON r.reverses_entry_id = outbox.subject_id WHERE outbox.id = ? AND outbox.kind = ?
                """, arguments: [id, OutboxKind.allocatePayment.rawValue]) {
                throw StoreError.returnedPayment(outboxId: id, returnedBy: returnedBy)
            }
            if try Bool.fetchOne(db, sql: """
                SELECT 1 FROM outbox JOIN payment_allocations a ON a.id = outbox.subject_id WHERE outbox.id = ? AND outbox.kind = ? AND a.state = 'reversed'
                """, arguments: [id, OutboxKind.reverseAllocation.rawValue]) == true {
                throw StoreError.nothingToReverse(outboxId: id)
            }
            // An AllocatePayment tried before keeps one attempt counted: a return then reverses it in MILES rather
            // than taking it for one MILES never saw (undoAllocation, skipOutboxEntry).
            try db.execute(sql: """
                UPDATE outbox SET state = 'pending', attempts = CASE WHEN kind = ? AND attempts > 0 THEN 1 ELSE 0 END, next_attempt_at = ?,
                    updated_at = ?, fence = fence + 1, \(Self.noLease)
                WHERE id = ? AND state IN ('deadLetter', 'skipped')
                """, arguments: [OutboxKind.allocatePayment.rawValue, at.millisecondsSinceEpoch, at.millisecondsSinceEpoch, id])
            guard db.changesCount == 1 else {
                throw StoreError(.wrongState, input: "outbox entry \(id)",
                                 "outbox entry \(id) is not dead-lettered or skipped; only those can be retried")
            }
            let requestId = try self.subject(of: id, db)
            let table = try self.subjectTable(of: id, db)
            let kind = try Self.kind(of: id, db)
            // A money decision that failed no longer counts; queued again it must still be allowed beside those raised since.
            switch kind {
            case .reverseWriteOff: try self.requireWithinWriteOff(reversal: requestId, db)
            case .raiseCreditNote: try self.requireWithinOpen(creditNote: requestId, db)
            case .postWriteOff: try self.requireOnlyWriteOff(request: requestId, db)
            default: break
            }
            if kind == .allocatePayment {
                // Sent again: the allocation MILES refused stands once more, and its payment leaves the queue.
                // MILES took nothing from a refused one, so it counts as never sent until it is sent again.
                try db.execute(sql: """
                    UPDATE payment_allocations SET sent_at = CASE WHEN state = 'refused' THEN NULL ELSE sent_at END, state = 'pending',
                        failure_reason = NULL WHERE id = ? AND state IN ('refused', 'pending')
                    """, arguments: [requestId])
                try db.execute(sql: "UPDATE bank_entries SET state = 'allocated', reason = NULL WHERE id = ? AND state = 'toCheck'", arguments: [requestId])
            } else if let waiting = Self.waitingState(kind) {
                try db.execute(sql: "UPDATE \(table) SET state = ? WHERE id = ?", arguments: [waiting, requestId])
            } else {
                try db.execute(sql: "UPDATE \(table) SET failure_reason = NULL WHERE id = ?", arguments: [requestId])
            }
            try self.audit(db, at: at, actor: actor, action: "outbox.retried", subject: "outbox:\(id)", details: "re-queued by \(actor)")
        }
    }

    /// A failed reversal queued again counts against its write-off once more: refused when, with the reversals
    /// raised since it failed, more would be reversed than was written off (the check `createWriteOffReversal` makes).
    private func requireWithinWriteOff(reversal id: Int64, _ db: Database) throws {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT r.amount, r.currency, r.writeoff_request_id, w.amount AS written_off,
                (SELECT COALESCE(SUM(o.amount), 0) FROM writeoff_reversals o
                 WHERE o.writeoff_request_id = r.writeoff_request_id AND o.id <> r.id AND o.state NOT IN ('rejected', 'failed')) AS others
            FROM writeoff_reversals r JOIN writeoff_requests w ON w.id = r.writeoff_request_id WHERE r.id = ?
            """, arguments: [id]) else { return }
        let (amount, writtenOff, others): (Int64, Int64, Int64) = (row["amount"], row["written_off"], row["others"])
        guard others + amount > writtenOff else { return }
        let currency = try CurrencyCode(row["currency"] as String)
        throw StoreError.reversalBeyondWriteOff(reversal: id, amount: Money(minorUnits: amount, currency: currency),
                                                writeOffRequest: row["writeoff_request_id"], writtenOff: Money(minorUnits: writtenOff, currency: currency),
                                                others: Money(minorUnits: others, currency: currency))
    }

    /// A failed credit note queued again counts against what is open once more: refused when it is more than
    /// is open on its invoices (all the contract's when it names none) less the relief in flight since, as
    /// `CreditDesk` checks when one is raised.
    private func requireWithinOpen(creditNote id: Int64, _ db: Database) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT amount, currency, contract_number, invoice_numbers FROM credit_notes WHERE id = ?",
                                         arguments: [id]),
              let contract = try SQLiteSchema.contract(number: row["contract_number"], db) else { return }
        // Itself left out: one set aside after an attempt is still approved.
        let relief = (try Self.reliefInFlight(JSONArguments.array([contract.contractNumber]), awaitingApproval: true, db)[contract.contractNumber] ?? [])
            .filter { !$0.isRecord(.creditNote, id: id) }
        let (open, takenOff) = ReliefInFlight.open(on: StoredRelief.invoiceNumbers(row["invoice_numbers"]), of: contract, less: relief)
        let amount: Int64 = row["amount"]
        guard amount > open.minorUnits else { return }
        throw StoreError.creditBeyondOpen(creditNote: id, amount: Money(minorUnits: amount, currency: contract.currency),
                                          contractNumber: contract.contractNumber, open: open, takenOff: takenOff)
    }

    /// A failed write-off queued again must be the contract's only one on its way: refused while another is
    /// waiting for approval or MILES, or was posted since it failed.
    private func requireOnlyWriteOff(request id: Int64, _ db: Database) throws {
        guard let other = try Row.fetchOne(db, sql: """
            SELECT o.id, o.state, o.contract_number FROM writeoff_requests r JOIN writeoff_requests o ON o.contract_number = r.contract_number
            WHERE r.id = ? AND o.id <> r.id AND (o.state IN ('pendingApproval', 'approved') OR (o.state = 'posted' AND o.id > r.id))
            ORDER BY o.id LIMIT 1
            """, arguments: [id]) else { return }
        throw StoreError.anotherWriteOff(request: id, contractNumber: other["contract_number"], other: other["id"], state: other["state"])
    }

    public func skipOutboxEntry(id: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        try transaction { db in
            try db.execute(sql: """
                UPDATE outbox SET state = 'skipped', last_error = ?, updated_at = ?, fence = fence + 1, \(Self.noLease)
                WHERE id = ? AND state IN ('pending', 'deadLetter')
                """, arguments: [reason, at.millisecondsSinceEpoch, id])
            guard db.changesCount == 1 else {
                throw StoreError(.wrongState, input: "outbox entry \(id)",
                                 "outbox entry \(id) is not pending or dead-lettered; only those can be skipped")
            }
            let skipped = try Row.fetchOne(db, sql: "SELECT kind, subject_id, attempts FROM outbox WHERE id = ?", arguments: [id])
            guard let skipped, let kind = OutboxKind(rawValue: skipped["kind"]) else {
                throw StoreError(.corruptRecord, input: "outbox entry \(id)", "outbox entry \(id) has an unknown kind")
            }
            let (subjectId, neverSent): (Int64, Bool) = (skipped["subject_id"], (skipped["attempts"] as Int) == 0)
            switch kind {
            case .allocatePayment where neverSent:
                // An AllocatePayment MILES has never seen goes back to the queue.
                try self.allocationNotSent(id: subjectId, failure: "set aside by \(actor): \(reason)",
                                           why: "its allocation was set aside by \(actor) before it was sent: \(reason)", db)
            case .allocatePayment, .reverseAllocation, .cancelPaymentArrangement:
                // The payment may be allocated in MILES, the allocation or the arrangement still stands there.
                break
            case _ where neverSent:
                // MILES never saw it, so it is no longer on its way: failed, with why (a retry queues it again).
                try db.execute(sql: "UPDATE \(OutboxDoor.recordTable(of: kind)) SET state = 'failed', failure_reason = ? WHERE id = ? AND state <> 'failed'",
                               arguments: ["set aside by \(actor): \(reason)", subjectId])
            default:
                // Sent before, with no answer: MILES may have made it, so it stays as it is until a retry asks MILES.
                break
            }
            try self.audit(db, at: at, actor: actor, action: "outbox.skipped", subject: "outbox:\(id)", details: reason)
        }
    }

    /// The ReverseAllocation waiting for `allocation` (`undoingWaits`) once MILES has refused that
    /// allocation: MILES never held it, so the reversal is set aside and the allocation counts as undone.
    private func dropWaitingReversal(of allocation: OutboxEntry, refusal: String, at: Timestamp, _ db: Database) throws {
        let reference = OutboxKind.reverseAllocation.clientReference(forSubject: allocation.subjectId)
        guard let waiting = try Int64.fetchOne(db, sql: "SELECT id FROM outbox WHERE client_reference = ? AND state = 'pending'",
                                               arguments: [reference]) else { return }
        let why = "MILES refused the allocation it would reverse (\(allocation.clientReference)), so MILES holds nothing to reverse: \(refusal)"
        try db.execute(sql: "UPDATE outbox SET state = 'skipped', last_error = ?, updated_at = ?, fence = fence + 1, \(Self.noLease) WHERE id = ?",
                       arguments: [why, at.millisecondsSinceEpoch, waiting])
        try db.execute(sql: "UPDATE payment_allocations SET state = 'reversed' WHERE id = ? AND state = 'reversing'", arguments: [allocation.subjectId])
        try self.audit(db, at: at, actor: "outbox-relay", action: "outbox.skipped", subject: "outbox:\(waiting)", details: why)
    }

    /// An AllocatePayment that will not reach MILES (refused there, or set aside by a person before it
    /// was sent): MILES does not have it, so its entry waits for a person again (`why`), unless the bank
    /// has since taken the money back; a pending allocation is refused and may be made again (one
    /// being reversed stays so).
    func allocationNotSent(id: Int64, failure: String, why: String, _ db: Database) throws {
        try db.execute(sql: """
            UPDATE payment_allocations SET state = CASE WHEN state = 'pending' THEN 'refused' ELSE state END, failure_reason = ? WHERE id = ?
            """, arguments: [failure, id])
        try db.execute(sql: """
            UPDATE bank_entries SET state = 'toCheck', reason = ? WHERE id = ? AND state = 'allocated'
                AND NOT EXISTS (SELECT 1 FROM bank_entries r WHERE r.reverses_entry_id = bank_entries.id)
            """, arguments: [why, id])
    }

    /// The claim's condition that an entry undoing another write (`OutboxKind.undoes`) waits while that
    /// write is pending or sending, found by its client reference.
    static let undoingWaits: String = {
        let undone = OutboxKind.allCases.compactMap { kind in
            kind.undoes.map { "WHEN '\(kind.rawValue)' THEN '\($0.referencePrefix)' || outbox.subject_id" }
        }
        guard !undone.isEmpty else { return "TRUE" }
        return "NOT EXISTS (SELECT 1 FROM outbox undone WHERE undone.client_reference = CASE outbox.kind \(undone.joined(separator: " ")) END "
            + "AND undone.state IN ('pending', 'sending'))"
    }()

    /// No worker holds the entry: the columns a settled entry's lease is cleared with.
    static let noLease = "lease_worker = NULL, lease_host = NULL, lease_pid = NULL, lease_expires_at = NULL"

    /// Settles `entry` (as claimed) as sent, with MILES's id for the result, while its claimer still
    /// holds it; returns the id of the record it carries.
    func markSent(_ entry: OutboxEntry, result: String?, at: Timestamp, _ db: Database) throws -> Int64 {
        try db.cachedStatement(sql: """
            UPDATE outbox SET state = 'sent', result_reference = ?, last_error = NULL, updated_at = ?, \(Self.noLease) WHERE id = ? AND fence = ?
            """).execute(arguments: [result, at.millisecondsSinceEpoch, entry.id, entry.fence])
        try Self.requireHeld(entry, db)
        return entry.subjectId
    }

    /// After an update fenced on `entry`'s claim: one row changed, or the entry is gone or was taken over.
    static func requireHeld(_ entry: OutboxEntry, _ db: Database) throws {
        guard db.changesCount == 0 else { return }
        guard let current = try Row.fetchOne(db, sql: "SELECT fence, lease_worker FROM outbox WHERE id = ?", arguments: [entry.id]) else {
            throw StoreError(.notFound, input: "outbox entry \(entry.id)", "there is no outbox entry \(entry.id)")
        }
        let holder: String? = current["lease_worker"]
        throw StoreError(.leaseLost, input: "outbox entry \(entry.id)",
                         "outbox entry \(entry.id) (\(entry.clientReference)) was taken over " + (holder.map { "by \($0) " } ?? "")
                           + "after this worker's lease expired, or retried or skipped by a person; what this worker saw is not recorded")
    }

    /// A lease holder as stored.
    static func worker(_ row: Row) -> OutboxWorker {
        OutboxWorker(name: row["lease_worker"], host: row["lease_host"], processId: row["lease_pid"])
    }

    /// Lease holders as a JSON array of keys matched in SQL (name, host and process id, joined by U+001F).
    static func workerKeys(_ workers: [OutboxWorker]) -> String {
        let keys = workers.map { "\($0.name)\u{1F}\($0.host)\u{1F}\($0.processId)" }
        return JSONArguments.array(keys)
    }

    /// The id of the record entry `entryId` carries.
    func subject(of entryId: Int64, _ db: Database) throws -> Int64 {
        guard let id = try Int64.fetchOne(db, sql: "SELECT subject_id FROM outbox WHERE id = ?", arguments: [entryId]) else {
            throw StoreError(.notFound, input: "outbox entry \(entryId)", "there is no outbox entry \(entryId)")
        }
        return id
    }

    /// The state a record waits in while its entry is pending: money decisions as approved, contract
    /// actions and letters as queued. Nil for a cancellation: the arrangement keeps the state it has
    /// (active, or closed after it broke).
    private static func waitingState(_ kind: OutboxKind) -> String? {
        switch kind {
        case .postWriteOff, .raiseCreditNote, .reverseWriteOff, .createPaymentArrangement: "approved"
        case .cancelPaymentArrangement, .allocatePayment, .reverseAllocation: nil
        case .updateContractStatus, .addContractNote, .updateContactDetails, .requestCustomerLetter: "queued"
        }
    }

    static func kind(of entryId: Int64, _ db: Database) throws -> OutboxKind {
        guard let kind = try String.fetchOne(db, sql: "SELECT kind FROM outbox WHERE id = ?", arguments: [entryId]).flatMap(OutboxKind.init) else {
            throw StoreError(.notFound, input: "outbox entry \(entryId)", "there is no outbox entry \(entryId)")
        }
        return kind
    }

    /// The table of the business record an entry carries.
    private func subjectTable(of entryId: Int64, _ db: Database) throws -> String {
        OutboxDoor.recordTable(of: try Self.kind(of: entryId, db))
    }

    static func outboxEntry(_ row: Row) throws -> OutboxEntry {
        guard let kind = OutboxEntry.Kind(rawValue: row["kind"]), let state = OutboxEntry.State(rawValue: row["state"]) else {
            throw StoreError(.corruptRecord, input: "outbox entry \(row["id"] as Int64)", "outbox entry \(row["id"] as Int64) has an unknown kind or state")
        }
        return OutboxEntry(
            id: row["id"], kind: kind, clientReference: row["client_reference"], subjectId: row["subject_id"], state: state,
            attempts: row["attempts"], nextAttemptAt: Timestamp(millisecondsSinceEpoch: row["next_attempt_at"]),
            lastError: row["last_error"], resultReference: row["result_reference"],
            createdAt: Timestamp(millisecondsSinceEpoch: row["created_at"]), updatedAt: Timestamp(millisecondsSinceEpoch: row["updated_at"]),
            lease: (row["lease_expires_at"] as Int64?).map { OutboxLease(worker: worker(row), expiresAt: Timestamp(millisecondsSinceEpoch: $0)) },
            fence: row["fence"])
    }
}
