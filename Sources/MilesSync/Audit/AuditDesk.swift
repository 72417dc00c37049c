import CollectionsDomain
import CollectionsStore
import MilesMapping

/// Guards the audit log: while its chain is broken (an entry edited or deleted) and nobody
/// authorised has acknowledged the break, no person's decision and no push goes ahead, because
/// what they would record could not be trusted to the log. The acknowledgement is itself audited.
///
/// ```swift
/// try await AuditDesk(store: store, mappings: mappings).requireIntact()   // before a decision
/// ```
public struct AuditDesk: Sendable {
    public let store: any AuditStore
    public let mappings: MappingSet
    let now: CollectionsClock

    public init(store: any AuditStore, mappings: MappingSet, now: CollectionsClock = .system) {
        self.store = store
        self.mappings = mappings
        self.now = now
    }

    /// Throws `AuditDeskError.brokenChain` while the chain has an unacknowledged break.
    public func requireIntact() async throws {
        guard case let .broken(sequence, reason) = try await store.verifyAudit() else { return }
        throw AuditDeskError(.brokenChain, input: "audit entry \(sequence)",
                             "the audit log is broken at entry \(sequence) (\(reason)): no decision or push goes ahead until it is "
                                 + "investigated and a \(mappings.authorityMatrix.auditAcknowledgementRole.name) records what was found with "
                                 + "'miles-adapter audit acknowledge --reason …'")
    }

    /// Records that the first unacknowledged break was investigated, as `user`, who must hold the
    /// matrix's `auditAcknowledgement` role or above; returns the chain's state afterwards.
    public func acknowledge(by user: CollectionsUser, reason: String) async throws -> AuditVerification {
        let required = mappings.authorityMatrix.auditAcknowledgementRole
        guard user.role.rank >= required.rank else {
            throw AuditDeskError(.notAuthorised, input: user.name,
                                 "\(user.name) is \(user.role.name); acknowledging a broken audit log needs \(required.name) or above "
                                     + "(auditAcknowledgement in authority-matrix.yaml)")
        }
        guard reason.contains(where: { !$0.isWhitespace }) else {
            throw AuditDeskError(.noReason, input: "--reason", "say what the investigation found (--reason)")
        }
        guard case let .broken(sequence, _) = try await store.verifyAudit() else {
            throw AuditDeskError(.notBroken, input: "audit log", "the audit log has no unacknowledged break: there is nothing to acknowledge")
        }
        try await store.acknowledgeAuditBreak(sequence: sequence, by: user.name, reason: reason, at: now())
        return try await store.verifyAudit()
    }
}

/// The audit log stands in the way, or an acknowledgement was refused; `input` names the entry or person.
public typealias AuditDeskError = CodedError<AuditDeskErrorCode>

/// What went wrong, for `AuditDeskError`.
public enum AuditDeskErrorCode: String, Sendable {
    /// The chain has a break nobody has acknowledged.
    case brokenChain
    /// The person's role is below the matrix's `auditAcknowledgement`.
    case notAuthorised
    /// There is no unacknowledged break to acknowledge.
    case notBroken
    /// The acknowledgement says nothing of what the investigation found.
    case noReason
}
