/// The statutory and business letters MILES issues to a customer when the adapter asks
/// (RequestCustomerLetter). MILES's codes for them are `letterTypes` in `status-codes.yaml`.
public enum LetterType: String, Sendable, CaseIterable {
    /// A notice of sums in arrears (CCA s.86B).
    case arrearsNotice
    /// A default notice (CCA s.87), with the remedy date MILES sets.
    case defaultNotice
    /// After a partial write-off, telling the customer the rest of the debt still exists (CONC 7.4).
    case partialWriteOffNotice
    /// Confirming a payment arrangement's terms to the customer.
    case arrangementConfirmation
}

/// A letter asked of MILES for a contract: queued, then issued with the date MILES will serve it.
public struct LetterRequest: Sendable, Equatable {
    public enum State: String, Sendable {
        case queued
        /// MILES accepted it; `serveDate` is when it is served.
        case issued
        case failed
    }

    public var id: Int64
    public var contractNumber: String
    public var type: LetterType
    public var requestedBy: String
    public var requestedAt: Timestamp
    public var state: State
    public var milesLetterId: String?
    public var serveDate: LocalDate?
    /// For a default notice: the date by which the customer may put things right, as MILES set it.
    public var remedyDate: LocalDate?
    public var failureReason: String?

    public init(id: Int64, contractNumber: String, type: LetterType, requestedBy: String, requestedAt: Timestamp, state: State,
                milesLetterId: String? = nil, serveDate: LocalDate? = nil, remedyDate: LocalDate? = nil, failureReason: String? = nil) {
        self.id = id
        self.contractNumber = contractNumber
        self.type = type
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.state = state
        self.milesLetterId = milesLetterId
        self.serveDate = serveDate
        self.remedyDate = remedyDate
        self.failureReason = failureReason
    }

    /// The reference MILES recognises a repeat by: a letter asked twice is issued once.
    public var clientReference: String { OutboxKind.requestCustomerLetter.clientReference(forSubject: id) }
}

/// A letter as MILES answered RequestCustomerLetter.
public struct IssuedLetter: Sendable, Equatable {
    public var letterId: String
    public var clientReference: String
    public var contractNumber: String
    public var letterTypeCode: String
    public var serveDate: LocalDate
    public var remedyDate: LocalDate?

    public init(letterId: String, clientReference: String, contractNumber: String, letterTypeCode: String, serveDate: LocalDate,
                remedyDate: LocalDate?) {
        self.letterId = letterId
        self.clientReference = clientReference
        self.contractNumber = contractNumber
        self.letterTypeCode = letterTypeCode
        self.serveDate = serveDate
        self.remedyDate = remedyDate
    }
}

/// The decisions on a contract that a letter about one needs: a letter must never tell a customer of
/// an arrangement or a write-off that was not made.
public struct LetterBacking: Sendable, Equatable {
    /// A payment arrangement made in MILES and running: MILES confirms only a plan it holds.
    public var arrangementAgreed: Bool
    /// A write-off posted in MILES, not wholly reversed, that left part of the debt, which the customer must be
    /// told still exists.
    public var partialWriteOffPosted: Bool

    public init(arrangementAgreed: Bool, partialWriteOffPosted: Bool) {
        self.arrangementAgreed = arrangementAgreed
        self.partialWriteOffPosted = partialWriteOffPosted
    }
}

extension LetterType {
    /// Why this letter may not be asked of MILES for `contract` now; empty when it may.
    ///
    /// Arrears and default notices need arrears to be about. A default notice is an enforcement
    /// step, which breathing space (the Debt Respite Scheme) pauses while it lasts. A confirmation of
    /// an arrangement needs one agreed, and a partial write-off notice a partial write-off posted.
    public func refusals(for contract: Contract, holds: [ContractHold], backing: LetterBacking, on today: LocalDate) -> [String] {
        var refusals: [String] = []
        if self == .arrangementConfirmation, !backing.arrangementAgreed {
            refusals.append("contract \(contract.contractNumber) has no payment arrangement running in MILES (one approved is made there "
                            + "by push): there is nothing for \(rawValue) to confirm")
        }
        if self == .partialWriteOffNotice, !backing.partialWriteOffPosted {
            refusals.append("contract \(contract.contractNumber) has no partial write-off posted in MILES: "
                            + "there is nothing for \(rawValue) to tell the customer of")
        }
        if self == .arrearsNotice || self == .defaultNotice, contract.arrears.amount.minorUnits <= 0 {
            refusals.append("contract \(contract.contractNumber) has no arrears: there is nothing for \(rawValue) to be about")
        }
        if self == .defaultNotice, holds.contains(where: { $0.kind == .breathingSpace && $0.isActive(on: today) }) {
            refusals.append("contract \(contract.contractNumber) is in breathing space (Debt Respite Scheme): no enforcement, "
                            + "a default notice included, until it is lifted")
        }
        return refusals
    }
}
