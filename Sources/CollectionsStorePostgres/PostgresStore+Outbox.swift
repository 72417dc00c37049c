import CollectionsDomain
import CollectionsStore
import PostgresNIO

/// The outbox on PostgreSQL. Workers claim entries with `FOR UPDATE SKIP LOCKED`: two claims at
/// once take different entries rather than queueing on the same rows, and a claim's lease and
/// fence are committed before any worker sends.
extension PostgresStore: OutboxStore {
    public func claimOutboxEntries(for worker: OutboxWorker, now: Timestamp, leaseUntil: Timestamp, limit: Int,
                                   isGone: @Sendable (OutboxWorker) -> Bool) async throws -> [OutboxEntry] {
        // Holders are judged outside the store's calls (which may be abandoned at their deadline); one
        // that takes a lease after this look is not judged, and its entries wait: never taken wrongly.
        let holders = try await read { [self] connection in
            try await rows("""
                SELECT DISTINCT lease_worker, lease_host, lease_pid FROM outbox
                WHERE state IN ('pending', 'sending') AND lease_expires_at > \(now.millisecondsSinceEpoch)
                """, on: connection).map(Self.worker)
        }
        let gone = holders.filter { $0 != worker && isGone($0) }.map(Self.workerKey)
        return try await transaction { [self] connection in
            let found = try await rows("""
                SELECT * FROM outbox
                WHERE state IN ('pending', 'sending') AND (state = 'sending' OR next_attempt_at <= \(now.millisecondsSinceEpoch))
                  AND (lease_expires_at IS NULL OR lease_expires_at <= \(now.millisecondsSinceEpoch)
                       OR lease_worker || chr(31) || lease_host || chr(31) || lease_pid::text = ANY(\(gone)))
                  AND \(unescaped: Self.undoingWaits)
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """, on: connection)
            var claimed: [OutboxEntry] = []
            for row in found {
                var entry = try Self.outboxEntry(row)
                if let previous = entry.lease {
                    let why = previous.expiresAt <= now ? "its lease expired at \(previous.expiresAt)" : "its process had ended"
                    try await audit(connection, at: now, actor: worker.name, action: "outbox.lease-taken-over", subject: "outbox:\(entry.id)",
                                    details: "from \(previous.worker): \(why)")
                }
                entry.lease = OutboxLease(worker: worker, expiresAt: leaseUntil)
                entry.fence += 1
                claimed.append(entry)
            }
            guard !claimed.isEmpty else { return [] }
            try await connection.query("""
                UPDATE outbox SET lease_worker = \(worker.name), lease_host = \(worker.host), lease_pid = \(Int64(worker.processId)),
                    lease_expires_at = \(leaseUntil.millisecondsSinceEpoch), fence = fence + 1
                WHERE id = ANY(\(claimed.map(\.id)))
                """, logger: logger)
            return claimed
        }
    }

    public func renewOutboxLeases(_ entries: [OutboxEntry], until: Timestamp) async throws -> Set<Int64> {
        guard !entries.isEmpty else { return [] }
        return try await transaction { [self] connection in
            Set(try await rows("""
                UPDATE outbox o SET lease_expires_at = \(until.millisecondsSinceEpoch)
                FROM unnest(\(entries.map(\.id)), \(entries.map(\.fence))) AS held (id, fence)
                WHERE o.id = held.id AND o.fence = held.fence RETURNING o.id
                """, on: connection).map { try $0.value("id", as: Int64.self) })
        }
    }

