import CollectionsDomain
import Testing

let today = LocalDate.parse("2026-11-29")!

func contract(_ type: AgreementType = .hirePurchase, total: Int64 = 300_000, paid: Int64 = 0, missed: Int = 0,
              arrears: Int64 = 0, monthly: Int64 = 10_000, oldestUnpaid: String? = nil, postcode: String = "LS1 4AB") -> Contract {
    Contract(
        contractNumber: "C00000001", version: 1, statusCode: "DEF", agreementType: type, startDate: LocalDate.parse("2024-01-01")!,
        endDate: nil, currency: .gbp, totalPrice: pounds(total), paidToDate: pounds(paid), monthlyPayment: pounds(monthly),
        arrears: Arrears(amount: pounds(arrears), oldestUnpaidDueDate: oldestUnpaid.flatMap(LocalDate.parse), missedPayments: missed),
        customer: Customer(partnerId: "BP1", name: "Zoë O'Brien", kind: .consumer,
                           address: PostalAddress(line1: "1 High Street", line2: nil, town: "Leeds", postcode: postcode, country: "GB"),
                           phones: [], email: nil, vulnerable: false),
        vehicle: Vehicle(registration: "AB12 CDE", vin: "VIN", make: "Ford", model: "Focus"), openInvoices: [],
        lastModified: Timestamp(secondsSinceEpoch: 0))
}

/// A default notice whose remedy date passed long ago, so only the rule under test can refuse.
let expiredDefault = ContractNotices(defaultNotice: .init(served: LocalDate.parse("2026-01-01")!, remedyDate: LocalDate.parse("2026-01-20")!))

func rules(_ refusals: [GuardRefusal]) -> [String] { refusals.map(\.rule) }

