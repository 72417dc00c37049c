/// A rule that forbids an action now, and what would satisfy it.
public struct GuardRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable rule id, e.g. `CCA-s90-protected-goods`, used in overrides and the audit log.
    public let rule: String
    public let reason: String
    public let toSatisfy: String

    public init(rule: String, reason: String, toSatisfy: String) {
        self.rule = rule
        self.reason = reason
        self.toSatisfy = toSatisfy
    }

    public var description: String { "[\(rule)] \(reason); to proceed: \(toSatisfy)" }
}
