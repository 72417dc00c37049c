import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
@testable import MilesSync
import Testing

/// A contract as the store would hold it, with one open invoice.
func contract(_ number: String, status: String, version: Int64 = 7, open: Int64 = 50_000) -> Contract {
    let gbp = CurrencyCode.gbp
    let start = LocalDate.parse("2024-01-15")!
    return Contract(
        contractNumber: number, version: version, statusCode: status, agreementType: .hirePurchase, startDate: start, endDate: nil,
        currency: gbp, totalPrice: Money(minorUnits: 1_200_000, currency: gbp), paidToDate: Money(minorUnits: 600_000, currency: gbp),
        monthlyPayment: Money(minorUnits: 25_000, currency: gbp),
        arrears: Arrears(amount: Money(minorUnits: open, currency: gbp), oldestUnpaidDueDate: LocalDate.parse("2026-08-01"), missedPayments: 2),
        customer: Customer(partnerId: "P-\(number)", name: "Test Customer", kind: .consumer,
                           address: PostalAddress(line1: "1 High Street", line2: nil, town: "Leeds", postcode: "LS1 1AA", country: "GB"),
                           phones: [], email: nil, vulnerable: false),
        vehicle: Vehicle(registration: "AB12 CDE", vin: "VIN\(number)", make: "Ford", model: "Focus"),
        openInvoices: [Invoice(number: "INV-\(number)", issueDate: LocalDate.parse("2026-08-01")!, dueDate: LocalDate.parse("2026-08-01")!,
                               amount: Money(minorUnits: open, currency: gbp), openAmount: Money(minorUnits: open, currency: gbp))],
        lastModified: Timestamp(secondsSinceEpoch: 1_790_000_000), lastPaymentDate: LocalDate.parse("2026-07-01"))
}

@Suite("The desks and the relay decide, against in-memory stores (no SQLite, no mock)")
struct DeskTests {
    let mappings: MappingSet
    let clock = CollectionsClock.fixed(Timestamp(millisecondsSinceEpoch: 1_795_000_000_000))

    init() throws {
        mappings = try MappingSet.load(directory: mappingsDirectory)
    }

