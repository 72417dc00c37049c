import CollectionsDomain
import CollectionsStore
@testable import MilesSync
import Testing

private let day = LocalDate.parse("2026-12-01")!
private let gbp = CurrencyCode.gbp

/// When the batches below are stored.
private let recorded = Timestamp(millisecondsSinceEpoch: 1_796_112_000_000)

private func pounds(_ pence: Int64) -> Money { Money(minorUnits: pence, currency: gbp) }

private func payment(_ reference: String, _ pence: Int64, payer: String? = nil) -> BankEntry {
    BankEntry(position: 1, bankReference: reference, bookingDate: day, valueDate: day, amount: pounds(pence), mark: .credit, isReversal: false,
              returnReason: nil, remittance: "C1", counterpartyName: nil, counterpartyAccount: payer, endToEndId: nil)
}

/// C1 with one invoice of £300 open and an agent's £300 payment in transit (update 7).
private func reading(takenBy: Set<String> = [], payers: Set<String> = []) -> StoreReading {
    let invoice = Invoice(number: "INV-1", issueDate: day.adding(days: -14), dueDate: day, amount: pounds(30_000), openAmount: pounds(30_000))
    let contract = BankMatchContract(
        contractNumber: "C1", currency: gbp, customerName: "A Customer", monthlyPayment: pounds(30_000), arrears: pounds(30_000),
        openInvoices: [invoice], knownPayerAccounts: [],
        paymentsInTransit: [PaymentInTransit(updateId: 7, agent: "acme-dca", amount: pounds(30_000), paidOn: day, agentReference: "A7")],
        takenBy: takenBy)
    return StoreReading(known: [], data: BankMatchData(contracts: ["C1": contract]), payers: payers)
}

/// A batch of one payment allocated to INV-1 of C1, matching the payment in transit.
private func allocatedBatch(payer: String? = nil) -> DecidedBatch {
    DecidedBatch(statementId: 1, throughPosition: 1, outcomes: [BankEntryOutcome(
        entry: payment("E1", 30_000, payer: payer), identity: "GB|E1",
        decision: .allocate(contractNumber: "C1", lines: [AllocationLine(invoiceNumber: "INV-1", amount: pounds(30_000))], suspense: .zero(gbp),
                            confidence: 90, reason: "contract number in the remittance", paymentInTransit: 7))], at: recorded)
}

@Suite("A batch read while the previous one is stored is brought up to date as if it had been read after")
struct BankBatchCarryTests {
    @Test("read before the previous batch was committed: its allocation takes the invoice and the payment in transit, its entry is stored")
    func readBeforeCommit() {
        var next = reading()
        allocatedBatch().carry(into: &next, identities: ["GB|E1", "GB|E2"])
        let contract = next.data.contracts["C1"]
        #expect(contract?.openInvoices.map(\.openAmount) == [pounds(0)])
        #expect(contract?.paymentsInTransit.isEmpty == true)
        #expect(contract?.takenBy == ["GB|E1"])
        #expect(next.known == ["GB|E1"])
    }

    @Test("read after the previous batch was committed: its allocation is counted already (by its entry's identity) and is not taken twice")
    func readAfterCommit() {
        var next = reading(takenBy: ["GB|E1"])
        allocatedBatch().carry(into: &next, identities: ["GB|E2"])
        #expect(next.data.contracts["C1"]?.openInvoices.map(\.openAmount) == [pounds(30_000)])
        #expect(next.known.isEmpty)
    }

    @Test("read again once stored instead: a return, or a payer's account learnt that the next batch pays from")
    func readAgain() {
        #expect(!allocatedBatch(payer: "GB94 BARC 1020 1530 0934 59").changesMoreThanItCarries(toEntriesPaying: ["GB11OTHER"]))
        #expect(allocatedBatch(payer: "GB94 BARC 1020 1530 0934 59").changesMoreThanItCarries(toEntriesPaying: ["GB94BARC10201530093459"]))
        let returned = DecidedBatch(statementId: 1, throughPosition: 2, outcomes: [BankEntryOutcome(
            entry: payment("R1", 30_000), identity: "GB|R1", decision: .reverse(originalEntryId: 41, reason: "the bank returned it"))], at: recorded)
        #expect(returned.changesMoreThanItCarries(toEntriesPaying: []))
        #expect(!allocatedBatch().changesMoreThanItCarries(toEntriesPaying: []))
    }
}
