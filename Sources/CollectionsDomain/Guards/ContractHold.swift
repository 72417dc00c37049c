/// Something about the customer that stops recovery while it lasts (CONC 7): a hold is set and
/// lifted with a reason and by a person, and every action is checked against the active ones.
public struct ContractHold: Sendable, Equatable {
    public enum Kind: String, CaseIterable, Sendable {
        /// A dispute under investigation (CONC 7.14).
        case dispute
        /// Known vulnerable, or may lack mental capacity: no doorstep visits.
        case vulnerable
        /// A debt adviser is acting: deal with the adviser (CONC 7.12).
        case debtAdviser
        /// Debt Respite Scheme breathing space.
        case breathingSpace
        case insolvency
        case deceased
        /// An open Financial Ombudsman Service complaint: no legal action.
        case ombudsmanComplaint
    }

    public var kind: Kind
    public var reason: String
    public var setBy: String
    public var setOn: LocalDate
    public var liftedOn: LocalDate?

    public init(kind: Kind, reason: String, setBy: String, setOn: LocalDate, liftedOn: LocalDate? = nil) {
        self.kind = kind
        self.reason = reason
        self.setBy = setBy
        self.setOn = setOn
        self.liftedOn = liftedOn
    }

    public func isActive(on date: LocalDate) -> Bool { setOn <= date && (liftedOn.map { date < $0 } ?? true) }
}