    public func releaseOutboxLeases(_ entries: [OutboxEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await transaction { [self] connection in
            _ = try await connection.query("""
                UPDATE outbox o SET \(unescaped: Self.noLease)
                FROM unnest(\(entries.map(\.id)), \(entries.map(\.fence))) AS held (id, fence)
                WHERE o.id = held.id AND o.fence = held.fence
                """, logger: logger)
        }
    }

    public func outboxBacklog() async throws -> OutboxBacklog {
        try await read { [self] connection in
            // An entry can be claimed when its retry time has come (a pending one) and no live lease holds it;
            // one undoing a write that is still waiting, when that write is settled, which its own time says.
            let row = try await rows("""
                SELECT count(*) AS waiting,
                       min(CASE WHEN \(unescaped: Self.undoingWaits)
                           THEN greatest(CASE state WHEN 'pending' THEN next_attempt_at ELSE 0 END, coalesce(lease_expires_at, 0)) END) AS next
                FROM outbox WHERE state IN ('pending', 'sending')
                """, on: connection).first
            return OutboxBacklog(waiting: try row?.value("waiting") ?? 0, nextClaimAt: try row?.timestamp("next", as: Timestamp?.self))
        }
    }

    public func outboxEntries(state: OutboxEntry.State?) async throws -> [OutboxEntry] {
        try await read { [self] connection in
            try await rows("""
                SELECT * FROM outbox WHERE \(state?.rawValue)::text IS NULL OR state = \(state?.rawValue) ORDER BY id
                """, on: connection).map(Self.outboxEntry)
        }
    }

    public func subjects(of entries: [OutboxEntry]) async throws -> [Int64: OutboxSubject] {
        try await read { [self] connection in
            var subjects: [Int64: OutboxSubject] = [:]
            for entry in entries {
                let id = entry.subjectId
                switch entry.kind {
                case .postWriteOff: subjects[entry.id] = try await writeOffRequest(id: id, on: connection).map(OutboxSubject.writeOff)
                case .updateContractStatus: subjects[entry.id] = try await statusChange(id: id, on: connection).map(OutboxSubject.statusChange)
                case .addContractNote: subjects[entry.id] = try await note(id: id, on: connection).map(OutboxSubject.note)
                case .updateContactDetails: subjects[entry.id] = try await contactChange(id: id, on: connection).map(OutboxSubject.contactChange)
                case .raiseCreditNote: subjects[entry.id] = try await creditNote(id: id, on: connection).map(OutboxSubject.creditNote)
                case .reverseWriteOff: subjects[entry.id] = try await writeOffReversal(id: id, on: connection).map(OutboxSubject.writeOffReversal)
                case .requestCustomerLetter: subjects[entry.id] = try await letterRequest(id: id, on: connection).map(OutboxSubject.letter)
                case .createPaymentArrangement:
                    subjects[entry.id] = try await arrangement(id: id, on: connection).map { OutboxSubject.arrangement($0, cancellation: nil) }
                case .cancelPaymentArrangement:
                    let reason = try await rows("SELECT cancel_reason FROM arrangements WHERE id = \(id)", on: connection)
                        .first?.value("cancel_reason", as: String?.self)
                    subjects[entry.id] = try await arrangement(id: id, on: connection)
                        .map { OutboxSubject.arrangement($0, cancellation: reason ?? "cancelled") }
                case .allocatePayment:
                    let payer = try await rows("SELECT counterparty_name FROM bank_entries WHERE id = \(id)", on: connection)
                        .first?.value("counterparty_name", as: String?.self)
                    subjects[entry.id] = try await paymentAllocation(id: id, on: connection).map { OutboxSubject.paymentAllocation($0, payerName: payer) }
                case .reverseAllocation:
                    let reason = try await rows("SELECT return_reason FROM bank_entries WHERE reverses_entry_id = \(id) ORDER BY id LIMIT 1",
                                                on: connection).first?.value("return_reason", as: String?.self)
                    subjects[entry.id] = try await paymentAllocation(id: id, on: connection)
                        .map { OutboxSubject.allocationReversal($0, returnReason: reason) }
                }
            }
            return subjects
        }
    }

    public func outboxCounts() async throws -> [OutboxEntry.State: Int] {
        try await read { [self] connection in
            var counts: [OutboxEntry.State: Int] = [:]
            for row in try await rows("SELECT state, count(*) AS n FROM outbox GROUP BY state", on: connection) {
                if let state = OutboxEntry.State(rawValue: try row.value("state")) { counts[state] = try row.value("n") }
            }
            return counts
        }
    }

    public func outboxEntry(id: Int64) async throws -> OutboxEntry? {
        try await read { [self] connection in try await rows("SELECT * FROM outbox WHERE id = \(id)", on: connection).first.map(Self.outboxEntry) }
    }

    public func markSending(_ entry: OutboxEntry, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let marked = try await rows("""
                UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = \(at.millisecondsSinceEpoch)
                WHERE id = \(entry.id) AND fence = \(entry.fence) AND state IN ('pending', 'sending') RETURNING id
                """, on: connection)
            try await requireHeld(entry, changed: marked, on: connection)
            if entry.kind == .allocatePayment {
                // From now MILES may hold it: the bank matching counts it until a sync shows MILES changed the contract since.
                try await connection.query("""
                    UPDATE payment_allocations SET sent_at = \(at.millisecondsSinceEpoch) WHERE id = \(entry.subjectId) AND sent_at IS NULL
                    """, logger: logger)
            }
            try await audit(connection, at: at, actor: "outbox-relay", action: "outbox.sending", subject: "outbox:\(entry.id)",
                            details: "push to MILES" + (entry.lease.map { " by \($0.worker.name)" } ?? ""))
        }
    }

