/// Something the adapter tells the agent an account is placed with, sent with the agent's next
/// placement traffic. A placed account that gains a hold must stop being pursued at once (CONC 7),
/// so the hold is answered with a pause.
///
/// ```swift
/// let pause = AgentInstruction.pause(placedWith: "acme-dca", contractNumber: "C00000013", for: hold)
/// ```
public struct AgentInstruction: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Stop all recovery action until told otherwise.
        case pause
    }

    public var agent: String
    public var contractNumber: String
    public var kind: Kind
    public var reason: String

    public init(agent: String, contractNumber: String, kind: Kind, reason: String) {
        self.agent = agent
        self.contractNumber = contractNumber
        self.kind = kind
        self.reason = reason
    }

    /// The instruction a new hold on a placed account requires; nil when the account is not placed.
    public static func pause(placedWith agent: String?, contractNumber: String, for hold: ContractHold) -> AgentInstruction? {
        agent.map { AgentInstruction(agent: $0, contractNumber: contractNumber, kind: .pause, reason: "\(hold.kind.rawValue) hold: \(hold.reason)") }
    }
}
