import CollectionsDomain
import Testing

@Suite("Money, dates and timestamps")
struct MoneyAndDateTests {
    @Test("decimal text becomes integer minor units, never floating point")
    func decimalToMinorUnits() throws {
        #expect(DecimalAmount.parse("1234.5")?.money(in: .gbp)?.minorUnits == 123_450)
        #expect(DecimalAmount.parse(" -0.07 ")?.money(in: .gbp)?.minorUnits == -7)
        #expect(DecimalAmount.parse("0.1")?.money(in: try CurrencyCode("JPY")) == nil)
        #expect(DecimalAmount.parse("12.345")?.money(in: .gbp) == nil)
        #expect(DecimalAmount.parse("1e5") == nil)
        #expect(DecimalAmount.parse("") == nil)
        #expect(DecimalAmount.parse("99999999999999999999") == nil)
        #expect(Money(minorUnits: -1205, currency: .gbp).decimalString == "-12.05")
    }

    @Test("dates parse, print and do month arithmetic the way a lease schedule needs")
    func localDates() {
        let date = LocalDate.parse("2024-01-31")!
        #expect(date.adding(months: 1).description == "2024-02-29")
        #expect(date.adding(days: 14).description == "2024-02-14")
        #expect(LocalDate.parse("2023-02-29") == nil)
        #expect(LocalDate.parse("2023-2-01") == nil)
        #expect(LocalDate.parse("1969-12-31")!.daysSinceEpoch == -1)
        // Past the calendar's ends there is no date: month arithmetic stops at its first and last days.
        #expect(LocalDate.parse("9999-12-15")!.adding(months: 1).description == "9999-12-31")
        #expect(LocalDate.parse("9999-11-30")!.adding(months: 1).description == "9999-12-30")
        #expect(LocalDate.parse("0001-01-15")!.adding(months: -1).description == "0001-01-01")
        #expect(LocalDate.parse("2026-01-15")!.adding(months: .max).description == "9999-12-31")
        #expect(LocalDate.parse("2026-01-15")!.adding(months: .min).description == "0001-01-01")
    }

    @Test("timestamps need a zone and are normalised to UTC")
    func timestamps() {
        #expect(Timestamp.parse("2026-11-28T22:00:00.25+01:00")?.description == "2026-11-28T21:00:00.250Z")
        #expect(Timestamp.parse("2026-11-28T22:00:00Z")?.millisecondsSinceEpoch == 1_795_903_200_000)
        #expect(Timestamp.parse("2026-11-28T22:00:00") == nil)
        #expect(Timestamp.parse("2026-11-28T24:00:00Z") == nil)
    }

    @Test("aged-debt buckets put each day count in the right bucket")
    func agedDebtBuckets() throws {
        let buckets = AgedDebtBuckets.standard
        #expect(buckets.labels == ["current", "1-30", "31-60", "61-90", "91-120", "121+"])
        let expectations = [(-3, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"),
                            (90, "61-90"), (91, "91-120"), (120, "91-120"), (121, "121+")]
        for (days, label) in expectations {
            #expect(buckets.label(forDaysPastDue: days) == label, "\(days) days")
        }
        #expect(throws: CollectionsError.self) { try AgedDebtBuckets(upperBounds: [30, 30]) }
    }
}
