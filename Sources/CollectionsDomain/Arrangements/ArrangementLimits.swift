/// What the authority matrix lets each role agree in a payment arrangement, and when a plan needs
/// two approvers: `arrangements` in `authority-matrix.yaml`.
public struct ArrangementLimits: Sendable, Equatable {
    /// What one role may agree alone; nil for no limit.
    public struct Tier: Sendable, Equatable {
        public let role: CollectionsRole
        /// The last instalment at most this many months after the first.
        public let longestTermMonths: Int?
        /// The smallest instalment, as a monthly figure, at least this share of the contract's monthly payment.
        public let lowestInstalmentPercent: Int?
        /// The plan leaves at most this many minor units of the arrears unpaid.
        public let largestReduction: Int64?

        public init(role: CollectionsRole, longestTermMonths: Int?, lowestInstalmentPercent: Int?, largestReduction: Int64?) {
            self.role = role
            self.longestTermMonths = longestTermMonths
            self.lowestInstalmentPercent = lowestInstalmentPercent
            self.largestReduction = largestReduction
        }
    }

    /// A token plan: instalments at or below `upTo` a month while the customer cannot pay more,
    /// agreed by `role` or above for at most `longestTermMonths`, then reviewed; the lowest-instalment
    /// limits do not apply to it.
    public struct TokenPlans: Sendable, Equatable {
        public let upTo: Int64
        public let role: CollectionsRole
        public let longestTermMonths: Int

        public init(upTo: Int64, role: CollectionsRole, longestTermMonths: Int) {
            self.upTo = upTo
            self.role = role
            self.longestTermMonths = longestTermMonths
        }
    }

    /// Ascending authority, the roles of the matrix; the last has no limit.
    public let tiers: [Tier]
    /// A second, different approver when the plan leaves more than this unpaid…
    public let secondApproverAboveReduction: Int64
    /// …or its last instalment is more than this many months after the first.
    public let secondApproverAboveTermMonths: Int
    public let tokenPlans: TokenPlans
    /// An instalment not paid this many days after it fell due breaks the plan.
    public let graceDays: Int

    public init(tiers: [Tier], secondApproverAboveReduction: Int64, secondApproverAboveTermMonths: Int, tokenPlans: TokenPlans,
                graceDays: Int = 0) {
        self.graceDays = graceDays
        self.tiers = tiers
        self.secondApproverAboveReduction = secondApproverAboveReduction
        self.secondApproverAboveTermMonths = secondApproverAboveTermMonths
        self.tokenPlans = tokenPlans
    }
}
