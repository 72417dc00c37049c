/// The UK consumer-credit rules a system can check before an action on a contract, as pure
/// functions. Each refusal names its rule and what would satisfy it.
///
/// ```swift
/// let refusals = CollectionsGuards.check(.repossession, contract: contract, holds: holds, notices: notices,
///                                        evidence: .init(courtOrderReference: nil), on: today)
/// ```
public enum CollectionsGuards {
    public static let protectedGoods = "CCA-s90-protected-goods"
    public static let defaultNoticeRule = "CCA-s87-default-notice"
    public static let holdRule = "CONC7-hold"
    public static let ombudsmanRule = "DISP-ombudsman-complaint"

    /// Who set the hold MILES's vulnerability flag stands for.
    public static let milesFlag = "MILES"

    /// The least time between serving a default notice and its remedy date.
    public static let minimumRemedyDays = 14

    /// What the person acting can show, each recorded with the change and audited.
    public struct Evidence: Sendable, Equatable {
        public var courtOrderReference: String?
        /// What shows the customer consented to the repossession at the time (a signed form, a recorded call).
        public var customerConsent: String?
        /// What shows the vehicle was abandoned (a report, photographs, the finder's statement).
        public var abandonment: String?

        public init(courtOrderReference: String? = nil, customerConsent: String? = nil, abandonment: String? = nil) {
            self.courtOrderReference = courtOrderReference
            self.customerConsent = customerConsent
            self.abandonment = abandonment
        }

        /// The evidence given, as the audit log and a person read it.
        public var summary: String {
            [courtOrderReference.map { "court order \($0)" }, customerConsent.map { "customer's consent: \($0)" },
             abandonment.map { "abandoned: \($0)" }].compactMap { $0 }.joined(separator: "; ")
        }
    }

    /// Every rule the action breaks now; empty when it may go ahead.
    public static func check(_ action: CollectionsAction, contract: Contract, holds: [ContractHold], notices: ContractNotices,
                             evidence: Evidence = Evidence(), on today: LocalDate) -> [GuardRefusal] {
        var refusals: [GuardRefusal] = []
        var active = holds.filter { $0.isActive(on: today) }
        // MILES's own vulnerability flag counts as a hold, whether or not anyone has recorded one here.
        if contract.customer.vulnerable, !active.contains(where: { $0.kind == .vulnerable }) {
            active.append(ContractHold(kind: .vulnerable, reason: "flagged vulnerable in MILES", setBy: milesFlag, setOn: today))
        }

        if action == .repossession, isProtectedGoods(contract),
           evidence.courtOrderReference?.isEmpty ?? true, evidence.customerConsent?.isEmpty ?? true, evidence.abandonment?.isEmpty ?? true {
            refusals.append(GuardRefusal(
                rule: protectedGoods,
                reason: "\(contract.agreementType.rawValue) contract \(contract.contractNumber) has \(contract.paidToDate) paid of "
                    + "\(contract.totalPrice): at least one third, so the goods are protected",
                toSatisfy: "a court order reference, or evidence of the customer's consent at the time, or evidence the vehicle was abandoned"))
        }

        // s.87: terminating, repossessing and enforcing (placement with an agency, legal action) each need the notice.
        if action == .termination || action == .repossession || action == .agencyPlacement || action == .legalAction {
            if let notice = notices.defaultNotice {
                if notice.remedyDate.days(since: notice.served) < minimumRemedyDays {
                    refusals.append(GuardRefusal(
                        rule: defaultNoticeRule,
                        reason: "the default notice served \(notice.served) gave only \(notice.remedyDate.days(since: notice.served)) days to remedy",
                        toSatisfy: "serve a new default notice with a remedy date at least \(minimumRemedyDays) days after service"))
                } else if today <= notice.remedyDate {
                    refusals.append(GuardRefusal(
                        rule: defaultNoticeRule,
                        reason: "the default notice's remedy date \(notice.remedyDate) has not passed",
                        toSatisfy: "wait until \(notice.remedyDate.adding(days: 1)) and check the arrears were not remedied"))
                }
            } else {
                refusals.append(GuardRefusal(
                    rule: defaultNoticeRule, reason: "no default notice has been served on \(contract.contractNumber)",
                    toSatisfy: "serve a default notice (CCA s.87) and wait until its remedy date, at least \(minimumRemedyDays) days later, has passed"))
            }
        }

        if action == .agencyPlacement || action == .repossession, !active.isEmpty {
            let recorded = active.filter { $0.setBy != milesFlag }
            var ways: [String] = []
            if !recorded.isEmpty { ways.append("lift the recorded hold once its cause is resolved") }
            if recorded.count < active.count {
                ways.append("the vulnerability flag is MILES's own: it is cleared on the customer's record in MILES, not here, and the next "
                            + "sync brings the change")
            }
            refusals.append(GuardRefusal(
                rule: holdRule,
                reason: "active hold\(active.count == 1 ? "" : "s"): " + active.map { "\($0.kind.rawValue) (\($0.reason))" }.joined(separator: ", "),
                toSatisfy: ways.joined(separator: "; ")))
        }

        if action == .legalAction, let complaint = active.first(where: { $0.kind == .ombudsmanComplaint }) {
            refusals.append(GuardRefusal(
                rule: ombudsmanRule, reason: "an Ombudsman complaint is open since \(complaint.setOn)",
                toSatisfy: "wait for the Ombudsman's decision and lift the hold"))
        }
        return refusals
    }

