import CollectionsDomain

/// What the store held of a contract before a sync page replaced it: what the risk rules compare
/// MILES's new copy with.
public struct RiskSnapshot: Sendable, Equatable {
    /// The arrears as each change left them, oldest first, ending with those the store holds now
    /// (at most as many as asked for).
    public var earlierArrears: [Money]
    public var openBalance: Money
    public var wasVulnerable: Bool

    public init(earlierArrears: [Money], openBalance: Money, wasVulnerable: Bool) {
        self.earlierArrears = earlierArrears
        self.openBalance = openBalance
        self.wasVulnerable = wasVulnerable
    }
}

/// A risk alert as stored: raised by a sync, acknowledged by a person with a comment.
public struct StoredRiskAlert: Sendable, Equatable {
    public var id: Int64
    public var alert: RiskAlert
    public var raisedAt: Timestamp
    public var acknowledgedBy: String?
    public var acknowledgedAt: Timestamp?
    public var comment: String?

    public init(id: Int64, alert: RiskAlert, raisedAt: Timestamp, acknowledgedBy: String?, acknowledgedAt: Timestamp?, comment: String?) {
        self.id = id
        self.alert = alert
        self.raisedAt = raisedAt
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedAt = acknowledgedAt
        self.comment = comment
    }
}

/// The risk alerts the team leader works through. They are raised with the sync page that showed
/// them (`SyncStore.commitPage`); here they are read and acknowledged.
public protocol RiskStore: Sendable {
    /// Alerts newest first: only those not yet acknowledged unless `includeAcknowledged`.
    func riskAlerts(includeAcknowledged: Bool, limit: Int) async throws -> [StoredRiskAlert]

    func riskAlert(id: Int64) async throws -> StoredRiskAlert?

    /// Records that `actor` looked into the alert, with what they found; audited as `risk.acknowledged`.
    /// Throws `StoreError.changedMeanwhile` if it was acknowledged already.
    func acknowledgeRiskAlert(id: Int64, by actor: String, comment: String, at: Timestamp) async throws
}
