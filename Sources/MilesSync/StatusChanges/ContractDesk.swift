import CollectionsDomain
import CollectionsStore
import MilesMapping

/// Where a contract's collections actions are decided: status changes (checked against the
/// transition table and the regulatory guards on the stored contract, then queued for MILES with
/// the version they were decided on), holds (a hold on a placed account pauses the agent), notices
/// and notes, and what the guards allow on a contract now.
///
/// ```swift
/// let id = try await desk.requestStatusChange(contractNumber: "C00000042", to: .placedWithAgent, reasonCode: reason,
///                                       effectiveDate: today, by: bob, overrides: [])
/// ```
public struct ContractDesk: Sendable {
    /// What the desk reads and writes.
    public typealias Stores = ContractStore & ContractActionStore & PlacementStore

    public let store: any Stores
    public let mappings: MappingSet
    let now: CollectionsClock

    public init(store: any Stores, mappings: MappingSet, now: CollectionsClock = .system) {
        self.store = store
        self.mappings = mappings
        self.now = now
    }

    /// Queues the change, or throws every refusal with what would satisfy it. `overrides` maps a rule id
    /// to the reason for setting it aside; each must be allowed to `user` by the authority matrix.
    public func requestStatusChange(contractNumber: String, to target: ContractStatus, reasonCode: String, effectiveDate: LocalDate,
                                    evidence: CollectionsGuards.Evidence = .init(), by user: CollectionsUser,
                                    overrides: [String: String]) async throws -> Int64 {
        try await store.queueStatusChange(try await checkedStatusChange(
            contractNumber: contractNumber, to: target, reasonCode: reasonCode, effectiveDate: effectiveDate, evidence: evidence, by: user,
            overrides: overrides))
    }

    /// The change as it would be queued, once the transition table and the guards allow it (or an
    /// allowed override sets a guard aside); throws every refusal. For a caller that stores it with
    /// its own decision, in one transaction.
    public func checkedStatusChange(contractNumber: String, to target: ContractStatus, reasonCode: String, effectiveDate: LocalDate,
                                    evidence: CollectionsGuards.Evidence = .init(), by user: CollectionsUser,
                                    overrides: [String: String]) async throws -> StatusChange {
        guard mappings.statusCodes.statusChangeReasons[reasonCode] != nil else {
            throw ContractDeskError(.unknownReasonCode, input: reasonCode, ["reason code '\(reasonCode)' is not in status-codes.yaml statusChangeReasons ("
                + mappings.statusCodes.statusChangeReasons.keys.sorted().joined(separator: ", ") + ")"])
        }
        guard let contract = try await store.contract(number: contractNumber) else {
            throw ContractDeskError(.notInStore, input: contractNumber, ["contract \(contractNumber) is not in the store (run sync contracts first, or check the number)"])
        }
        let refusals = try await StatusChangeRules.refusals(moving: contract, to: target, evidence: evidence,
                                                      overridden: [], store: store, mappings: mappings, on: now().date)
        var granted: [GuardOverride] = []
        var remaining: [String] = []
        for refusal in refusals {
            guard let reason = overrides[refusal.rule] else {
                remaining.append(refusal.description)
                continue
            }
            do {
                granted.append(try GuardOverride.authorise(refusal, by: user, reason: reason,
                                                           overrideRoles: mappings.authorityMatrix.guardOverrideRoles))
            } catch {
                remaining.append("\(refusal.description) — override refused: \(error)")
            }
        }
        guard remaining.isEmpty else { throw ContractDeskError(.refusedByRules, input: contractNumber, remaining) }
        return StatusChange(
            id: 0, contractNumber: contractNumber, to: target, reasonCode: reasonCode, effectiveDate: effectiveDate,
            courtOrderReference: evidence.courtOrderReference, expectedVersion: contract.version, requestedBy: user.name, requestedAt: now(),
            state: .queued, overrides: granted, customerConsent: evidence.customerConsent, abandonment: evidence.abandonment)
    }

