/// The aged-debt buckets by days past the due date. The default is the team's report:
/// current, 1-30, 31-60, 61-90, 91-120, 121+; other boundaries can be configured.
///
/// ```swift
/// let buckets = AgedDebtBuckets.standard
/// buckets.label(forDaysPastDue: 45)   // "31-60"
/// ```
public struct AgedDebtBuckets: Hashable, Sendable {
    /// The last day of each closed bucket after "current", ascending: [30, 60, 90, 120] gives
    /// current, 1-30, 31-60, 61-90, 91-120, 121+.
    public let upperBounds: [Int]

    public init(upperBounds: [Int]) throws(CollectionsError) {
        guard let first = upperBounds.first, first >= 1,
              zip(upperBounds, upperBounds.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw CollectionsError.invalidValue(
                field: "aged-debt buckets", value: upperBounds.map(String.init).joined(separator: ","),
                expected: "ascending day counts starting at 1 or more, e.g. 30,60,90,120")
        }
        self.upperBounds = upperBounds
    }

    public static let standard = try! AgedDebtBuckets(upperBounds: [30, 60, 90, 120])

    /// Bucket labels in report order.
    public var labels: [String] {
        var labels = ["current"]
        var lower = 1
        for upper in upperBounds {
            labels.append("\(lower)-\(upper)")
            lower = upper + 1
        }
        labels.append("\(lower)+")
        return labels
    }

    /// The index into `labels` for an invoice `days` past due (zero or less is current).
    public func index(forDaysPastDue days: Int) -> Int {
        guard days > 0 else { return 0 }
        for (offset, upper) in upperBounds.enumerated() where days <= upper {
            return offset + 1
        }
        return upperBounds.count + 1
    }

    public func label(forDaysPastDue days: Int) -> String { labels[index(forDaysPastDue: days)] }
}
