/// Open amounts per aged-debt bucket and currency, as of a date.
///
/// ```swift
/// var report = AgedDebtReport(asOf: today)
/// for invoice in invoices { report.add(invoice) }
/// report.totals[.gbp]   // [current, 1-30, …] in pence
/// ```
public struct AgedDebtReport: Sendable {
    public let asOf: LocalDate
    public let buckets: AgedDebtBuckets
    /// Per currency: the open minor units in each bucket, in `buckets.labels` order.
    public private(set) var totals: [CurrencyCode: [Int64]] = [:]
    /// Per currency: how many open invoices fall in each bucket.
    public private(set) var counts: [CurrencyCode: [Int]] = [:]

    public init(asOf: LocalDate, buckets: AgedDebtBuckets = .standard) {
        self.asOf = asOf
        self.buckets = buckets
    }

    public mutating func add(_ invoice: Invoice) {
        let bucket = buckets.index(forDaysPastDue: invoice.daysPastDue(on: asOf))
        let currency = invoice.openAmount.currency
        totals[currency, default: Array(repeating: 0, count: buckets.labels.count)][bucket] += invoice.openAmount.minorUnits
        counts[currency, default: Array(repeating: 0, count: buckets.labels.count)][bucket] += 1
    }
}
