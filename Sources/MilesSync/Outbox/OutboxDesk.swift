import CollectionsDomain
import CollectionsStore
import MilesMapping

/// What people do with the outbox: look at it, re-queue a dead-lettered or skipped entry once its
/// cause is fixed, or set an entry aside. Both need the matrix's `outboxDecisions` role; each is
/// audited with the person.
///
/// ```swift
/// try await OutboxDesk(store: store, decisionRole: matrix.outboxDecisionRole).retry(entryId: 8, by: carol)
/// ```
public struct OutboxDesk: Sendable {
    public let store: any OutboxStore
    /// The least role that may retry or skip.
    let decisionRole: CollectionsRole?
    /// The MILES contract the outbox is sent to: an entry of a kind it cannot take is not re-queued.
    let contract: ContractMapping?
    let now: CollectionsClock

    public init(store: any OutboxStore, decisionRole: CollectionsRole? = nil, contract: ContractMapping? = nil, now: CollectionsClock = .system) {
        self.store = store
        self.decisionRole = decisionRole
        self.contract = contract
        self.now = now
    }

    private func requireRole(_ person: CollectionsUser) throws(StoreError) {
        guard let decisionRole, person.role.rank < decisionRole.rank else { return }
        throw StoreError(.wrongState, input: person.name, "\(person.name) is \(person.role.name); retrying or skipping a write to MILES needs "
                         + "\(decisionRole.name) or above (outboxDecisions in authority-matrix.yaml)")
    }

    public func entries(state: OutboxEntry.State?) async throws -> [OutboxEntry] {
        try await store.outboxEntries(state: state)
    }

    /// The queue id of the entry `given` names: a queue id (`12`), or the business reference MILES
    /// sees (`WO-7`, `SC-3`, `NOTE-40`, `CD-2`). Throws `StoreError.notFound` naming what was given.
    public func entryId(_ given: String) async throws -> Int64 {
        if let id = Int64(given) { return id }
        let reference = given.uppercased()
        guard OutboxKind.allCases.contains(where: { reference.hasPrefix($0.referencePrefix) }),
              let entry = try await store.outboxEntries(state: nil).first(where: { $0.clientReference == reference }) else {
            throw StoreError(.notFound, input: given, "no outbox entry \(given): give a queue id or a reference such as WO-7 "
                             + "('miles-adapter outbox list' shows both)")
        }
        return entry.id
    }

    /// Throws `StoreError.wrongState` unless the entry is dead-lettered or skipped.
    /// Throws `UnmappedOperationError` for an entry of a kind `contract` cannot take: re-queued, it would
    /// stop every push.
    public func retry(entryId: Int64, by person: CollectionsUser) async throws {
        try requireRole(person)
        if let contract, let kind = try await store.outboxEntry(id: entryId)?.kind { try contract.require(.outbox(kind)) }
        try await store.retryOutboxEntry(id: entryId, by: person.name, at: now())
    }

    /// Throws `StoreError.wrongState` unless the entry is pending or dead-lettered, and
    /// `OutboxDeskError.reasonRequired` for a blank reason.
    public func skip(entryId: Int64, by person: CollectionsUser, reason: String) async throws {
        try requireRole(person)
        guard reason.contains(where: { !$0.isWhitespace }) else {
            throw OutboxDeskError(.reasonRequired, input: "outbox entry \(entryId)",
                                  "skipping outbox entry \(entryId) needs a reason: the audit log keeps why a write to MILES was set aside")
        }
        try await store.skipOutboxEntry(id: entryId, by: person.name, reason: reason, at: now())
    }
}
