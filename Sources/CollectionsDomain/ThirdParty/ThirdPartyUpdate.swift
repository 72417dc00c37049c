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

extension ThirdPartyUpdate.Kind {
    /// A short name for the kind of update, as stored and reported.
    public var name: String {
        switch self {
        case .paymentCollected: return "paymentCollected"
        case let .status(status, _): return status.rawValue
        case .traceResult: return "traceResult"
        case .vehicleRecovered: return "vehicleRecovered"
        case .soldAtAuction: return "soldAtAuction"
        case .note: return "note"
        }
    }

    /// What the agent said, in words for the team and the contract file.
    public var summary: String {
        switch self {
        case let .paymentCollected(amount, on, reference):
            return "payment of \(amount) collected on \(on)" + (reference.isEmpty ? "" : " (agent reference \(reference))")
        case let .status(status, on): return "agent reports \(status.rawValue) on \(on)"
        case let .traceResult(address, phone, email, on):
            let found = [address.map { "address \($0.line1), \($0.town) \($0.postcode)" }, phone.map { "phone \($0)" }, email.map { "email \($0)" }]
                .compactMap { $0 }
            return "traced on \(on): " + found.joined(separator: ", ")
        case let .vehicleRecovered(on, location): return "vehicle recovered on \(on)" + (location.isEmpty ? "" : " at \(location)")
        case let .soldAtAuction(on, proceeds): return "vehicle sold at auction on \(on) for \(proceeds)"
        case let .note(text): return text
        }
    }
}
