import CollectionsDomain

/// What an accepted update does: at most one of each, or a refusal that keeps it for the team.
public struct IngestEffects: Sendable {
    public var statusChange: StatusChange?
    public var hold: ContractHold?
    public var contactChange: ContactChange?
    public var note: ContractNote?
    /// What the agent the account is placed with must be told (a hold pauses a placement).
    public var instruction: AgentInstruction?
    /// The placement a hold's instruction was decided on; the store refuses the batch if it changed.
    public var placedWith: String?
    /// Why a guard refused the update; the update is kept and nothing else happens.
    public var refusal: String?
    /// What the agent reported makes the customer risky (risk-rules.yaml agentStatuses): raised with the batch.
    public var alert: RiskAlert?
    /// The agent reports an arrangement agreed with the customer: kept for the team to propose (its id is set by the store).
    public var reportedArrangement: ReportedArrangement?

    public init(statusChange: StatusChange? = nil, hold: ContractHold? = nil, contactChange: ContactChange? = nil, note: ContractNote? = nil,
                instruction: AgentInstruction? = nil, placedWith: String? = nil, refusal: String? = nil, alert: RiskAlert? = nil,
                reportedArrangement: ReportedArrangement? = nil) {
        self.alert = alert
        self.reportedArrangement = reportedArrangement
        self.statusChange = statusChange
        self.hold = hold
        self.contactChange = contactChange
        self.note = note
        self.instruction = instruction
        self.placedWith = placedWith
        self.refusal = refusal
    }
}
