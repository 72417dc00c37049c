/// One page of a MILES FindContracts answer.
public struct ContractPage: Sendable {
    /// When MILES started answering this query; the next incremental query starts here,
    /// so a contract changed while the pages were read is fetched next time rather than missed.
    /// Nil from a MILES that sends no AsOf.
    public var asOf: Timestamp?
    /// How many contracts the whole query matches, for reconciliation.
    public var totalCount: Int
    /// The cursor for the next page; `nil` on the last page.
    public var nextCursor: String?
    public var contracts: [Contract]
    /// Read leniently: each way the answer broke the schema (element path and what), with how often.
    public var schemaDeviations: [String: Int]

    public init(asOf: Timestamp?, totalCount: Int, nextCursor: String?, contracts: [Contract], schemaDeviations: [String: Int] = [:]) {
        self.asOf = asOf
        self.totalCount = totalCount
        self.nextCursor = nextCursor
        self.contracts = contracts
        self.schemaDeviations = schemaDeviations
    }
}
