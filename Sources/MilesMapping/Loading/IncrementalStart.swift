import CollectionsDomain

/// Where the next incremental FindContracts query starts, once one has completed.
public enum IncrementalStart: Sendable, Equatable {
    /// Where MILES began answering the last query (its `AsOf`): a contract changed while the pages
    /// were read is fetched next time, and nothing is fetched twice.
    case asOf
    /// MILES sends no `AsOf`: at the newest `lastModified` seen, less `overlap`. A change MILES commits
    /// late with an earlier `lastModified` (up to the overlap) is still caught; contracts changed within
    /// the overlap are fetched again, which only rewrites what is already stored.
    case highWaterMark(overlap: Duration)

    /// The `changedSince` of the next query: the completed query's `asOf`, or the high-water mark less
    /// the overlap (while nothing has been seen, where the completed query started: `since`).
    public func nextChangedSince(asOf: Timestamp, highWaterMark: Timestamp?, since: Timestamp?) -> Timestamp? {
        switch self {
        case .asOf:
            return asOf
        case let .highWaterMark(overlap):
            let milliseconds = overlap.components.seconds * 1000 + overlap.components.attoseconds / 1_000_000_000_000_000
            return highWaterMark.map { $0.adding(milliseconds: -milliseconds) } ?? since
        }
    }
}
