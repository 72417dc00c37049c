import CollectionsDomain
import Testing

@Suite("Relief in flight taken off a contract's open invoices")
struct ReliefInFlightTests {
    func invoice(_ number: String, open: Int64, due: String) -> Invoice {
        Invoice(number: number, issueDate: LocalDate.parse("2026-09-01")!, dueDate: LocalDate.parse(due)!,
                amount: Money(minorUnits: open + 1_000, currency: .gbp), openAmount: Money(minorUnits: open, currency: .gbp))
    }

    /// Listed newest due first, so oldest-first is not the order given.
    var invoices: [Invoice] {
        [invoice("INV-3", open: 5_000, due: "2026-12-01"), invoice("INV-1", open: 2_000, due: "2026-10-01"),
         invoice("INV-2", open: 3_000, due: "2026-11-01")]
    }

    func open(less relief: [ReliefInFlight]) -> [String: Int64] {
        Dictionary(uniqueKeysWithValues: ReliefInFlight.open(invoices, less: relief).map { ($0.number, $0.openAmount.minorUnits) })
    }

    @Test("nothing in flight leaves the amounts, and the order, as they were")
    func nothing() {
        #expect(ReliefInFlight.open(invoices, less: []) == invoices)
    }

    @Test("a credit note or write-off naming no invoice takes the oldest due first, as MILES applies it")
    func oldestDueFirst() {
        #expect(open(less: [.writeOff(id: 1, invoiceNumbers: [], amount: 2_500)]) == ["INV-1": 0, "INV-2": 2_500, "INV-3": 5_000])
        #expect(ReliefInFlight.open(invoices, less: [.creditNote(id: 1, invoiceNumbers: [], amount: 1)]).map(\.number) == ["INV-3", "INV-1", "INV-2"])
    }

    @Test("one naming invoices takes only from those; more than they hold takes them to zero and no further")
    func namedInvoices() {
        #expect(open(less: [.creditNote(id: 1, invoiceNumbers: ["INV-3", "INV-2"], amount: 4_000)]) == ["INV-1": 2_000, "INV-2": 0, "INV-3": 4_000])
        #expect(open(less: [.writeOff(id: 1, invoiceNumbers: ["INV-2"], amount: 9_000)]) == ["INV-1": 2_000, "INV-2": 0, "INV-3": 5_000])
    }

    @Test("an allocation takes its lines where they say, before any spread relief; one naming an invoice no longer open takes nothing")
    func allocationsFirst() {
        let relief: [ReliefInFlight] = [
            .writeOff(id: 1, invoiceNumbers: [], amount: 2_500),
            .allocation(identity: "e-1", lines: ["INV-2": 3_000, "INV-9": 700]),
        ]
        // The allocation empties INV-2 first, so the write-off's share after INV-1 falls on INV-3.
        #expect(open(less: relief) == ["INV-1": 0, "INV-2": 0, "INV-3": 4_500])
        #expect(relief.compactMap(\.allocationIdentity) == ["e-1"])
    }
}
