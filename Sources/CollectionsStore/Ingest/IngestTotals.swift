import CollectionsDomain

/// How many updates the store holds, and how many rows were rejected or refused.
public struct IngestTotals: Sendable, Equatable {
    public var received: Int
    public var rejected: Int
    public var refused: Int

    public init(received: Int, rejected: Int, refused: Int) {
        self.received = received
        self.rejected = rejected
        self.refused = refused
    }
}
