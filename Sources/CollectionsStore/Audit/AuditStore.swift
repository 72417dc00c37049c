import CollectionsDomain

/// The append-only, hash-chained audit log. Entries are written by the other stores, in the
/// transaction of the change they record; this reads and checks them.
public protocol AuditStore: Sendable {
    func auditEntries() async throws -> [AuditEntry]

    /// Checks every entry's hash against its content and its predecessor; a break that an
    /// acknowledgement names is passed over.
    func verifyAudit() async throws -> AuditVerification

    /// The newest `limit` entries, newest first.
    func recentAuditEntries(limit: Int) async throws -> [AuditEntry]

    /// The newest `limit` entries about `subject` (`contract:C00000042`), newest first.
    func auditEntries(subject: String, limit: Int) async throws -> [AuditEntry]

    /// Records that `actor` was shown a customer's personal data (confidentiality: who saw whom, when).
    func recordPersonalDataView(by actor: String, partnerId: String, contractNumber: String, at: Timestamp) async throws

    /// Records, as an audit entry, that the break at `sequence` was investigated: `reason` says what
    /// was found.
    func acknowledgeAuditBreak(sequence: Int64, by actor: String, reason: String, at: Timestamp) async throws
}

/// The audit action of an acknowledged break; its subject is `audit:SEQUENCE`.
public let auditAcknowledgementAction = "audit.acknowledged"