    /// Sets a hold that stops recovery, with its reason (the evidence a team leader reads later); one of each
    /// kind at a time. A placed account must stop being pursued at once, so the agent it is placed with is
    /// told to pause it, in the same transaction as the hold.
    public func setHold(contractNumber: String, kind: ContractHold.Kind, reason: String, by actor: String) async throws {
        guard reason.contains(where: { !$0.isWhitespace }) else {
            throw ContractDeskError(.invalidHold, input: contractNumber, ["a \(kind.rawValue) hold needs its reason (what shows it)"])
        }
        if let active = try await store.holds(contractNumber: contractNumber).first(where: { $0.kind == kind && $0.isActive(on: now().date) }) {
            throw ContractDeskError(.invalidHold, input: contractNumber,
                                    ["a \(kind.rawValue) hold is already active on \(contractNumber), set on \(active.setOn) by \(active.setBy) (\(active.reason))"])
        }
        let hold = ContractHold(kind: kind, reason: reason, setBy: actor, setOn: now().date)
        let placedWith = try await store.activePlacement(contractNumber: contractNumber)
        try await store.recordHold(hold, contractNumber: contractNumber, placedWith: placedWith,
                                   instruction: AgentInstruction.pause(placedWith: placedWith, contractNumber: contractNumber, for: hold),
                                   at: now())
    }

    /// Lifts the active hold of `kind`; throws `StoreError.notFound` when there is none.
    /// Lifts a hold recorded here. MILES's own vulnerability flag is not one: it is refused with
    /// `milesFlag`, saying where it is cleared.
    public func liftHold(contractNumber: String, kind: ContractHold.Kind, by actor: String) async throws {
        do {
            try await store.liftHold(contractNumber: contractNumber, kind: kind, by: actor, on: now().date, at: now())
        } catch let error as StoreError where error.code == .notFound {
            guard kind == .vulnerable, try await store.contract(number: contractNumber)?.customer.vulnerable == true else { throw error }
            throw ContractDeskError(.milesFlag, input: contractNumber, [
                "\(contractNumber) has no vulnerable hold recorded here: the customer is flagged vulnerable in MILES, and that flag is "
                    + "MILES's own. It is cleared on the customer's record in MILES once the cause is resolved; the next sync brings the change."])
        }
    }

    /// Records a notice of sums in arrears (s.86B) sent, or a default notice (s.87) served.
    public func recordNotice(contractNumber: String, arrearsNoticeSentOn: LocalDate?, defaultNotice: ContractNotices.DefaultNotice?,
                             by actor: String) async throws {
        let today = now().date
        guard let contract = try await store.contract(number: contractNumber) else {
            throw ContractDeskError(.notInStore, input: contractNumber, ["contract \(contractNumber) is not in the store"])
        }
        var problems: [String] = []
        if let defaultNotice {
            let days = defaultNotice.remedyDate.days(since: defaultNotice.served)
            if days <= 0 {
                problems.append("the remedy date \(defaultNotice.remedyDate) is not after the service date \(defaultNotice.served): "
                                + "are the two dates the wrong way round?")
            } else if days < CollectionsGuards.minimumRemedyDays {
                problems.append("the remedy date \(defaultNotice.remedyDate) is \(days) days after service on \(defaultNotice.served); a default notice "
                                + "(CCA s.88) must give at least \(CollectionsGuards.minimumRemedyDays) days, so this one could never allow "
                                + "termination, repossession or placement: serve a new notice")
            }
            if defaultNotice.served > today {
                problems.append("the default notice's service date \(defaultNotice.served) is in the future; record it once it is served")
            }
            // A notice of breach cannot come before the agreement: a typing slip (or a made-up date) would
            // otherwise unlock termination, repossession and placement.
            if defaultNotice.served < contract.startDate {
                problems.append("the default notice's service date \(defaultNotice.served) is before the agreement began on \(contract.startDate)")
            }
        }
        if let arrearsNoticeSentOn, arrearsNoticeSentOn > today {
            problems.append("the arrears notice's date \(arrearsNoticeSentOn) is in the future; record it once it is sent")
        }
        if let arrearsNoticeSentOn, arrearsNoticeSentOn < contract.startDate {
            problems.append("the arrears notice's date \(arrearsNoticeSentOn) is before the agreement began on \(contract.startDate)")
        }
        guard problems.isEmpty else { throw ContractDeskError(.invalidNotice, input: contractNumber, problems) }
        try await store.recordNotice(contractNumber: contractNumber, arrearsNoticeSentOn: arrearsNoticeSentOn, defaultNotice: defaultNotice,
                                     by: actor, at: now())
    }

