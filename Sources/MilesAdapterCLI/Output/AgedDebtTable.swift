import CollectionsDomain
import CollectionsStore

/// The aged-debt table the collections team reads: open amounts per bucket, per currency.
enum AgedDebtTable {
    static func render(_ report: AgedDebtReport) -> String {
        let asOf = report.asOf
        let labels = report.buckets.labels
        let width = 14
        func cell(_ text: String) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        var lines = ["Aged debt as of \(asOf) (open invoice amounts by days past due)"]
        lines.append(cell("currency") + labels.map(cell).joined() + cell("total"))
        for currency in report.totals.keys.sorted(by: { $0.code < $1.code }) {
            let totals = report.totals[currency]!
            let amounts = totals.map { Money(minorUnits: $0, currency: currency).decimalString }
            let sum = Money(minorUnits: totals.reduce(0, +), currency: currency).decimalString
            lines.append(cell(currency.code) + amounts.map(cell).joined() + cell(sum))
            let counts = report.counts[currency]!
            lines.append(cell("invoices") + counts.map { cell(String($0)) }.joined() + cell(String(counts.reduce(0, +))))
        }
        if report.totals.isEmpty { lines.append("  (no open invoices)") }
        return lines.joined(separator: "\n")
    }
}
