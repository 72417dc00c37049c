import CollectionsDomain
import CollectionsStore

/// A row of the aged debt by contract or by customer: one contract's, or one customer's, open
/// invoices in one currency, aged.
struct AgedDebtRow: Sendable {
    /// How many of the largest the pages show.
    static let shown = 200

    /// The contract number, or the customer's partner id.
    let key: String
    let customerName: String
    let currency: CurrencyCode
    let report: AgedDebtReport

    /// The `shown` largest open balances, aged to `asOf`.
    static func largest(by grouping: OpenBalanceGroup.Grouping, in store: any ContractStore, asOf: LocalDate) async throws -> [AgedDebtRow] {
        try await store.largestOpenBalances(by: grouping, limit: shown).map { group in
            var report = AgedDebtReport(asOf: asOf)
            for invoice in group.invoices { report.add(invoice) }
            return AgedDebtRow(key: group.key, customerName: group.customerName, currency: group.currency, report: report)
        }
    }
}
