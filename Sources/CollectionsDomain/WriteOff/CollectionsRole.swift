/// A role in the collections team, as the authority matrix names it (`agent`, `teamLeader`, …).
/// Roles are ordered by authority: the order of the matrix file.
public struct CollectionsRole: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    /// Position in the matrix: a higher rank has more authority.
    public let rank: Int

    public init(name: String, rank: Int) {
        self.name = name
        self.rank = rank
    }

    public var description: String { name }
}

/// A person who uses the adapter, with the role they act in.
public struct CollectionsUser: Hashable, Sendable {
    public let name: String
    public let role: CollectionsRole

    public init(name: String, role: CollectionsRole) {
        self.name = name
        self.role = role
    }
}
