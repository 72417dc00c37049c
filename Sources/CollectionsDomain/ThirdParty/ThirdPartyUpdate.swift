/// Something an external agent reports about a contract, from one row of its file (or one post),
/// with where it came from.
public struct ThirdPartyUpdate: Sendable, Equatable {
    /// What the agent reports.
    public enum Kind: Sendable, Equatable {
        case paymentCollected(amount: Money, on: LocalDate, agentReference: String)
        case status(AgentStatus, on: LocalDate)
        case traceResult(address: PostalAddress?, phone: String?, email: String?, on: LocalDate)
        case vehicleRecovered(on: LocalDate, location: String)
        case soldAtAuction(on: LocalDate, proceeds: Money)
        case note(String)
    }

    public var agent: String
    /// `file:line`, or the HTTP post's id.
    public var source: String
    public var contractNumber: String
    public var kind: Kind

    public init(agent: String, source: String, contractNumber: String, kind: Kind) {
        self.agent = agent
        self.source = source
        self.contractNumber = contractNumber
        self.kind = kind
    }
}

/// The statuses agents report, in the team's words; each agent's own codes map onto these.
public enum AgentStatus: String, CaseIterable, Sendable {
    case activePlan, paidInFull, settledInFull, hold, disputed, legalProcess, enforcement, recalled, writtenOff, deceased, bankrupt
}
