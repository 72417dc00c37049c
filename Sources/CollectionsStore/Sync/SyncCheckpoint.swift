import CollectionsDomain

/// Where the contract sync stands: where the next query starts and, if a query was interrupted,
/// how to resume it. Moved in the same transaction as the page it follows.
public struct SyncCheckpoint: Sendable, Equatable {
    /// A query that has started and not finished: resumed with its cursor.
    public struct QueryInProgress: Sendable, Equatable {
        /// The query's `changedSince`; `nil` for a full sync.
        public var since: Timestamp?
        /// When MILES started answering it (AsOf of its first page).
        public var asOf: Timestamp
        /// The cursor of the next page to fetch.
        public var cursor: String
        public var pagesDone: Int
        public var received: Int
        /// MILES's total count for the query.
        public var milesTotal: Int

        public init(since: Timestamp?, asOf: Timestamp, cursor: String, pagesDone: Int, received: Int, milesTotal: Int) {
            self.since = since
            self.asOf = asOf
            self.cursor = cursor
            self.pagesDone = pagesDone
            self.received = received
            self.milesTotal = milesTotal
        }
    }

    /// Where the next fresh query starts (`IncrementalStart`): the AsOf of the last completed query, or,
    /// for a MILES that sends no AsOf, `highWaterMark` less the mapping's overlap; `nil` before the first.
    public var nextChangedSince: Timestamp?
    public var inProgress: QueryInProgress?
    /// The latest `lastModified` seen on any contract: where the next query starts when MILES sends no AsOf.
    public var highWaterMark: Timestamp?

    public init(nextChangedSince: Timestamp? = nil, inProgress: QueryInProgress? = nil, highWaterMark: Timestamp? = nil) {
        self.nextChangedSince = nextChangedSince
        self.inProgress = inProgress
        self.highWaterMark = highWaterMark
    }
}
