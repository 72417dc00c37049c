import CollectionsDomain

/// What the desks that take money off a contract must see of each other's work: the allocations,
/// credit notes and write-offs asked of MILES that the stored contracts do not show yet.
public protocol ReliefStore: Sendable {
    /// For each contract named that has any, its relief in flight: its allocations, then its credit notes, then
    /// its write-offs, each kind in the order asked for (`ReliefInFlight.open` takes allocations first anyway):
    /// - an allocation not yet sent, or sent (and not reversed) after the contract's last change the store holds
    ///   (MILES changes the contract when it takes one, so a later change may show it);
    /// - a credit note or write-off waiting for approval or for MILES, or posted by MILES at a contract version
    ///   newer than the stored one. The bank matching leaves out those still waiting for approval: a customer's
    ///   payment comes before a decision not yet made.
    func reliefInFlight(contractNumbers: Set<String>) async throws -> [String: [ReliefInFlight]]
}
