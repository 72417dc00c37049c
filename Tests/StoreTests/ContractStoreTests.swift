import CollectionsDomain
import CollectionsStore
import Foundation
import TestSupport
import Testing

/// A contract as a sync page brings it, made up for the tests.
func sampleContract(_ number: String, version: Int64 = 1, arrears: Int64 = 0, name: String = "Ada Lovelace", postcode: String = "LS1 4AB",
                    partner: String? = nil, invoices: [Int64] = [12_000, 8_000], modified: Int64 = 1_796_000_000_000) -> Contract {
    Contract(
        contractNumber: number, version: version, statusCode: arrears > 0 ? "ARR" : "ACTV", agreementType: .hirePurchase,
        startDate: LocalDate(daysSinceEpoch: 19_000), endDate: nil, currency: .gbp,
        totalPrice: Money(minorUnits: 2_400_000, currency: .gbp), paidToDate: Money(minorUnits: 600_000, currency: .gbp),
        monthlyPayment: Money(minorUnits: 40_000, currency: .gbp),
        arrears: Arrears(amount: Money(minorUnits: arrears, currency: .gbp), oldestUnpaidDueDate: arrears > 0 ? LocalDate(daysSinceEpoch: 20_400) : nil,
                         missedPayments: arrears > 0 ? 1 : 0),
        customer: Customer(partnerId: partner ?? "P-" + number, name: name, kind: .consumer,
                           address: PostalAddress(line1: "1 Park Row", line2: nil, town: "Leeds", postcode: postcode, country: "GB"),
                           phones: ["0113 496 0000", "07700 900123"], email: nil, vulnerable: false, version: version),
        vehicle: Vehicle(registration: "YX71 ABC", vin: "WVWZZZ1JZXW000001", make: "Volkswagen", model: "Golf"),
        openInvoices: invoices.enumerated().map { index, amount in
            Invoice(number: "INV-\(number)-\(index)", issueDate: LocalDate(daysSinceEpoch: 20_300 + Int32(index)),
                    dueDate: LocalDate(daysSinceEpoch: 20_330 + Int32(index)), amount: Money(minorUnits: amount, currency: .gbp),
                    openAmount: Money(minorUnits: amount, currency: .gbp))
        },
        lastModified: Timestamp(millisecondsSinceEpoch: modified), lastPaymentDate: LocalDate(daysSinceEpoch: 20_390))
}