@Suite("Regulatory guards")
struct CollectionsGuardsTests {
    @Test("s.90: an HP or conditional-sale contract with at least one third paid needs a court order to repossess")
    func protectedGoods() {
        // Exactly one third of £3,000 paid: protected.
        let third = contract(total: 300_000, paid: 100_000)
        let refused = CollectionsGuards.check(.repossession, contract: third, holds: [], notices: expiredDefault, on: today)
        #expect(rules(refused) == [CollectionsGuards.protectedGoods])
        #expect(refused.first?.toSatisfy.contains("court order") == true)
        // A penny less than a third: not protected.
        #expect(CollectionsGuards.check(.repossession, contract: contract(total: 300_000, paid: 99_999), holds: [],
                                        notices: expiredDefault, on: today).isEmpty)
        // Court order, consent or abandonment each satisfy it.
        for evidence in [CollectionsGuards.Evidence(courtOrderReference: "CO-2026-1"), .init(customerConsent: "signed consent form, 2026-11-02"), .init(abandonment: "police report 4471")] {
            #expect(CollectionsGuards.check(.repossession, contract: third, holds: [], notices: expiredDefault, evidence: evidence, on: today).isEmpty)
        }
        // Conditional sale and PCP (an HP or conditional-sale agreement with a final payment) too; hire agreements
        // never (the lessor owns the vehicle).
        #expect(CollectionsGuards.isProtectedGoods(contract(.conditionalSale, paid: 100_000)))
        #expect(CollectionsGuards.isProtectedGoods(contract(.personalContractPurchase, paid: 100_000)))
        #expect(rules(CollectionsGuards.check(.repossession, contract: contract(.personalContractPurchase, paid: 100_000), holds: [],
                                              notices: expiredDefault, on: today)) == [CollectionsGuards.protectedGoods])
        #expect(!CollectionsGuards.isProtectedGoods(contract(.personalContractHire, paid: 300_000)))
        #expect(!CollectionsGuards.isProtectedGoods(contract(.businessContractHire, paid: 300_000)))
    }

    @Test("s.87: termination, repossession, placement and legal action need a default notice whose remedy date has passed")
    func defaultNotice() {
        let hire = contract(.personalContractHire)
        let served = LocalDate.parse("2026-11-01")!
        let remedyToday = ContractNotices(defaultNotice: .init(served: served, remedyDate: today))
        let remedyYesterday = ContractNotices(defaultNotice: .init(served: served, remedyDate: today.adding(days: -1)))
        for action in [CollectionsAction.termination, .repossession, .agencyPlacement, .legalAction] {
            #expect(rules(CollectionsGuards.check(action, contract: hire, holds: [], notices: ContractNotices(), on: today))
                    == [CollectionsGuards.defaultNoticeRule])
            #expect(rules(CollectionsGuards.check(action, contract: hire, holds: [], notices: remedyToday, on: today))
                    == [CollectionsGuards.defaultNoticeRule], "remedy date today has not passed")
            #expect(CollectionsGuards.check(action, contract: hire, holds: [], notices: remedyYesterday, on: today).isEmpty,
                    "remedy date yesterday has passed")
        }
        // A remedy period shorter than 14 days is no valid notice.
        let short = ContractNotices(defaultNotice: .init(served: LocalDate.parse("2026-11-01")!, remedyDate: LocalDate.parse("2026-11-14")!))
        #expect(rules(CollectionsGuards.check(.termination, contract: hire, holds: [], notices: short, on: today)) == [CollectionsGuards.defaultNoticeRule])
        let fourteen = ContractNotices(defaultNotice: .init(served: LocalDate.parse("2026-11-01")!, remedyDate: LocalDate.parse("2026-11-15")!))
        #expect(CollectionsGuards.check(.termination, contract: hire, holds: [], notices: fourteen, on: today).isEmpty)
    }

    @Test("every hold type blocks placement and repossession while active, and not once lifted", arguments: ContractHold.Kind.allCases)
    func holds(kind: ContractHold.Kind) {
        let hire = contract(.personalContractHire)
        let hold = ContractHold(kind: kind, reason: "evidence on file", setBy: "bob", setOn: today.adding(days: -3))
        for action in [CollectionsAction.agencyPlacement, .repossession] {
            let refusals = CollectionsGuards.check(action, contract: hire, holds: [hold], notices: expiredDefault, on: today)
            #expect(rules(refusals) == [CollectionsGuards.holdRule])
            #expect(refusals.first?.reason.contains(kind.rawValue) == true)
        }
        var lifted = hold
        lifted.liftedOn = today
        #expect(CollectionsGuards.check(.agencyPlacement, contract: hire, holds: [lifted], notices: expiredDefault, on: today).isEmpty)
        let legal = CollectionsGuards.check(.legalAction, contract: hire, holds: [hold], notices: expiredDefault, on: today)
        #expect(rules(legal) == (kind == .ombudsmanComplaint ? [CollectionsGuards.ombudsmanRule] : []))
    }

    @Test("s.86B: a notice of arrears is due 14 days after the second missed payment, and again every 6 months")
    func arrearsNotice() {
        let behind = contract(missed: 2, arrears: 20_000, oldestUnpaid: "2026-10-01")
        // The condition arose on 2026-11-01 (second payment unpaid); due by 2026-11-15.
        #expect(!CollectionsGuards.arrearsNoticeDue(behind, notices: ContractNotices(), on: LocalDate.parse("2026-11-15")!))
        #expect(CollectionsGuards.arrearsNoticeDue(behind, notices: ContractNotices(), on: LocalDate.parse("2026-11-16")!))
        let sent = ContractNotices(arrearsNoticesSent: [LocalDate.parse("2026-11-10")!])
        #expect(!CollectionsGuards.arrearsNoticeDue(behind, notices: sent, on: LocalDate.parse("2027-05-09")!))
        #expect(CollectionsGuards.arrearsNoticeDue(behind, notices: sent, on: LocalDate.parse("2027-05-10")!))
        // One payment missed, or a shortfall below two payments: no notice yet.
        #expect(!CollectionsGuards.arrearsNoticeDue(contract(missed: 1, arrears: 10_000, oldestUnpaid: "2026-10-01"),
                                                    notices: ContractNotices(), on: today))
        #expect(!CollectionsGuards.arrearsNoticeDue(contract(missed: 2, arrears: 19_999, oldestUnpaid: "2026-10-01"),
                                                    notices: ContractNotices(), on: today))
    }

    @Test("statute-barred: 6 years from the last payment, 5 for an address in Scotland")
    func statuteBarred() {
        let last = LocalDate.parse("2020-02-29")!
        let england = PostalAddress(line1: "1 High Street", line2: nil, town: "Leeds", postcode: "LS1 4AB", country: "GB")
        let scotland = PostalAddress(line1: "1 High Street", line2: nil, town: "Glasgow", postcode: "G1 1AA", country: "GB")
        #expect(CollectionsGuards.statuteBarredDate(lastPaymentOrAcknowledgement: last, address: england).description == "2026-02-28")
        #expect(CollectionsGuards.statuteBarredDate(lastPaymentOrAcknowledgement: last, address: scotland).description == "2025-02-28")
        #expect(!CollectionsGuards.isScottish(PostalAddress(line1: "x", line2: nil, town: "Gloucester", postcode: "GL1 1AA", country: "GB")))
    }

    @Test("a guard can be overridden only by the role the matrix names, with a reason")
    func overrides() throws {
        let matrix = standardMatrix()
        let refusal = GuardRefusal(rule: CollectionsGuards.defaultNoticeRule, reason: "r", toSatisfy: "s")
        let roles = [CollectionsGuards.defaultNoticeRule: matrix.role(named: "headOfCredit")!]
        let carol = CollectionsUser(name: "carol", role: matrix.role(named: "headOfCredit")!)
        let bob = CollectionsUser(name: "bob", role: matrix.role(named: "teamLeader")!)
        let override = try GuardOverride.authorise(refusal, by: carol, reason: "customer asked for voluntary termination", overrideRoles: roles)
        #expect(override.rule == CollectionsGuards.defaultNoticeRule && override.by == "carol")
        #expect(throws: GuardOverride.Refusal.roleTooLow(user: "bob", role: "teamLeader", required: "headOfCredit")) {
            try GuardOverride.authorise(refusal, by: bob, reason: "because", overrideRoles: roles)
        }
        #expect(throws: GuardOverride.Refusal.noReason) { try GuardOverride.authorise(refusal, by: carol, reason: "  ", overrideRoles: roles) }
        #expect(throws: GuardOverride.Refusal.notOverridable(rule: CollectionsGuards.protectedGoods)) {
            try GuardOverride.authorise(GuardRefusal(rule: CollectionsGuards.protectedGoods, reason: "", toSatisfy: ""), by: carol,
                                        reason: "x", overrideRoles: roles)
        }
    }

    @Test("status transitions follow the table")
    func transitions() {
        #expect(StatusTransitions.isAllowed(from: .defaulted, to: .placedWithAgent))
        #expect(StatusTransitions.isAllowed(from: .placedWithAgent, to: .defaulted))
        #expect(!StatusTransitions.isAllowed(from: .active, to: .repossession))
        #expect(!StatusTransitions.isAllowed(from: .closed, to: .active))
        #expect(CollectionsAction(movingTo: .placedWithAgent) == .agencyPlacement)
        #expect(CollectionsAction(movingTo: .paymentPlan) == nil)
    }
}
