/// One approval of a decision (a write-off, an arrangement, a credit note, a reversal): who, in
/// which role, under which matrix version.
public struct Approval: Sendable, Equatable {
    public var approver: String
    public var role: String
    public var matrixVersion: Int
    public var at: Timestamp
    public var comment: String?

    public init(approver: String, role: String, matrixVersion: Int, at: Timestamp, comment: String?) {
        self.approver = approver
        self.role = role
        self.matrixVersion = matrixVersion
        self.at = at
        self.comment = comment
    }
}

/// The four-eyes rules every money decision is approved under, as one pure function: never by the
/// person who raised it, only by a role the matrix allows for it, and by two different people when
/// the matrix asks for two.
///
/// ```swift
/// let outcome = try MakerChecker.approve("credit note", raisedBy: "alice", state: "pendingApproval",
///                                        approvals: [], requiredRole: leader, approvalsNeeded: 1,
///                                        by: bob, under: matrix, at: now, comment: nil)
/// ```
public enum MakerChecker {
    /// Why an approval was refused: each says what would be needed instead.
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        /// `record` names what is approved, e.g. "write-off request".
        case raisedBy(user: String, record: String)
        case roleTooLow(user: String, role: String, required: String, record: String)
        case alreadyApproved(user: String, record: String)
        case notPending(state: String, record: String)
        case unknownRole(user: String, role: String)

        public var description: String {
            switch self {
            case let .raisedBy(user, record):
                "\(user) raised this \(record) and cannot approve it: another person must (maker-checker)"
            case let .roleTooLow(user, role, required, record):
                "\(user) is \(role); this \(record) needs a \(required) or above to approve it"
            case let .alreadyApproved(user, record):
                "\(user) has already approved this \(record); the second approval must come from someone else"
            case let .notPending(state, record):
                "the \(record) is \(state), not waiting for approval"
            case let .unknownRole(user, role):
                "\(user)'s role '\(role)' is not in the authority matrix"
            }
        }
    }

    public struct Outcome: Sendable, Equatable {
        public var approval: Approval
        /// True when this approval completes the approvals the decision needs.
        public var isFinal: Bool
    }

    /// Judges `user`'s approval of a `record` waiting in `state` ("pendingApproval" is the only one
    /// that may be approved), raised by `raisedBy`, with `approvals` so far.
    public static func approve(_ record: String, raisedBy: String, state: String, approvals: [Approval], requiredRole: CollectionsRole,
                               approvalsNeeded: Int, by user: CollectionsUser, under matrix: AuthorityMatrix, at time: Timestamp,
                               comment: String?) throws(Refusal) -> Outcome {
        guard state == "pendingApproval" else { throw .notPending(state: state, record: record) }
        guard user.name != raisedBy else { throw .raisedBy(user: user.name, record: record) }
        guard !approvals.contains(where: { $0.approver == user.name }) else { throw .alreadyApproved(user: user.name, record: record) }
        guard let role = matrix.role(named: user.role.name) else { throw .unknownRole(user: user.name, role: user.role.name) }
        guard role.rank >= requiredRole.rank else {
            throw .roleTooLow(user: user.name, role: role.name, required: requiredRole.name, record: record)
        }
        let approval = Approval(approver: user.name, role: role.name, matrixVersion: matrix.version, at: time, comment: comment)
        return Outcome(approval: approval, isFinal: approvals.count + 1 >= approvalsNeeded)
    }

    /// Whether `user` may reject (or cancel) a record raised by `raisedBy` that needs `requiredRole`: its
    /// maker, withdrawing it, or someone who could approve it. A rejection is final, so it needs no less
    /// authority than an approval.
    public static func mayReject(raisedBy: String, requiredRole: CollectionsRole, by user: CollectionsUser) -> Bool {
        user.name == raisedBy || user.role.rank >= requiredRole.rank
    }
}
