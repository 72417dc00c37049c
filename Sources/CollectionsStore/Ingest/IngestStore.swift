import CollectionsDomain

/// The inbox of agents' deliveries and what came of each row.
public protocol IngestStore: Sendable {
    /// Records a delivery already copied to `storedPath`. The same content from the same agent is the
    /// same delivery: the existing record comes back with `isNew` false.
    func receiveInboxFile(_ file: NewInboxFile) async throws -> (file: InboxFile, isNew: Bool)

    func inboxFile(id: Int64) async throws -> InboxFile?

    /// Newest first; `state` nil for all.
    func inboxFiles(agent: String?, state: InboxFile.State?, limit: Int) async throws -> [InboxFile]

    /// Stores a batch of a delivery's rows with all their effects (outbox entries, holds and their
    /// instructions, payments) and moves the delivery's cursor to `throughLine`, in one transaction: a
    /// crash repeats no row and loses none.
    func applyIngestBatch(fileId: Int64, throughLine: Int, rows: [IngestRow], by actor: String, at: Timestamp) async throws

    /// Marks the delivery processed, or failed as a whole with the reason.
    func finishInboxFile(id: Int64, failure: String?, at: Timestamp) async throws

    /// The delivery's rejected rows in line order, at most `limit`.
    func ingestRowErrors(fileId: Int64, limit: Int) async throws -> [IngestRowError]

    /// The delivery's updates in line order, at most `limit`.
    func thirdPartyUpdates(fileId: Int64, limit: Int) async throws -> [StoredThirdPartyUpdate]

    /// Updates a guard refused, for the team to act on; newest first.
    func refusedUpdates(limit: Int) async throws -> [StoredThirdPartyUpdate]

    /// Payments agents reported that MILES does not show yet (no MILES payment on or after their date), unless a bank
    /// entry matched one and its allocation is on its way to MILES or there (pending or allocated): once refused,
    /// set aside or returned, it is in transit again.
    func paymentsInTransit(contractNumber: String) async throws -> [PaymentNotification]

    /// Totals for monitoring: updates stored, and rows rejected or refused.
    func ingestTotals() async throws -> IngestTotals
}

extension IngestStore {
    /// Every rejected row of the delivery.
    public func ingestRowErrors(fileId: Int64) async throws -> [IngestRowError] {
        try await ingestRowErrors(fileId: fileId, limit: .max)
    }

    /// Every update of the delivery.
    public func thirdPartyUpdates(fileId: Int64) async throws -> [StoredThirdPartyUpdate] {
        try await thirdPartyUpdates(fileId: fileId, limit: .max)
    }
}
