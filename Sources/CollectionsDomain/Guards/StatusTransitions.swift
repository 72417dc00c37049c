/// Which collections status may follow which. A status change outside this table is refused
/// before it reaches MILES (which has its own table and answers INVALID_TRANSITION).
public enum StatusTransitions {
    public static let allowed: [ContractStatus: Set<ContractStatus>] = [
        .active: [.inArrears, .paymentPlan, .closed],
        .inArrears: [.active, .paymentPlan, .defaulted],
        .paymentPlan: [.active, .inArrears, .defaulted],
        .defaulted: [.paymentPlan, .placedWithAgent, .repossession, .legal, .terminated, .writtenOff],
        // Recalled from the agent: back to defaulted.
        .placedWithAgent: [.defaulted, .paymentPlan, .legal, .repossession, .writtenOff],
        .repossession: [.defaulted, .terminated, .writtenOff, .closed],
        .legal: [.paymentPlan, .repossession, .terminated, .writtenOff],
        .terminated: [.legal, .writtenOff, .closed],
        .writtenOff: [.closed],
        .closed: [],
    ]

    public static func isAllowed(from current: ContractStatus, to next: ContractStatus) -> Bool {
        allowed[current]?.contains(next) ?? false
    }
}
