/// Who may approve a credit note of what size: `credits` in `authority-matrix.yaml`. Roles in the
/// matrix's order, each with the largest credit it may approve; above `secondApproverAbove` two
/// different approvers are needed.
public struct CreditLimits: Sendable, Equatable {
    public struct Tier: Sendable, Equatable {
        public let role: CollectionsRole
        /// In minor units; nil for no limit.
        public let approveUpTo: Int64?

        public init(role: CollectionsRole, approveUpTo: Int64?) {
            self.role = role
            self.approveUpTo = approveUpTo
        }
    }

    /// The currency the limits are in: the matrix's.
    public let currency: CurrencyCode
    public let tiers: [Tier]
    public let secondApproverAbove: Int64?

    public init(currency: CurrencyCode, tiers: [Tier], secondApproverAbove: Int64?) {
        self.currency = currency
        self.tiers = tiers
        self.secondApproverAbove = secondApproverAbove
    }

    /// The least role that may approve a credit note of `amount`. An amount in another currency than the
    /// limits' cannot be compared with them, so it is taken as above every limit: the top role.
    public func requiredRole(for amount: Money) -> CollectionsRole {
        guard amount.currency == currency else { return tiers[tiers.count - 1].role }
        return tiers.first { tier in tier.approveUpTo.map { amount.minorUnits <= $0 } ?? true }?.role ?? tiers[tiers.count - 1].role
    }

    /// Two approvers above `secondApproverAbove`, and for an amount in another currency when there is such a limit.
    public func approvalsNeeded(for amount: Money) -> Int {
        secondApproverAbove.map { amount.currency != currency || amount.minorUnits > $0 ? 2 : 1 } ?? 1
    }
}