    /// Asks MILES to issue a letter to the customer, through the outbox (once: a letter of the same
    /// type already queued is the same request). MILES answers with the date it serves it, and the
    /// guards read that date, never one typed in.
    public func requestLetter(contractNumber: String, type: LetterType, by actor: String) async throws -> RequestCreation {
        guard let contract = try await store.contract(number: contractNumber) else {
            throw ContractDeskError(.notInStore, input: contractNumber, ["contract \(contractNumber) is not in the store"])
        }
        guard mappings.statusCodes.milesCode(for: type) != nil else {
            throw ContractDeskError(.refusedByRules, input: type.rawValue, ["letter \(type.rawValue) has no MILES code in status-codes.yaml letterTypes"])
        }
        let refusals = type.refusals(for: contract, holds: try await store.holds(contractNumber: contractNumber),
                                     backing: try await store.letterBacking(contractNumber: contractNumber), on: now().date)
        guard refusals.isEmpty else { throw ContractDeskError(.refusedByRules, input: contractNumber, refusals) }
        return try await store.queueLetter(contractNumber: contractNumber, type: type, by: actor, at: now())
    }

    /// Queues a note for the contract file in MILES; the contract must be in the store, and the category and
    /// the text within what MILES takes, so that a note reported queued is not refused later.
    public func queueNote(contractNumber: String, category: String, text: String, by actor: String) async throws -> Int64 {
        guard !category.isEmpty, category.count <= ContractNote.maxCategoryLength else {
            throw ContractDeskError(.invalidNote, input: category, ["a note's category has 1 to \(ContractNote.maxCategoryLength) characters"])
        }
        guard !text.isEmpty, text.count <= ContractNote.maxTextLength else {
            throw ContractDeskError(.invalidNote, input: contractNumber, ["a note has 1 to \(ContractNote.maxTextLength) characters"])
        }
        guard try await store.contract(number: contractNumber) != nil else {
            throw ContractDeskError(.notInStore, input: contractNumber, ["contract \(contractNumber) is not in the store"])
        }
        return try await store.queueNote(ContractNote(
            id: 0, contractNumber: contractNumber, category: category, text: text, source: "miles-adapter:\(actor)", requestedBy: actor,
            requestedAt: now(), state: .queued))
    }

    /// What stands in the way of each action: the same evaluation a status change gets (the status
    /// mapping, the transition table, then the guards), so the view and a refusal always agree.
    private func refusalsByAction(_ contract: Contract, today: LocalDate) async throws -> [(action: CollectionsAction, refusals: [GuardRefusal])] {
        var result: [(action: CollectionsAction, refusals: [GuardRefusal])] = []
        for action in CollectionsAction.allCases {
            result.append((action, try await StatusChangeRules.refusals(moving: contract, to: action.targetStatus, evidence: .init(), overridden: [],
                                                                       store: store, mappings: mappings, on: today)))
        }
        return result
    }

    /// A contract's collections state and, for each action, the guards that block it today; nil
    /// when the contract is not in the store.
    /// `typed` as a person types it (`TypedNumber`); the view is of the contract it means.
    public func view(contractNumber typed: String) async throws -> ContractView? {
        guard let contract = try await store.contract(typed: typed) else { return nil }
        let contractNumber = contract.contractNumber
        let holds = try await store.holds(contractNumber: contractNumber)
        let notices = try await store.notices(contractNumber: contractNumber)
        let today = now().date
        return ContractView(
            contract: contract, holds: holds, notices: notices,
            placedWith: try await store.activePlacement(contractNumber: contractNumber),
            arrearsNoticeDue: CollectionsGuards.arrearsNoticeDue(contract, notices: notices, on: today),
            refusals: try await refusalsByAction(contract, today: today))
    }
}

/// A contract as `contract show` presents it: the stored contract, its holds, notices and
/// placement, and what the guards say about each action today.
public struct ContractView: Sendable {
    public var contract: Contract
    public var holds: [ContractHold]
    public var notices: ContractNotices
    public var placedWith: String?
    /// s.86B: a notice of sums in arrears is due.
    public var arrearsNoticeDue: Bool
    /// Every action, with the guards that block it (none: allowed).
    public var refusals: [(action: CollectionsAction, refusals: [GuardRefusal])]
}
