import CollectionsDomain

/// The contracts, customers and open invoices as the last sync (or a re-read after a version
/// conflict) brought them from MILES.
public protocol ContractStore: Sendable {
    /// One stored contract, with its customer and open invoices.
    func contract(number: String) async throws -> Contract?

    /// Up to `limit` contracts after `contractNumber` (from the first when nil), in contract-number order.
    func contracts(after contractNumber: String?, limit: Int) async throws -> [Contract]

    /// Up to `limit` open invoices of every stored contract after `cursor` (from the first when nil):
    /// the aged debt reads these rather than whole contracts.
    func openInvoices(after cursor: OpenInvoicePage.Cursor?, limit: Int) async throws -> OpenInvoicePage

    /// Replaces one contract with what MILES sent for it (GetContract after a version conflict).
    func upsertContract(_ contract: Contract) async throws

    func contractCount() async throws -> Int

    /// Contracts whose number starts with `text`, or whose customer's postcode starts with it (spaces
    /// ignored), or whose customer's name has a word starting with each word of `text` of two
    /// letters or more; all
    /// case-insensitive, in contract-number order, at most `limit`. When more match, which of them
    /// come back is the store's choice: ask for one more than you show to know there are more.
    func searchContracts(matching text: String, limit: Int) async throws -> [Contract]

    /// The `limit` contracts, or customers, with the largest open balance in a currency (above
    /// zero), largest first, each with its open invoices in that currency.
    func largestOpenBalances(by grouping: OpenBalanceGroup.Grouping, limit: Int) async throws -> [OpenBalanceGroup]

    /// A number that changes whenever a stored contract or its invoices change: what a figure
    /// computed over every contract (the aged debt) is kept against.
    func contractsRevision() async throws -> Int64

    /// Each MILES status code in the store with how many contracts carry it.
    func statusCodeCounts() async throws -> [String: Int]
}

extension ContractStore {
    /// The contract a person means by `typed` (`TypedNumber`): numbered so, or else so in capitals.
    public func contract(typed: String) async throws -> Contract? {
        for number in TypedNumber.forms(of: typed) {
            if let contract = try await contract(number: number) { return contract }
        }
        return nil
    }

    /// Every stored contract in contract-number order, read a page at a time so memory stays flat.
    public func forEachContract(pageSize: Int = 1_000, _ body: (Contract) async throws -> Void) async throws {
        var after: String?
        while true {
            let page = try await contracts(after: after, limit: pageSize)
            for contract in page { try await body(contract) }
            guard page.count == pageSize, let last = page.last else { return }
            after = last.contractNumber
        }
    }

    /// Every open invoice of every stored contract, read a page at a time so memory stays flat.
    public func forEachOpenInvoice(pageSize: Int = 5_000, _ body: (Invoice) async throws -> Void) async throws {
        var cursor: OpenInvoicePage.Cursor?
        repeat {
            let page = try await openInvoices(after: cursor, limit: pageSize)
            for invoice in page.invoices { try await body(invoice) }
            cursor = page.next
        } while cursor != nil
    }
}
