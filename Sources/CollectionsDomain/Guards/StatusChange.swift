/// A status change for a contract, from the moment a person asks for it until MILES has made the
/// new contract version.
public struct StatusChange: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Passed its guards; the UpdateContractStatus is in the outbox.
        case queued
        /// MILES made the new version.
        case applied
        /// MILES refused it, or the guards refused it on fresh data after a version conflict.
        case failed
    }

    public var id: Int64
    public var contractNumber: String
    public var to: ContractStatus
    /// MILES's reason code for the change.
    public var reasonCode: String
    public var effectiveDate: LocalDate
    public var courtOrderReference: String?
    /// What shows the customer consented (CCA s.90), when that is the ground for a repossession.
    public var customerConsent: String?
    /// What shows the vehicle was abandoned (CCA s.90), when that is the ground for a repossession.
    public var abandonment: String?
    /// The contract version the change was decided on; MILES refuses it if the contract moved on.
    public var expectedVersion: Int64
    public var requestedBy: String
    public var requestedAt: Timestamp
    public var state: State
    /// Guards set aside, with who did it and why.
    public var overrides: [GuardOverride]
    public var milesVersion: Int64?
    public var failureReason: String?

    public init(id: Int64, contractNumber: String, to: ContractStatus, reasonCode: String, effectiveDate: LocalDate,
                courtOrderReference: String?, expectedVersion: Int64, requestedBy: String, requestedAt: Timestamp, state: State,
                overrides: [GuardOverride], milesVersion: Int64? = nil, failureReason: String? = nil, customerConsent: String? = nil,
                abandonment: String? = nil) {
        self.customerConsent = customerConsent
        self.abandonment = abandonment
        self.id = id
        self.contractNumber = contractNumber
        self.to = to
        self.reasonCode = reasonCode
        self.effectiveDate = effectiveDate
        self.courtOrderReference = courtOrderReference
        self.expectedVersion = expectedVersion
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.state = state
        self.overrides = overrides
        self.milesVersion = milesVersion
        self.failureReason = failureReason
    }

    /// What the person asking showed, for the guards.
    public var evidence: CollectionsGuards.Evidence {
        CollectionsGuards.Evidence(courtOrderReference: courtOrderReference, customerConsent: customerConsent, abandonment: abandonment)
    }

    /// The reference MILES sees on every attempt.
    public var clientReference: String { OutboxKind.updateContractStatus.clientReference(forSubject: id) }
}