    @Test("the same file again is the requests it made, though a payment allocated meanwhile took what was open; a new row is refused saying what was taken off")
    func sameFileAfterAPayment() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "DEF", open: 50_000), contract("C2", status: "DEF", open: 50_000)])
        let desk = WriteOffDesk(store: store, mappings: mappings, now: clock)
        let alice = try desk.user(named: "alice", roles: ["alice": "teamLeader"])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("desk-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "contract_number,amount,invoice_numbers,reason_code,comment\nC1,500.00,,UNEC,all of it\nC2,full,,UNEC,all of it\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let first = try await desk.prepare(file: try WriteOffFile(path: file), by: alice)
        #expect(first.created.count == 2 && first.refused.isEmpty, "\(first.refused)")

        // The customers paid 200.00 each, allocated and not yet in MILES, while the write-offs wait for approval.
        for (id, number) in [(Int64(91), "C1"), (92, "C2")] {
            await store.queueAllocation(PaymentAllocation(
                id: id, contractNumber: number, lines: [AllocationLine(invoiceNumber: "INV-\(number)", amount: Money(minorUnits: 20_000, currency: .gbp))],
                suspense: Money(minorUnits: 0, currency: .gbp), valueDate: LocalDate.parse("2026-11-30")!, account: "GB33BUKB20201555555555",
                bankReference: "R\(id)", allocatedBy: "bank-rules", reason: "contract number quoted", confidence: 95, state: .pending,
                milesAllocationId: nil), reversal: false, at: clock())
        }
        let again = try await desk.prepare(file: try WriteOffFile(path: file), by: alice)
        #expect(again.alreadyRequested.map(\.id) == first.created.map(\.id) && again.created.isEmpty && again.refused.isEmpty, "\(again.refused)")

        try "contract_number,amount,invoice_numbers,reason_code,comment\nC1,500.00,,DECE,another reason\n".write(toFile: file, atomically: true, encoding: .utf8)
        let other = try await desk.prepare(file: try WriteOffFile(path: file), by: alice)
        #expect(other.refused.first?.reason == "amount 500.00 GBP is more than the open balance 300.00 GBP" + ReliefInFlight.takenOff,
                "\(other.refused)")
    }

    @Test("a write-off raised by an agent is refused to its maker and, approved by a team leader, is queued as PostWriteOff WO-<id>")
    func writeOffApprovalQueuesTheOutbox() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "DEF")])
        let desk = WriteOffDesk(store: store, mappings: mappings, now: clock)
        let roles = ["alice": "agent", "bob": "teamLeader"]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("desk-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "contract_number,amount,invoice_numbers,reason_code,comment\nC1,1.00,,UNEC,small balance\nC9,1.00,,UNEC,unknown\n"
            .appending("C1,-5.00,,UNEC,negative\nC1,1.005,,UNEC,three decimals\n")
            .write(toFile: file, atomically: true, encoding: .utf8)

        let report = try await desk.prepare(file: try WriteOffFile(path: file), by: try desk.user(named: "alice", roles: roles))
        #expect(report.refused.map(\.line) == [3, 4, 5])
        #expect(report.refused.map(\.reason).dropFirst() == ["amount -5.00 GBP is not above zero",
                                                             "amount '1.005' has more decimal places than GBP allows (2), or is too large"],
                "\(report.refused.map(\.reason))")
        let id = try #require(report.created.first?.id)
        #expect(await store.outboxEntries(state: nil).isEmpty)

        let own = await desk.approve(ids: [id], by: try desk.user(named: "alice", roles: roles), comment: nil)
        #expect(throws: WriteOffDeskError.self) { try own[0].result.get() }
        #expect((try? own[0].result.get()) == nil)
        if case let .failure(error) = own[0].result { #expect(error.code == .approvalRefused && error.input == "\(id)") }
        #expect(await store.outboxEntries(state: nil).isEmpty)

        let approved = await desk.approve(ids: [id], by: try desk.user(named: "bob", roles: roles), comment: "checked")
        #expect(try approved[0].result.get() == true)
        let entries = await store.outboxEntries(state: .pending)
        #expect(entries.map(\.kind) == [.postWriteOff])
        #expect(entries.map(\.clientReference) == ["WO-\(id)"])
        #expect(entries.first?.subjectId == id)
        #expect(await store.writeOffRequest(id: id)?.state == .approved)
    }

    @Test("a write-off is rejected only with a reason, by its maker or by someone who could approve it")
    func writeOffRejection() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "DEF", open: 2_000_000)])
        let desk = WriteOffDesk(store: store, mappings: mappings, now: clock)
        let roles = ["alice": "agent", "ann": "agent", "bob": "teamLeader", "hugh": "headOfCredit"]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("desk-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        // £20,000: beyond a team leader's £5,000 in the shipped matrix.
        try "contract_number,amount,invoice_numbers,reason_code,comment\nC1,20000.00,,UNEC,large balance\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let report = try await desk.prepare(file: try WriteOffFile(path: file), by: try desk.user(named: "alice", roles: roles))
        let id = try #require(report.created.first?.id)

        for (name, reason) in [("ann", "not worth it"), ("bob", "not worth it"), ("hugh", "  ")] {
            let refused = await desk.reject(ids: [id], by: try desk.user(named: name, roles: roles), reason: reason)
            #expect(throws: WriteOffDeskError.self) { try refused[0].result.get() }
            if case let .failure(error) = refused[0].result {
                #expect(error.code == (name == "hugh" ? .reasonRequired : .approvalRefused) && error.input == "\(id)", "\(name): \(error)")
            }
            #expect(await store.writeOffRequest(id: id)?.state == .pendingApproval, "\(name)")
        }
        let rejected = await desk.reject(ids: [id], by: try desk.user(named: "hugh", roles: roles), reason: "customer disputes the balance")
        #expect(throws: Never.self) { try rejected[0].result.get() }
        #expect(await store.writeOffRequest(id: id)?.state == .rejected)
        // The maker may withdraw their own request.
        // £300: beyond an agent's £250, so only the maker's own right lets alice withdraw it.
        try "contract_number,amount,invoice_numbers,reason_code,comment\nC1,300.00,,UNEC,raised in error\n".write(toFile: file, atomically: true, encoding: .utf8)
        let small = try #require(try await desk.prepare(file: try WriteOffFile(path: file), by: try desk.user(named: "alice", roles: roles)).created.first?.id)
        let withdrawn = await desk.reject(ids: [small], by: try desk.user(named: "alice", roles: roles), reason: "raised in error")
        #expect(throws: Never.self) { try withdrawn[0].result.get() }
        #expect(await store.writeOffRequest(id: small)?.state == .rejected)
    }

    @Test("an unknown user or role is a typed error naming the input")
    func unknownUser() throws {
        let desk = WriteOffDesk(store: InMemoryStore(), mappings: mappings, now: clock)
        #expect { try desk.user(named: "mallory", roles: [:]) } throws: { ($0 as? WriteOffDeskError)?.code == .unknownUser
            && ($0 as? WriteOffDeskError)?.input == "mallory" }
        #expect { try desk.user(named: "eve", roles: ["eve": "ceo"]) } throws: { ($0 as? WriteOffDeskError)?.input == "ceo" }
    }

    @Test("a hold on a placed account pauses it with the agent, in the same write; an unplaced account gets no instruction")
    func holdPausesThePlacement() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "DCA"), contract("C2", status: "DEF")])
        await store.place("C1", with: "acme-dca")
        let desk = ContractDesk(store: store, mappings: mappings, now: clock)

        try await desk.setHold(contractNumber: "C1", kind: .deceased, reason: "death certificate received", by: "bob")
        try await desk.setHold(contractNumber: "C2", kind: .dispute, reason: "customer disputes", by: "bob")

        #expect(await store.holds(contractNumber: "C1").map(\.kind) == [.deceased])
        #expect(await store.holds(contractNumber: "C2").map(\.kind) == [.dispute])
        let instructions = await store.instructions
        #expect(instructions.count == 1)
        #expect(instructions.first == AgentInstruction(agent: "acme-dca", contractNumber: "C1", kind: .pause,
                                                       reason: "deceased hold: death certificate received"))
    }

    @Test("after a version conflict the relay re-reads the contract, re-checks the change and re-sends it on the new version")
    func versionConflictResendsOnTheFreshVersion() async throws {
        let stored = contract("C1", status: "ARR", version: 7)
        let store = InMemoryStore(contracts: [stored])
        let miles = InMemoryMiles(mappings: mappings, contracts: [contract("C1", status: "ARR", version: 9)], statusFaults: ["VERSION_CONFLICT"])
        let id = try await ContractDesk(store: store, mappings: mappings, now: clock).requestStatusChange(
            contractNumber: "C1", to: .paymentPlan, reasonCode: "PPLN", effectiveDate: clock().date,
            by: CollectionsUser(name: "bob", role: try #require(mappings.authorityMatrix.role(named: "teamLeader"))), overrides: [:])

        let summary = try await OutboxRelay(gateway: miles, store: store, now: .system).run()

        #expect(summary.conflictsResolved == 1)
        #expect(summary.statusChangesApplied == 1)
        let calls = await miles.statusCalls
        #expect(calls.map(\.expectedVersion) == [7, 9])
        #expect(Set(calls.map(\.reference)) == ["SC-\(id)"])
        #expect(await store.contract(number: "C1")?.version == 9)
        #expect(await store.statusChange(id: id)?.state == .applied)
    }

    @Test("after a version conflict a change MILES's fresh contract no longer allows is dead-lettered, not re-sent")
    func versionConflictRefusedOnFreshData() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "ARR", version: 7)])
        // Meanwhile MILES wrote the contract off: a payment plan can no longer follow.
        let miles = InMemoryMiles(mappings: mappings, contracts: [contract("C1", status: "WOF", version: 8)], statusFaults: ["VERSION_CONFLICT"])
        let id = try await ContractDesk(store: store, mappings: mappings, now: clock).requestStatusChange(
            contractNumber: "C1", to: .paymentPlan, reasonCode: "PPLN", effectiveDate: clock().date,
            by: CollectionsUser(name: "bob", role: try #require(mappings.authorityMatrix.role(named: "teamLeader"))), overrides: [:])

        let summary = try await OutboxRelay(gateway: miles, store: store, now: .system).run()

        #expect(summary.deadLettered == 1 && summary.statusChangesApplied == 0)
        #expect(await miles.statusCalls.count == 1)
        let entry = try #require(await store.outboxEntries(state: .deadLetter).first)
        #expect(entry.clientReference == "SC-\(id)")
        #expect(entry.lastError?.contains("no longer allowed") == true)
    }

    @Test("a hold set after a placement was queued stops it before it is sent; the same change without the hold is sent, and so is one the store already shows made")
    func holdStopsAQueuedStatusChange() async throws {
        let numbers = ["C1", "C2", "C3"]
        let store = InMemoryStore(contracts: numbers.map { contract($0, status: "DEF") })
        let served = clock().date.adding(days: -30)
        for number in numbers {
            try await store.recordNotice(contractNumber: number, arrearsNoticeSentOn: nil,
                                         defaultNotice: .init(served: served, remedyDate: served.adding(days: 14)), by: "bob", at: clock())
        }
        let miles = InMemoryMiles(mappings: mappings, contracts: numbers.map { contract($0, status: "DEF") })
        let desk = ContractDesk(store: store, mappings: mappings, now: clock)
        let leader = CollectionsUser(name: "bob", role: try #require(mappings.authorityMatrix.role(named: "teamLeader")))
        var ids: [String: Int64] = [:]
        for number in numbers {
            ids[number] = try await desk.requestStatusChange(contractNumber: number, to: .placedWithAgent, reasonCode: "DCAP",
                                                             effectiveDate: clock().date, by: leader, overrides: [:])
        }
        try await desk.setHold(contractNumber: "C1", kind: .dispute, reason: "customer disputes the arrears", by: "ann")
        // C3's change reached MILES (its answer was lost) and a sync brought the new status before the push: a hold
        // set since does not stop the repeat that settles it.
        await store.upsertContract(contract("C3", status: "DCA"))
        try await desk.setHold(contractNumber: "C3", kind: .dispute, reason: "disputed after the placement", by: "ann")

        let summary = try await OutboxRelay(gateway: miles, store: store, now: clock).run()

        #expect(summary.deadLettered == 1 && summary.statusChangesApplied == 2)
        #expect(Set(await miles.statusCalls.map(\.reference)) == ["SC-\(try #require(ids["C2"]))", "SC-\(try #require(ids["C3"]))"])
        let refused = try #require(await store.outboxEntries(state: .deadLetter).first)
        #expect(refused.clientReference == "SC-\(try #require(ids["C1"]))")
        #expect(refused.lastError?.contains("no longer sent") == true && refused.lastError?.contains("dispute") == true, "\(refused.lastError ?? "")")
    }

    @Test("the ingest planner picks each update's effect: note, hold with a pause, status change with the mapped reason, contact change, refusal")
    func plannerChoosesEffects() async throws {
        let store = InMemoryStore(contracts: [contract("C1", status: "DCA"), contract("C2", status: "DCA"), contract("C3", status: "ACT")])
        await store.place("C1", with: "acme-dca")
        await store.place("C2", with: "acme-dca")
        let today = clock().date
        let planner = UpdatePlanner(store: store, mappings: mappings, agent: "acme-dca", placed: ["C1", "C2"], today: today, now: clock)
        func plan(_ number: String, _ kind: ThirdPartyUpdate.Kind, line: Int = 2) async throws -> IngestRow {
            try await planner.plan(.update(ThirdPartyUpdate(agent: "acme-dca", source: "test.csv:\(line)", contractNumber: number, kind: kind), line: line))
        }
        func effects(_ row: IngestRow) -> IngestEffects? {
            if case let .update(_, _, _, effects) = row { return effects }
            return nil
        }

        let payment = effects(try await plan("C1", .paymentCollected(amount: Money(minorUnits: 5_000, currency: .gbp), on: today, agentReference: "R1")))
        #expect(payment?.note?.category == mappings.statusCodes.agentPaymentNoteCategory)
        #expect(payment?.statusChange == nil && payment?.hold == nil)

        let deceased = effects(try await plan("C1", .status(.deceased, on: today)))
        #expect(deceased?.hold?.kind == .deceased)
        #expect(deceased?.instruction?.agent == "acme-dca" && deceased?.instruction?.kind == .pause)

        // An agent's plan is kept for the team to propose under the matrix, never applied as a status change.
        let plan1 = effects(try await plan("C2", .status(.activePlan, on: today)))
        #expect(plan1?.statusChange == nil)
        #expect(plan1?.reportedArrangement?.contractNumber == "C2" && plan1?.reportedArrangement?.agent == "acme-dca")
        #expect(plan1?.note != nil)

        let trace = effects(try await plan("C2", .traceResult(address: nil, phone: "07700 900123", email: nil, on: today)))
        #expect(trace?.contactChange?.partnerId == "P-C2" && trace?.contactChange?.phone == "07700 900123")

        guard case let .rejected(_, _, value, reason) = try await plan("C3", .note("hello")) else {
            Issue.record("an update about a contract not placed with the agent was not rejected")
            return
        }
        #expect(value == "C3" && reason.contains("not placed with acme-dca"))
    }

    @Test("reports: the aged debt sums every open invoice; a notice of sums in arrears is owed until one is sent")
    func reports() async throws {
        // contract(...) has two missed payments, 500.00 in arrears against 250.00 a month, oldest unpaid on 2026-08-01.
        let store = InMemoryStore(contracts: [contract("C1", status: "ARR"), contract("C2", status: "ARR", open: 30_000)])
        let desk = ReportDesk(store: store)
        let today = try #require(LocalDate.parse("2026-11-29"))

        let aged = try await desk.agedDebt(asOf: today)
        #expect(aged.totals[.gbp]?.reduce(0, +) == 80_000)
        #expect(aged.counts[.gbp]?.reduce(0, +) == 2)
        var paged: [String] = []
        try await store.forEachOpenInvoice(pageSize: 1) { paged.append($0.number) }
        #expect(paged == ["INV-C1", "INV-C2"])

        #expect(try await desk.arrearsNoticesDue(on: today).map(\.contractNumber) == ["C1"])
        await store.recordNotice(contractNumber: "C1", arrearsNoticeSentOn: LocalDate.parse("2026-11-20"), defaultNotice: nil, by: "bob",
                                 at: clock())
        #expect(try await desk.arrearsNoticesDue(on: today).isEmpty)
    }
}
