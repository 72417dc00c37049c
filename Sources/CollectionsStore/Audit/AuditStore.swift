/// The append-only, hash-chained audit log. Entries are written by the other stores, in the
/// transaction of the change they record; this reads and checks them.
public protocol AuditStore: Sendable {
    func auditEntries() async throws -> [AuditEntry]

    /// Checks every entry's hash against its content and its predecessor.
    func verifyAudit() async throws -> AuditVerification
}
