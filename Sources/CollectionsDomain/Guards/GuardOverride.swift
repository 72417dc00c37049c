/// Overriding a guard: a person whose role is at least the one the matrix names for the rule, with a
/// reason. The override is recorded (and audited) with the refusal it set aside.
public struct GuardOverride: Sendable, Equatable {
    public var rule: String
    public var by: String
    public var role: String
    public var reason: String

    public init(rule: String, by: String, role: String, reason: String) {
        self.rule = rule
        self.by = by
        self.role = role
        self.reason = reason
    }

    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case noReason
        case roleTooLow(user: String, role: String, required: String)
        case notOverridable(rule: String)

        public var description: String {
            switch self {
            case .noReason: return "an override needs a reason"
            case let .roleTooLow(user, role, required):
                return "\(user) is \(role); overriding this rule needs a \(required) or above"
            case let .notOverridable(rule): return "rule \(rule) cannot be overridden: the authority matrix names no role for it"
            }
        }
    }

    /// Allows `user` to set aside `refusal` when their role reaches the one `overrideRoles` names for its rule.
    public static func authorise(_ refusal: GuardRefusal, by user: CollectionsUser, reason: String,
                                 overrideRoles: [String: CollectionsRole]) throws(Refusal) -> GuardOverride {
        guard reason.contains(where: { !$0.isWhitespace }) else { throw .noReason }
        guard let required = overrideRoles[refusal.rule] else { throw .notOverridable(rule: refusal.rule) }
        guard user.role.rank >= required.rank else {
            throw .roleTooLow(user: user.name, role: user.role.name, required: required.name)
        }
        return GuardOverride(rule: refusal.rule, by: user.name, role: user.role.name, reason: reason)
    }
}
