import CollectionsDomain

/// FindContracts answers already rendered, by the query and the place in it they answer, so a page
/// read again (several clients reading the same book, a benchmark's passes) costs the mock nothing.
/// What a page holds depends on every contract as it stands (one changed after its query began drops
/// out of it), so `MockPortfolio` empties the cache on every change.
/// Bounded in bytes: once full, it keeps the pages it holds and renders the rest each time.
struct RenderedPages: Sendable {
    /// A FindContracts call as the mock answers it: its query (as of, since), where in it the page
    /// starts, the page size, and whether an injected fault skips a page.
    struct Key: Hashable, Sendable {
        let asOf: Int64
        let since: Int64?
        let afterIndex: Int
        let total: Int
        let pageSize: Int
        let skipsAPage: Bool

        init(asOf: Timestamp, since: Timestamp?, afterIndex: Int, total: Int, pageSize: Int, skipsAPage: Bool) {
            self.asOf = asOf.millisecondsSinceEpoch
            self.since = since?.millisecondsSinceEpoch
            self.afterIndex = afterIndex
            self.total = total
            self.pageSize = pageSize
            self.skipsAPage = skipsAPage
        }
    }

    /// The most bytes of pages kept; by default 256 MB, the first 170 or so pages of 1,000 contracts.
    let capacityBytes: Int
    private var pages: [Key: [UInt8]] = [:]
    private(set) var bytes = 0

    init(capacityBytes: Int = 256 << 20) {
        self.capacityBytes = capacityBytes
    }

    subscript(key: Key) -> [UInt8]? { pages[key] }

    mutating func keep(_ page: [UInt8], for key: Key) {
        guard pages[key] == nil, bytes + page.count <= capacityBytes else { return }
        pages[key] = page
        bytes += page.count
    }

    mutating func removeAll() {
        pages = [:]
        bytes = 0
    }
}
