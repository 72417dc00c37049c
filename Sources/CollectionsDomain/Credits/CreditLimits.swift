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

    public let tiers: [Tier]
    public let secondApproverAbove: Int64?

    public init(tiers: [Tier], secondApproverAbove: Int64?) {
        self.tiers = tiers
        self.secondApproverAbove = secondApproverAbove
    }

    /// The least role that may approve a credit note of `amount`.
    public func requiredRole(for amount: Money) -> CollectionsRole {
        tiers.first { tier in tier.approveUpTo.map { amount.minorUnits <= $0 } ?? true }?.role ?? tiers[tiers.count - 1].role
    }

    public func approvalsNeeded(for amount: Money) -> Int {
        secondApproverAbove.map { amount.minorUnits > $0 ? 2 : 1 } ?? 1
    }
}