@Suite("The contracts, the sync's checkpoint and risk alerts, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct ContractStoreTests {
    let now = Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)

    @Test("a page and its checkpoint are committed together; the same page again writes nothing; a change is rewritten, the arrears it replaced kept",
          arguments: StoreKind.available)
    func pages(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let run = try await store.startRun(job: "contracts", mode: "full", startedAt: now)
            let page = (1...5).map { sampleContract(String(format: "C%08d", $0), arrears: $0 == 2 ? 40_000 : 0) }
            let query = SyncCheckpoint.QueryInProgress(since: nil, asOf: now, cursor: "page-2", pagesDone: 1, received: 5, milesTotal: 10)
            let checkpoint = SyncCheckpoint(nextChangedSince: nil, inProgress: query, highWaterMark: page[0].lastModified)
            let revision = try await store.contractsRevision()
            #expect(try await store.commitPage(page, checkpoint: checkpoint, job: "contracts", runId: run, alerts: [], at: now) == 5)
            #expect(try await store.checkpoint(job: "contracts") == checkpoint)
            #expect(try await store.contract(number: "C00000003") == page[2])
            #expect(try await store.contracts(after: "C00000002", limit: 2) == Array(page[2...3]))
            #expect(try await store.contractCount() == 5)
            #expect(try await store.contractsRevision() > revision)

            let unchanged = try await store.contractsRevision()
            #expect(try await store.commitPage(page, checkpoint: SyncCheckpoint(nextChangedSince: now), job: "contracts", runId: run, alerts: [],
                                               at: now) == 0)
            #expect(try await store.contractsRevision() == unchanged)
            #expect(try await store.checkpoint(job: "contracts") == SyncCheckpoint(nextChangedSince: now))

            let changed = sampleContract("C00000002", version: 2, arrears: 80_000, invoices: [5_000], modified: 1_796_000_100_000)
            #expect(try await store.commitPage([changed], checkpoint: SyncCheckpoint(nextChangedSince: now), job: "contracts", runId: run,
                                               alerts: [], at: now) == 1)
            #expect(try await store.contract(number: "C00000002") == changed)
            let snapshots = try await store.riskSnapshots(contractNumbers: ["C00000002", "C00000004", "C99999999"], arrearsKept: 3)
            #expect(snapshots["C00000002"]?.earlierArrears.map(\.minorUnits) == [40_000, 80_000])
            #expect(snapshots["C00000002"]?.openBalance.minorUnits == 5_000)
            #expect(snapshots["C00000004"]?.earlierArrears.map(\.minorUnits) == [0])
            #expect(snapshots["C99999999"] == nil)
            #expect(try await store.statusCodeCounts() == ["ACTV": 4, "ARR": 1])

            #expect(try await store.finishRun(run, outcome: .completed, message: nil, milesTotal: 5, endedAt: now) == 5)
            let ledger = try #require(try await store.runs(job: "contracts", limit: 5).first)
            #expect(ledger.pages == 3)
            #expect(ledger.records == 11)
            #expect(ledger.written == 6)
            #expect(ledger.outcome == .completed)
            #expect(ledger.storedTotal == 5)
        }
    }

    @Test("a contract's risk snapshot: the arrears its last syncs replaced, oldest first, as many as asked for, then today's",
          arguments: StoreKind.available)
    func arrearsKept(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let run = try await store.startRun(job: "contracts", mode: "full", startedAt: now)
            for (version, arrears) in [10_000, 20_000, 30_000, 40_000].enumerated() {
                let page = [sampleContract("C1", version: Int64(version + 1), arrears: Int64(arrears), modified: 1_796_000_000_000 + Int64(version)),
                            sampleContract("C2")]
                _ = try await store.commitPage(page, checkpoint: SyncCheckpoint(nextChangedSince: now), job: "contracts", runId: run,
                                               alerts: [], at: now)
            }
            for (kept, expected) in [(1, [40_000]), (2, [30_000, 40_000]), (3, [20_000, 30_000, 40_000]), (9, [10_000, 20_000, 30_000, 40_000])] {
                let snapshots = try await store.riskSnapshots(contractNumbers: ["C1", "C2"], arrearsKept: kept)
                #expect(snapshots["C1"]?.earlierArrears.map(\.minorUnits) == expected.map(Int64.init), "keeping \(kept)")
                #expect(snapshots["C2"]?.earlierArrears.map(\.minorUnits) == [0], "keeping \(kept)")
            }
        }
    }

    @Test("two contracts of one customer in a page: the customer stored as the later one has it", arguments: StoreKind.available)
    func sharedCustomerInAPage(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let run = try await store.startRun(job: "contracts", mode: "full", startedAt: now)
            let page = [sampleContract("C1", name: "Ada Lovelace", partner: "P-1"), sampleContract("C2", name: "Ada King", partner: "P-1"),
                        sampleContract("C3", partner: "P-3")]
            #expect(try await store.commitPage(page, checkpoint: SyncCheckpoint(nextChangedSince: now), job: "contracts", runId: run,
                                               alerts: [], at: now) == 3)
            #expect(try await store.contract(number: "C1")?.customer.name == "Ada King")
            #expect(try await store.contract(number: "C2") == page[1])
            #expect(try await store.contract(number: "C3") == page[2])
        }
    }

    @Test("searched by a number's start, a postcode without spaces or case, the starts of a name's words; read by open invoices and largest balances",
          arguments: StoreKind.available)
    func searchAndBalances(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let run = try await store.startRun(job: "contracts", mode: "full", startedAt: now)
            let page = [
                sampleContract("C00000101", name: "Grace Hopper", postcode: "LS1 4AB", invoices: [1_000]),
                sampleContract("C00000102", name: "Alan Turing", postcode: "M1 1AE", partner: "P-SHARED", invoices: [30_000, 20_000]),
                sampleContract("C00000203", name: "Alan Turing", postcode: "M1 1AE", partner: "P-SHARED", invoices: [45_000]),
                sampleContract("C00000204", name: "Katherine Johnson", postcode: "EH1 1YZ", invoices: []),
            ]
            _ = try await store.commitPage(page, checkpoint: SyncCheckpoint(), job: "contracts", runId: run, alerts: [], at: now)
            #expect(try await store.searchContracts(matching: "c000001", limit: 10).map(\.contractNumber) == ["C00000101", "C00000102"])
            #expect(try await store.searchContracts(matching: "m11a", limit: 10).map(\.contractNumber) == ["C00000102", "C00000203"])
            #expect(try await store.searchContracts(matching: "tur al", limit: 10).map(\.contractNumber) == ["C00000102", "C00000203"])
            #expect(try await store.searchContracts(matching: "hop", limit: 10).map(\.contractNumber) == ["C00000101"])
            #expect(try await store.searchContracts(matching: "nobody", limit: 10).isEmpty)

            let byContract = try await store.largestOpenBalances(by: .contract, limit: 2)
            #expect(byContract.map(\.key) == ["C00000102", "C00000203"])
            #expect(byContract.first?.invoices.map(\.openAmount.minorUnits) == [30_000, 20_000])
            let byCustomer = try await store.largestOpenBalances(by: .customer, limit: 1)
            #expect(byCustomer.map(\.key) == ["P-SHARED"])
            #expect(byCustomer.first?.customerName == "Alan Turing")
            #expect(byCustomer.first?.invoices.count == 3)

            var invoices: [Invoice] = []
            try await store.forEachOpenInvoice(pageSize: 2) { invoices.append($0) }
            #expect(invoices.map(\.number) == ["INV-C00000101-0", "INV-C00000102-0", "INV-C00000102-1", "INV-C00000203-0"])
        }
    }

    @Test("a risk alert is raised once while open on its contract and rule, from any store; acknowledged once, audited", arguments: StoreKind.available)
    func riskAlerts(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let other = try await subject.reopen()
            let run = try await store.startRun(job: "contracts", mode: "full", startedAt: now)
            let alert = RiskAlert(rule: "arrears-jump", contractNumber: "C00000001", facts: "arrears £400.00 to £1,200.00")
            _ = try await store.commitPage([sampleContract("C00000001")], checkpoint: SyncCheckpoint(), job: "contracts", runId: run,
                                           alerts: [alert], at: now)
            _ = try await other.commitPage([], checkpoint: SyncCheckpoint(), job: "contracts", runId: run, alerts: [alert], at: now)
            let open = try await store.riskAlerts(includeAcknowledged: false, limit: 10)
            #expect(open.map(\.alert) == [alert])
            let id = try #require(open.first?.id)
            try await other.acknowledgeRiskAlert(id: id, by: "bob", comment: "spoke to the customer: a one-off", at: now)
            await #expect(throws: StoreError.self) { try await store.acknowledgeRiskAlert(id: id, by: "carol", comment: "again", at: now) }
            #expect(try await store.riskAlerts(includeAcknowledged: false, limit: 10).isEmpty)
            #expect(try await store.riskAlert(id: id)?.acknowledgedBy == "bob")
            // Acknowledged, the rule may fire again on the contract.
            _ = try await store.commitPage([], checkpoint: SyncCheckpoint(), job: "contracts", runId: run, alerts: [alert], at: now)
            #expect(try await store.riskAlerts(includeAcknowledged: true, limit: 10).count == 2)
            let audited = try await store.auditEntries().map(\.action)
            #expect(audited == ["risk.alert", "risk.acknowledged", "risk.alert"])
            #expect(try await store.verifyAudit() == .intact(entries: 3))
        }
    }
}
