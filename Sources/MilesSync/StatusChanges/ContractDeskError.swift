/// A contract action was refused. Callers match on `code`; `input` is what caused it (the reason
/// code or the contract number); each of `refusals` names a rule and what would satisfy it.
public struct ContractDeskError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CustomStringConvertible {
        /// The reason code is not one of status-codes.yaml's statusChangeReasons.
        case unknownReasonCode
        /// The contract is not in the store (not synced yet, or a wrong number).
        case notInStore
        /// The transition table or a guard stands in the way, and no allowed override set it aside.
        case refusedByRules
        /// What was to be recorded can never satisfy the rule it is for (a default notice with too short
        /// a remedy period, or dates in the wrong order): refused when recorded, not later by a guard.
        case invalidNotice
        /// The hold to lift is MILES's own vulnerability flag, which is cleared in MILES.
        case milesFlag
        /// A hold with no reason, or of a kind already active on the contract.
        case invalidHold
        /// A note whose category or text is empty or longer than MILES takes.
        case invalidNote

        public var description: String { rawValue }
    }

    public let code: Code
    public let input: String
    public let refusals: [String]

    public init(_ code: Code, input: String, _ refusals: [String]) {
        self.code = code
        self.input = input
        self.refusals = refusals
    }

    public var description: String { refusals.joined(separator: "\n") }
}
