/// Who may approve a write-off of what size: roles in ascending order of authority, each with the
/// largest amount it may approve; above `secondApproverAbove` two different approvers are needed;
/// some reasons need at least a given role whatever the amount.
///
/// The numbers are configuration and change over time, so every approval records the `version`
/// of the matrix it was made under.
///
/// ```swift
/// let role = matrix.requiredRole(for: Money(minorUnits: 30_000, currency: .gbp), reason: .insolvency)
/// // teamLeader: £300 is above an agent's £250
/// ```
public struct AuthorityMatrix: Sendable, Equatable {
    public struct Tier: Sendable, Equatable {
        public let role: CollectionsRole
        /// The largest amount this role may approve, in minor units; `nil` for no limit.
        public let approvalLimit: Int64?

        public init(role: CollectionsRole, approvalLimit: Int64?) {
            self.role = role
            self.approvalLimit = approvalLimit
        }
    }

    public let version: Int
    public let currency: CurrencyCode
    /// Ascending authority; the last tier has no limit.
    public let tiers: [Tier]
    /// Above this many minor units a second, different approver is needed.
    public let secondApproverAbove: Int64
    /// The least role each reason needs, whatever the amount.
    public let reasonMinimumRoles: [WriteOffReason: CollectionsRole]
    /// The least role that may set aside each regulatory guard, by rule id; a rule not listed cannot be overridden.
    public let guardOverrideRoles: [String: CollectionsRole]
    /// The least role that may acknowledge a broken audit chain after investigating it, which lets
    /// decisions and pushes go on (the top role unless the matrix names one).
    public let auditAcknowledgementRole: CollectionsRole
    /// The least role that may add, disable and reset people (the top role unless the matrix names one).
    public let userAdministrationRole: CollectionsRole
    /// The least role that may retry or skip an outbox entry (the top role unless the matrix names one).
    public let outboxDecisionRole: CollectionsRole
    /// The least role shown customers' personal data in the workspace (every role unless the matrix names one).
    public let personalDataRole: CollectionsRole
    /// What each role may agree in a payment arrangement (only the top role, without limits,
    /// unless the matrix says more).
    public let arrangementLimits: ArrangementLimits
    /// The least role that may acknowledge a risky-customer alert (the top role unless the matrix names one).
    public let riskAlertRole: CollectionsRole
    /// Who may approve a credit note of what size (only the top role unless the matrix says more).
    public let creditLimits: CreditLimits

    public init(version: Int, currency: CurrencyCode, tiers: [Tier], secondApproverAbove: Int64,
                reasonMinimumRoles: [WriteOffReason: CollectionsRole], guardOverrideRoles: [String: CollectionsRole] = [:],
                auditAcknowledgementRole: CollectionsRole? = nil, userAdministrationRole: CollectionsRole? = nil,
                outboxDecisionRole: CollectionsRole? = nil, personalDataRole: CollectionsRole? = nil,
                arrangementLimits: ArrangementLimits? = nil, riskAlertRole: CollectionsRole? = nil, creditLimits: CreditLimits? = nil) {
        let top = tiers.last!.role
        self.creditLimits = creditLimits ?? CreditLimits(currency: currency,
                                                         tiers: tiers.map { .init(role: $0.role, approveUpTo: $0.role == top ? nil : 0) },
                                                         secondApproverAbove: nil)
        self.riskAlertRole = riskAlertRole ?? top
        self.arrangementLimits = arrangementLimits ?? ArrangementLimits(
            tiers: tiers.map { tier in
                tier.role == top ? .init(role: top, longestTermMonths: nil, lowestInstalmentPercent: nil, largestReduction: nil)
                    : .init(role: tier.role, longestTermMonths: 0, lowestInstalmentPercent: 100, largestReduction: 0)
            },
            secondApproverAboveReduction: 0, secondApproverAboveTermMonths: 0,
            tokenPlans: .init(upTo: 0, role: top, longestTermMonths: 0))
        self.personalDataRole = personalDataRole ?? tiers.first!.role
        self.outboxDecisionRole = outboxDecisionRole ?? tiers.last!.role
        self.userAdministrationRole = userAdministrationRole ?? tiers.last!.role
        self.guardOverrideRoles = guardOverrideRoles
        self.auditAcknowledgementRole = auditAcknowledgementRole ?? tiers.last!.role
        self.version = version
        self.currency = currency
        self.tiers = tiers
        self.secondApproverAbove = secondApproverAbove
        self.reasonMinimumRoles = reasonMinimumRoles
    }

    public func role(named name: String) -> CollectionsRole? { tiers.first { $0.role.name == name }?.role }

    /// The least role that may approve this write-off. An amount in another currency than the matrix's
    /// cannot be compared with its limits, so it is taken as above every limit: the top role.
    public func requiredRole(for amount: Money, reason: WriteOffReason) -> CollectionsRole {
        let byAmount = amount.currency != currency ? tiers.last!.role
            : tiers.first { tier in tier.approvalLimit.map { amount.minorUnits <= $0 } ?? true }?.role ?? tiers.last!.role
        guard let byReason = reasonMinimumRoles[reason], byReason.rank > byAmount.rank else { return byAmount }
        return byReason
    }

    /// How many different approvers the write-off needs: two above `secondApproverAbove`, and for an amount
    /// in another currency than the matrix's.
    public func approvalsNeeded(for amount: Money) -> Int { amount.currency != currency || amount.minorUnits > secondApproverAbove ? 2 : 1 }
}