    /// A credit agreement the customer may come to own the vehicle under (HP, conditional sale, and PCP,
    /// which is written as one of them) with at least one third of the total price paid (CCA s.90).
    public static func isProtectedGoods(_ contract: Contract) -> Bool {
        guard contract.agreementType.isCreditAgreement else { return false }
        // paid / total >= 1/3, in integers: no rounding at the boundary.
        return contract.paidToDate.minorUnits * 3 >= contract.totalPrice.minorUnits
    }

    /// Whether a notice of sums in arrears (CCA s.86B) is due: at least two payments missed and the
    /// shortfall at least the last two payments, with no notice since the condition arose (within 14
    /// days), or none in the last 6 months while arrears remain.
    public static func arrearsNoticeDue(_ contract: Contract, notices: ContractNotices, on today: LocalDate) -> Bool {
        guard contract.arrears.missedPayments >= 2,
              contract.arrears.amount.minorUnits >= 2 * contract.monthlyPayment.minorUnits,
              let oldest = contract.arrears.oldestUnpaidDueDate else { return false }
        // The condition arises when the second payment falls due unpaid.
        let conditionDate = oldest.adding(months: 1)
        let sent = notices.arrearsNoticesSent.filter { $0 >= conditionDate }.max()
        guard let last = sent else { return today > conditionDate.adding(days: 14) }
        return today >= last.adding(months: 6)
    }

    /// When a debt becomes statute-barred (CONC 7.15): 6 years after the last payment or
    /// acknowledgement in England, Wales and Northern Ireland; 5 in Scotland, judged by the address.
    public static func statuteBarredDate(lastPaymentOrAcknowledgement date: LocalDate, address: PostalAddress) -> LocalDate {
        date.adding(months: (isScottish(address) ? 5 : 6) * 12)
    }

    /// Scottish postcode areas.
    static let scottishPostcodeAreas: Set<String> = ["AB", "DD", "DG", "EH", "FK", "G", "HS", "IV", "KA", "KW", "KY", "ML", "PA",
                                                     "PH", "TD", "ZE"]

    public static func isScottish(_ address: PostalAddress) -> Bool {
        let area = String(address.postcode.uppercased().prefix { $0.isLetter })
        return address.country.uppercased() == "GB" && scottishPostcodeAreas.contains(area)
    }
}