    public func recordWriteOffPosted(_ entry: OutboxEntry, posted: PostedWriteOff, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let requestId = try await markSent(entry, result: posted.writeOffId, at: at, on: connection)
            try await connection.query("""
                UPDATE writeoff_requests SET state = 'posted', miles_writeoff_id = \(posted.writeOffId), miles_contract_version = \(posted.contractVersion),
                    failure_reason = NULL WHERE id = \(requestId)
                """, logger: logger)
            try await audit(connection, at: at, actor: "outbox-relay", action: "writeoff.posted", subject: "writeoff:\(requestId)",
                            details: "MILES write-off \(posted.writeOffId) for \(posted.amount) on \(posted.contractNumber), "
                              + "contract version \(posted.contractVersion), reference \(posted.clientReference)")
        }
    }

    public func recordRetry(_ entry: OutboxEntry, error: String, nextAttemptAt: Timestamp, at: Timestamp) async throws {
        try await transaction { [self] connection in try await scheduleRetry(entry, error: error, nextAttemptAt: nextAttemptAt, at: at, on: connection) }
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
        try await transaction { [self] connection in
            // The fence first: a worker whose claim was taken over changes nothing.
            try await scheduleRetry(entry, error: error, nextAttemptAt: nextAttemptAt, at: at, on: connection)
            try await connection.query("UPDATE \(unescaped: table) SET expected_version = \(version) WHERE id = \(entry.subjectId)", logger: logger)
        }
    }

    /// Puts the claimed entry back to wait until `nextAttemptAt`, fenced on its claim.
    func scheduleRetry(_ entry: OutboxEntry, error: String, nextAttemptAt: Timestamp, at: Timestamp, on connection: PostgresConnection) async throws {
        let changed = try await rows("""
            UPDATE outbox SET state = 'pending', last_error = \(error), next_attempt_at = \(nextAttemptAt.millisecondsSinceEpoch),
                updated_at = \(at.millisecondsSinceEpoch), \(unescaped: Self.noLease)
            WHERE id = \(entry.id) AND fence = \(entry.fence) RETURNING id
            """, on: connection)
        try await requireHeld(entry, changed: changed, on: connection)
        try await audit(connection, at: at, actor: "outbox-relay", action: "outbox.retry-scheduled", subject: "outbox:\(entry.id)",
                        details: "next attempt at \(nextAttemptAt): \(error)")
    }

    public func recordDeadLetter(_ entry: OutboxEntry, reason: String, cause: DeadLetterCause, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let changed = try await rows("""
                UPDATE outbox SET state = 'deadLetter', last_error = \(reason), updated_at = \(at.millisecondsSinceEpoch), \(unescaped: Self.noLease)
                WHERE id = \(entry.id) AND fence = \(entry.fence) RETURNING id
                """, on: connection)
            try await requireHeld(entry, changed: changed, on: connection)
            if entry.kind == .cancelPaymentArrangement {
                // The arrangement is still active in MILES: it stays active here, with why the cancellation failed.
                try await connection.query("""
                    UPDATE arrangements SET failure_reason = \("cancellation failed: " + reason) WHERE id = \(entry.subjectId)
                    """, logger: logger)
            } else if entry.kind == .allocatePayment, cause == .refusedByMiles {
                try await allocationNotSent(id: entry.subjectId, failure: reason, why: "MILES refused the allocation: " + reason, on: connection)
                try await dropWaitingReversal(of: entry, refusal: reason, at: at, on: connection)
            } else if entry.kind == .allocatePayment {
                // Given up with the outcome unknown: MILES may hold it, so it stays allocated (pending) for a person to
                // retry (MILES answers a repeat with its first result) or reverse; never offered to another contract.
                try await connection.query("""
                    UPDATE payment_allocations SET failure_reason = \("not confirmed: " + reason) WHERE id = \(entry.subjectId)
                    """, logger: logger)
            } else if entry.kind == .reverseAllocation {
                // MILES still holds the allocation: it stays reversing, with why the reversal failed.
                try await connection.query("""
                    UPDATE payment_allocations SET failure_reason = \("reversal failed: " + reason) WHERE id = \(entry.subjectId)
                    """, logger: logger)
            } else {
                try await connection.query("""
                    UPDATE \(unescaped: Self.recordTable(of: entry.kind)) SET state = 'failed', failure_reason = \(reason) WHERE id = \(entry.subjectId)
                    """, logger: logger)
            }
            try await audit(connection, at: at, actor: "outbox-relay", action: "outbox.dead-lettered", subject: "outbox:\(entry.id)", details: reason)
        }
    }

    public func retryOutboxEntry(id: Int64, by actor: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            // The allocation's row first, as a bank batch storing a return takes it (undoAllocation): a return
            // committed meanwhile is seen below, and one stored later sees this retry.
            let allocation = try await rows("""
                SELECT a.state FROM outbox JOIN payment_allocations a ON a.id = outbox.subject_id
                WHERE outbox.id = \(id) AND outbox.kind IN (\(OutboxKind.allocatePayment.rawValue), \(OutboxKind.reverseAllocation.rawValue))
                FOR UPDATE OF a
                """, on: connection).first
            if let returned = try await rows("""
                SELECT r.id FROM outbox JOIN bank_entries r ON r.reverses_entry_id = outbox.subject_id
                WHERE outbox.id = \(id) AND outbox.kind = \(OutboxKind.allocatePayment.rawValue)
                """, on: connection).first {
                throw StoreError.returnedPayment(outboxId: id, returnedBy: try returned.value("id", as: Int64.self))
            }
            if let allocation, try allocation.value("state", as: String.self) == PaymentAllocation.State.reversed.rawValue,
               try await rows("SELECT 1 FROM outbox WHERE id = \(id) AND kind = \(OutboxKind.reverseAllocation.rawValue)", on: connection).first != nil {
                throw StoreError.nothingToReverse(outboxId: id)
            }
            // An AllocatePayment tried before keeps one attempt counted: a return then reverses it in MILES rather
            // than taking it for one MILES never saw (undoAllocation, skipOutboxEntry).
            let retried = try await rows("""
                UPDATE outbox SET state = 'pending', attempts = CASE WHEN kind = \(OutboxKind.allocatePayment.rawValue) AND attempts > 0 THEN 1 ELSE 0 END,
                    next_attempt_at = \(at.millisecondsSinceEpoch), updated_at = \(at.millisecondsSinceEpoch), fence = fence + 1, \(unescaped: Self.noLease)
                WHERE id = \(id) AND state IN ('deadLetter', 'skipped') RETURNING kind, subject_id
                """, on: connection)
            guard let row = retried.first, let kind = OutboxKind(rawValue: try row.value("kind")) else {
                throw StoreError(.wrongState, input: "outbox entry \(id)",
                                 "outbox entry \(id) is not dead-lettered or skipped; only those can be retried")
            }
            let subjectId = try row.value("subject_id", as: Int64.self)
            let table = Self.recordTable(of: kind)
            // A money decision that failed no longer counts; queued again it must still be allowed beside those raised since.
            switch kind {
            case .reverseWriteOff: try await requireWithinWriteOff(reversal: subjectId, on: connection)
            case .raiseCreditNote: try await requireWithinOpen(creditNote: subjectId, on: connection)
            case .postWriteOff: try await requireOnlyWriteOff(request: subjectId, on: connection)
            default: break
            }
            if kind == .allocatePayment {
                // Sent again: the allocation MILES refused stands once more, and its payment leaves the queue.
                // MILES took nothing from a refused one, so it counts as never sent until it is sent again.
                try await connection.query("""
                    UPDATE payment_allocations SET sent_at = CASE WHEN state = 'refused' THEN NULL ELSE sent_at END, state = 'pending',
                        failure_reason = NULL WHERE id = \(subjectId) AND state IN ('refused', 'pending')
                    """, logger: logger)
                try await connection.query("""
                    UPDATE bank_entries SET state = 'allocated', reason = NULL WHERE id = \(subjectId) AND state = 'toCheck'
                    """, logger: logger)
            } else if let waiting = Self.waitingState(kind) {
                try await connection.query("UPDATE \(unescaped: table) SET state = \(waiting) WHERE id = \(subjectId)", logger: logger)
            } else {
                try await connection.query("UPDATE \(unescaped: table) SET failure_reason = NULL WHERE id = \(subjectId)", logger: logger)
            }
            try await audit(connection, at: at, actor: actor, action: "outbox.retried", subject: "outbox:\(id)", details: "re-queued by \(actor)")
        }
    }

    /// A failed reversal queued again counts against its write-off once more: refused when, with the reversals
    /// raised since it failed, more would be reversed than was written off. The write-off's row is locked, as
    /// `createWriteOffReversal` locks it, so a reversal raised meanwhile is counted one way or the other.
    private func requireWithinWriteOff(reversal id: Int64, on connection: PostgresConnection) async throws {
        guard let reversal = try await rows("""
            SELECT amount, currency, writeoff_request_id FROM writeoff_reversals WHERE id = \(id)
            """, on: connection).first else { return }
        let requestId = try reversal.value("writeoff_request_id", as: Int64.self)
        let amount = try reversal.value("amount", as: Int64.self)
        guard let writeOff = try await rows("SELECT amount FROM writeoff_requests WHERE id = \(requestId) FOR UPDATE", on: connection).first else { return }
        let writtenOff = try writeOff.value("amount", as: Int64.self)
        let others = try await rows("""
            SELECT COALESCE(SUM(amount), 0)::BIGINT AS others FROM writeoff_reversals
            WHERE writeoff_request_id = \(requestId) AND id <> \(id) AND state NOT IN ('rejected', 'failed')
            """, on: connection).first?.value("others", as: Int64.self) ?? 0
        guard others + amount > writtenOff else { return }
        let currency = try CurrencyCode(try reversal.value("currency", as: String.self))
        throw StoreError.reversalBeyondWriteOff(reversal: id, amount: Money(minorUnits: amount, currency: currency), writeOffRequest: requestId,
                                                writtenOff: Money(minorUnits: writtenOff, currency: currency),
                                                others: Money(minorUnits: others, currency: currency))
    }

    /// A failed credit note queued again counts against what is open once more: refused when it is more than
    /// is open on its invoices (all the contract's when it names none) less the relief in flight since, as
    /// `CreditDesk` checks when one is raised. The contract's credit notes are serialised by the lock
    /// `createCreditNote` takes.
    private func requireWithinOpen(creditNote id: Int64, on connection: PostgresConnection) async throws {
        guard let credit = try await rows("""
            SELECT amount, currency, contract_number, invoice_numbers FROM credit_notes WHERE id = \(id)
            """, on: connection).first else { return }
        let contractNumber = try credit.value("contract_number", as: String.self)
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("credit notes of " + contractNumber)))", logger: logger)
        guard let contract = try await contracts(PostgresQuery(unsafeSQL: Self.contractSelect + " WHERE c.contract_number = $1",
                                                               binds: try binds(contractNumber)), on: connection).first else { return }
        // Itself left out: one set aside after an attempt is still approved.
        let relief = (try await reliefInFlight([contractNumber], awaitingApproval: true, on: connection)[contractNumber] ?? [])
            .filter { !$0.isRecord(.creditNote, id: id) }
        let (open, takenOff) = ReliefInFlight.open(on: StoredRelief.invoiceNumbers(try credit.value("invoice_numbers")), of: contract, less: relief)
        let amount = try credit.value("amount", as: Int64.self)
        guard amount > open.minorUnits else { return }
        throw StoreError.creditBeyondOpen(creditNote: id, amount: Money(minorUnits: amount, currency: contract.currency), contractNumber: contractNumber,
                                          open: open, takenOff: takenOff)
    }

    /// A failed write-off queued again must be the contract's only one on its way: refused while another is
    /// waiting for approval or MILES, or was posted since it failed.
    private func requireOnlyWriteOff(request id: Int64, on connection: PostgresConnection) async throws {
        guard let other = try await rows("""
            SELECT o.id, o.state, o.contract_number FROM writeoff_requests r JOIN writeoff_requests o ON o.contract_number = r.contract_number
            WHERE r.id = \(id) AND o.id <> r.id AND (o.state IN ('pendingApproval', 'approved') OR (o.state = 'posted' AND o.id > r.id))
            ORDER BY o.id LIMIT 1
            """, on: connection).first else { return }
        throw StoreError.anotherWriteOff(request: id, contractNumber: try other.value("contract_number", as: String.self),
                                         other: try other.value("id", as: Int64.self), state: try other.value("state", as: String.self))
    }

    public func skipOutboxEntry(id: Int64, by actor: String, reason: String, at: Timestamp) async throws {
        try await transaction { [self] connection in
            let skipped = try await rows("""
                UPDATE outbox SET state = 'skipped', last_error = \(reason), updated_at = \(at.millisecondsSinceEpoch), fence = fence + 1,
                    \(unescaped: Self.noLease)
                WHERE id = \(id) AND state IN ('pending', 'deadLetter') RETURNING kind, subject_id, attempts
                """, on: connection)
            guard let row = skipped.first else {
                throw StoreError(.wrongState, input: "outbox entry \(id)",
                                 "outbox entry \(id) is not pending or dead-lettered; only those can be skipped")
            }
            guard let kind = OutboxKind(rawValue: try row.value("kind", as: String.self)) else {
                throw StoreError(.corruptRecord, input: "outbox entry \(id)", "outbox entry \(id) has an unknown kind")
            }
            let (subjectId, neverSent) = (try row.value("subject_id", as: Int64.self), try row.value("attempts", as: Int.self) == 0)
            switch kind {
            case .allocatePayment where neverSent:
                // An AllocatePayment MILES has never seen goes back to the queue.
                try await allocationNotSent(id: subjectId, failure: "set aside by \(actor): \(reason)",
                                            why: "its allocation was set aside by \(actor) before it was sent: \(reason)", on: connection)
            case .allocatePayment, .reverseAllocation, .cancelPaymentArrangement:
                // The payment may be allocated in MILES, the allocation or the arrangement still stands there.
                break
            case _ where neverSent:
                // MILES never saw it, so it is no longer on its way: failed, with why (a retry queues it again).
                try await connection.query("""
                    UPDATE \(unescaped: Self.recordTable(of: kind)) SET state = 'failed', failure_reason = \("set aside by \(actor): \(reason)")
                    WHERE id = \(subjectId) AND state <> 'failed'
                    """, logger: logger)
            default:
                // Sent before, with no answer: MILES may have made it, so it stays as it is until a retry asks MILES.
                break
            }
            try await audit(connection, at: at, actor: actor, action: "outbox.skipped", subject: "outbox:\(id)", details: reason)
        }
    }

    /// The ReverseAllocation waiting for `allocation` (`undoingWaits`) once MILES has refused that
    /// allocation: MILES never held it, so the reversal is set aside and the allocation counts as undone.
    private func dropWaitingReversal(of allocation: OutboxEntry, refusal: String, at: Timestamp, on connection: PostgresConnection) async throws {
        let why = "MILES refused the allocation it would reverse (\(allocation.clientReference)), so MILES holds nothing to reverse: \(refusal)"
        guard let waiting = try await rows("""
            UPDATE outbox SET state = 'skipped', last_error = \(why), updated_at = \(at.millisecondsSinceEpoch), fence = fence + 1, \(unescaped: Self.noLease)
            WHERE client_reference = \(OutboxKind.reverseAllocation.clientReference(forSubject: allocation.subjectId)) AND state = 'pending'
            RETURNING id
            """, on: connection).first else { return }
        try await connection.query("""
            UPDATE payment_allocations SET state = 'reversed' WHERE id = \(allocation.subjectId) AND state = 'reversing'
            """, logger: logger)
        try await audit(connection, at: at, actor: "outbox-relay", action: "outbox.skipped", subject: "outbox:\(try waiting.value("id", as: Int64.self))",
                        details: why)
    }

    /// An AllocatePayment that will not reach MILES (refused there, or set aside by a person before it
    /// was sent): MILES does not have it, so its entry waits for a person again (`why`), unless the bank
    /// has since taken the money back; a pending allocation is refused and may be made again (one
    /// being reversed stays so).
    private func allocationNotSent(id: Int64, failure: String, why: String, on connection: PostgresConnection) async throws {
        try await connection.query("""
            UPDATE payment_allocations SET state = CASE WHEN state = 'pending' THEN 'refused' ELSE state END, failure_reason = \(failure)
            WHERE id = \(id)
            """, logger: logger)
        try await connection.query("""
            UPDATE bank_entries SET state = 'toCheck', reason = \(why)
            WHERE id = \(id) AND state = 'allocated' AND NOT EXISTS (SELECT 1 FROM bank_entries r WHERE r.reverses_entry_id = bank_entries.id)
            """, logger: logger)
    }

    // MARK: - The one way into the outbox, and settling an entry under its claim

    /// Queues the record `subjectId` of `kind`, due at once, inside the caller's transaction (the one
    /// storing the record); returns the entry's id. The client reference is `OutboxKind`'s, the same
    /// definition the relay reconciles on.
    func enqueue(_ kind: OutboxKind, subjectId: Int64, at: Timestamp, on connection: PostgresConnection) async throws -> Int64 {
        let inserted = try await rows("""
            INSERT INTO outbox (kind, client_reference, subject_id, state, next_attempt_at, created_at, updated_at)
            VALUES (\(kind.rawValue), \(kind.clientReference(forSubject: subjectId)), \(subjectId), 'pending', \(at.millisecondsSinceEpoch),
                    \(at.millisecondsSinceEpoch), \(at.millisecondsSinceEpoch))
            RETURNING id
            """, on: connection)
        return try inserted.first?.value("id") ?? 0
    }

    /// Queues every record of `kind` stored after record `id`, in id order, each due when it was
    /// requested: one statement for a whole batch.
    func enqueueRecords(of kind: OutboxKind, after id: Int64, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO outbox (kind, client_reference, subject_id, state, next_attempt_at, created_at, updated_at)
            SELECT \(kind.rawValue), \(kind.referencePrefix) || id, id, 'pending', requested_at, requested_at, requested_at
            FROM \(unescaped: Self.recordTable(of: kind)) WHERE id > \(id) ORDER BY id
            """, logger: logger)
    }

    /// Settles `entry` (as claimed) as sent, with MILES's id for the result, while its claimer still
    /// holds it; returns the id of the record it carries.
    func markSent(_ entry: OutboxEntry, result: String?, at: Timestamp, on connection: PostgresConnection) async throws -> Int64 {
        let changed = try await rows("""
            UPDATE outbox SET state = 'sent', result_reference = \(result), last_error = NULL, updated_at = \(at.millisecondsSinceEpoch),
                \(unescaped: Self.noLease)
            WHERE id = \(entry.id) AND fence = \(entry.fence) RETURNING id
            """, on: connection)
        try await requireHeld(entry, changed: changed, on: connection)
        return entry.subjectId
    }

    /// After an update fenced on `entry`'s claim that returned `changed`: one row, or the entry is
    /// gone or was taken over.
    func requireHeld(_ entry: OutboxEntry, changed: [PostgresRandomAccessRow], on connection: PostgresConnection) async throws {
        guard changed.isEmpty else { return }
        guard let current = try await rows("SELECT lease_worker FROM outbox WHERE id = \(entry.id)", on: connection).first else {
            throw StoreError(.notFound, input: "outbox entry \(entry.id)", "there is no outbox entry \(entry.id)")
        }
        let holder = try current.value("lease_worker", as: String?.self)
        throw StoreError(.leaseLost, input: "outbox entry \(entry.id)",
                         "outbox entry \(entry.id) (\(entry.clientReference)) was taken over " + (holder.map { "by \($0) " } ?? "")
                           + "after this worker's lease expired, or retried or skipped by a person; what this worker saw is not recorded")
    }

    /// The claim's condition that an entry undoing another write (`OutboxKind.undoes`) waits while that
    /// write is pending or sending, found by its client reference.
    static let undoingWaits: String = {
        let undone = OutboxKind.allCases.compactMap { kind in
            kind.undoes.map { "WHEN '\(kind.rawValue)' THEN '\($0.referencePrefix)' || outbox.subject_id::text" }
        }
        guard !undone.isEmpty else { return "TRUE" }
        return "NOT EXISTS (SELECT 1 FROM outbox undone WHERE undone.client_reference = CASE outbox.kind \(undone.joined(separator: " ")) END "
            + "AND undone.state IN ('pending', 'sending'))"
    }()

    /// No worker holds the entry: the columns a settled entry's lease is cleared with.
    static let noLease = "lease_worker = NULL, lease_host = NULL, lease_pid = NULL, lease_expires_at = NULL"

    /// The table of the business records an entry of `kind` carries.
    static func recordTable(of kind: OutboxKind) -> String {
        switch kind {
        case .postWriteOff: "writeoff_requests"
        case .updateContractStatus: "status_changes"
        case .addContractNote: "contract_notes"
        case .updateContactDetails: "contact_changes"
        case .raiseCreditNote: "credit_notes"
        case .reverseWriteOff: "writeoff_reversals"
        case .requestCustomerLetter: "letter_requests"
        case .createPaymentArrangement, .cancelPaymentArrangement: "arrangements"
        case .allocatePayment, .reverseAllocation: "payment_allocations"
        }
    }

    /// The state a record waits in while its entry is pending: money decisions as approved, contract
    /// actions and letters as queued. Nil for a cancellation: the arrangement keeps the state it has.
    private static func waitingState(_ kind: OutboxKind) -> String? {
        switch kind {
        case .postWriteOff, .raiseCreditNote, .reverseWriteOff, .createPaymentArrangement: "approved"
        case .cancelPaymentArrangement, .allocatePayment, .reverseAllocation: nil
        case .updateContractStatus, .addContractNote, .updateContactDetails, .requestCustomerLetter: "queued"
        }
    }

    /// A lease holder as stored.
    static func worker(_ row: PostgresRandomAccessRow) throws -> OutboxWorker {
        OutboxWorker(name: try row.value("lease_worker"), host: try row.value("lease_host"),
                     processId: Int32(truncatingIfNeeded: try row.value("lease_pid", as: Int64.self)))
    }

    /// A lease holder as matched in SQL: name, host and process id joined by U+001F.
    static func workerKey(_ worker: OutboxWorker) -> String { "\(worker.name)\u{1F}\(worker.host)\u{1F}\(worker.processId)" }

    static func outboxEntry(_ row: PostgresRandomAccessRow) throws -> OutboxEntry {
        let id = try row.value("id", as: Int64.self)
        guard let kind = OutboxEntry.Kind(rawValue: try row.value("kind")), let state = OutboxEntry.State(rawValue: try row.value("state")) else {
            throw StoreError(.corruptRecord, input: "outbox entry \(id)", "outbox entry \(id) has an unknown kind or state")
        }
        return OutboxEntry(
            id: id, kind: kind, clientReference: try row.value("client_reference"), subjectId: try row.value("subject_id"), state: state,
            attempts: try row.value("attempts"), nextAttemptAt: try row.timestamp("next_attempt_at"), lastError: try row.value("last_error"),
            resultReference: try row.value("result_reference"), createdAt: try row.timestamp("created_at"), updatedAt: try row.timestamp("updated_at"),
            lease: try row.timestamp("lease_expires_at", as: Timestamp?.self).map { OutboxLease(worker: try worker(row), expiresAt: $0) },
            fence: try row.value("fence"))
    }
}
