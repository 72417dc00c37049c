import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping

/// Where payment arrangements are proposed, approved, rejected and cancelled under the matrix's
/// arrangement limits and maker-checker, and where what follows a broken or completed one is
/// decided. The final approval queues CreatePaymentArrangement; every sync then checks each active
/// arrangement against the payments MILES received (`ArrangementMonitoring`).
///
/// ```swift
/// let desk = ArrangementDesk(store: store, mappings: mappings)
/// let id = try await desk.propose(plan, income: statement, by: alice)
/// _ = await desk.approve(ids: [id], by: bob, comment: "affordable")
/// ```
public struct ArrangementDesk: Sendable {
    /// What the desk reads and writes: the arrangement, the contract it is for, and (to close one) a status change.
    public typealias Stores = ArrangementStore & ContractDesk.Stores

    public let store: any Stores
    public let mappings: MappingSet
    let now: CollectionsClock

    public init(store: any Stores, mappings: MappingSet, now: CollectionsClock = .system) {
        self.store = store
        self.mappings = mappings
        self.now = now
    }

    /// Judges the plan under `ArrangementPolicy` (affordability against `income`, breathing space,
    /// its shape, the matrix) and stores it with `user` as maker.
    public func propose(_ plan: PaymentArrangement, income: IncomeAndExpenditure, by user: CollectionsUser) async throws(ArrangementDeskError) -> Int64 {
        let number = plan.contractNumber
        do {
            guard let contract = try await store.contract(number: number) else {
                throw ArrangementDeskError(.notFound, input: number, "contract \(number) is not in the store (run sync contracts first, or check the number)")
            }
            let assessment = try ArrangementPolicy.assess(plan, contract: contract, income: income, holds: try await store.holds(contractNumber: number),
                                                          on: now().date, under: mappings.authorityMatrix)
            return try await store.createArrangement(NewArrangement(plan: plan, assessment: assessment, income: income), proposedBy: user.name, at: now())
        } catch let error as ArrangementDeskError {
            throw error
        } catch let refusal as ArrangementPolicy.Refusal {
            throw ArrangementDeskError(.refused, input: number, "[\(refusal.rule)] \(refusal.description)")
        } catch {
            throw ArrangementDeskError(storeFailure: error, input: number)
        }
    }

    /// Approves each as `user`; true when the approval was final and CreatePaymentArrangement queued.
    public func approve(ids: [Int64], by user: CollectionsUser, comment: String?) async -> [(id: Int64, result: Result<Bool, ArrangementDeskError>)] {
        var results: [(id: Int64, result: Result<Bool, ArrangementDeskError>)] = []
        for id in ids {
            let input = "arrangement \(id)"
            do {
                guard let arrangement = try await store.arrangement(id: id) else {
                    results.append((id, .failure(ArrangementDeskError(.notFound, input: input, "there is no \(input)"))))
                    continue
                }
                let outcome = try ArrangementApprovalPolicy.approve(arrangement, by: user, under: mappings.authorityMatrix, at: now(), comment: comment)
                try await store.recordArrangementApproval(id: id, approval: outcome.approval, expectedApprovals: arrangement.approvals.count,
                                                          isFinal: outcome.isFinal)
                results.append((id, .success(outcome.isFinal)))
            } catch let refusal as MakerChecker.Refusal {
                results.append((id, .failure(ArrangementDeskError(.approvalRefused, input: input, refusal.description))))
            } catch {
                results.append((id, .failure(ArrangementDeskError(storeFailure: error, input: input))))
            }
        }
        return results
    }

    /// Rejects a waiting plan, with a reason: its proposer (withdrawing it), or someone who could approve it.
    public func reject(id: Int64, by user: CollectionsUser, reason: String) async throws(ArrangementDeskError) {
        try await mayDecide(id, by: user, reason: reason, what: "rejecting")
        do { try await store.rejectArrangement(id: id, by: user.name, reason: reason, at: now()) } catch {
            throw ArrangementDeskError(storeFailure: error, input: "arrangement \(id)")
        }
    }

    /// A waiting arrangement is cancelled at once; an active one in MILES, through the outbox. By its
    /// proposer or someone who could have agreed it, with a reason.
    public func cancel(id: Int64, by user: CollectionsUser, reason: String) async throws(ArrangementDeskError) {
        try await mayDecide(id, by: user, reason: reason, what: "cancelling")
        do { try await store.cancelArrangement(id: id, by: user.name, reason: reason, at: now()) } catch {
            throw ArrangementDeskError(storeFailure: error, input: "arrangement \(id)")
        }
    }

    private func mayDecide(_ id: Int64, by user: CollectionsUser, reason: String, what: String) async throws(ArrangementDeskError) {
        let input = "arrangement \(id)"
        let found: ArrangementProposal?
        do { found = try await store.arrangement(id: id) } catch { throw ArrangementDeskError(storeFailure: error, input: input) }
        guard let arrangement = found else { throw ArrangementDeskError(.notFound, input: input, "there is no \(input)") }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ArrangementDeskError(.refused, input: input, "\(what) it needs a reason") }
        guard MakerChecker.mayReject(raisedBy: arrangement.proposedBy, requiredRole: arrangement.assessment.requiredRole, by: user) else {
            throw ArrangementDeskError(.approvalRefused, input: input, "\(user.name) is \(user.role.name); \(what) this arrangement needs a "
                                       + "\(arrangement.assessment.requiredRole.name) or above, or its proposer")
        }
    }

    /// What follows a broken arrangement (the move back to arrears) or a completed one (the return to
    /// active), with the reasons `defaultReasons` gives those statuses (PPBR, ACTV as shipped), decided by `user`: requested through the contract's
    /// guards like any status change, then queued for MILES. Needs the role that could have agreed
    /// the plan, and never the person who proposed it.
    public func close(id: Int64, by user: CollectionsUser) async throws(ArrangementDeskError) -> Int64 {
        let input = "arrangement \(id)"
        do {
            guard let arrangement = try await store.arrangement(id: id) else { throw ArrangementDeskError(.notFound, input: input, "there is no \(input)") }
            let target: ContractStatus
            switch arrangement.state {
            case .broken: target = .inArrears
            case .completed: target = .active
            default:
                throw ArrangementDeskError(.wrongState, input: input, "\(input) is \(arrangement.state.rawValue): only a broken or completed one is closed")
            }
            guard let reason = mappings.statusCodes.defaultReasons[target] else {
                throw ArrangementDeskError(.refused, input: input, "status-codes.yaml defaultReasons has no reason code for \(target.rawValue)")
            }
            guard user.name != arrangement.proposedBy else {
                throw ArrangementDeskError(.approvalRefused, input: input,
                                           "\(user.name) proposed this arrangement and cannot decide what follows it: another person must (maker-checker)")
            }
            guard let role = mappings.authorityMatrix.role(named: user.role.name), role.rank >= arrangement.assessment.requiredRole.rank else {
                throw ArrangementDeskError(.approvalRefused, input: input,
                                           "\(user.name) is \(user.role.name); closing this arrangement needs a \(arrangement.assessment.requiredRole.name) or above")
            }
            let change = try await ContractDesk(store: store, mappings: mappings, now: now).checkedStatusChange(
                contractNumber: arrangement.plan.contractNumber, to: target, reasonCode: reason, effectiveDate: now().date, by: user, overrides: [:])
            return try await store.closeArrangement(id: id, by: user.name, change: change, at: now())
        } catch let error as ArrangementDeskError {
            throw error
        } catch let error as ContractDeskError {
            throw ArrangementDeskError(.refused, input: input, error.description)
        } catch {
            throw ArrangementDeskError(storeFailure: error, input: input)
        }
    }
}

/// What every sync asks of each active payment arrangement: are the payments MILES received since
/// it began (the rise in the contract's paid-to-date) keeping up with its instalments, allowing the
/// matrix's grace days? A broken one is marked broken (and waits for `ArrangementDesk.close`, which
/// proposes PPBR); a paid one, completed.
public struct ArrangementMonitoring: Sendable {
    public typealias Stores = ArrangementStore & ContractStore

    public struct Outcome: Sendable, Equatable {
        public var broken: [Int64] = []
        public var completed: [Int64] = []

        public init() {}
    }

    public let store: any Stores
    public let graceDays: Int
    let riskRules: RiskRules

    public init(store: any Stores, mappings: MappingSet) {
        self.store = store
        graceDays = mappings.authorityMatrix.arrangementLimits.graceDays
        riskRules = mappings.riskRules
    }

    /// Judges each active arrangement on `today` (MILES's business date of the sync).
    public func check(on today: LocalDate, at time: Timestamp) async throws -> Outcome {
        var outcome = Outcome()
        for arrangement in try await store.arrangements(state: .active) {
            guard let before = arrangement.paidBefore, let contract = try await store.contract(number: arrangement.plan.contractNumber) else { continue }
            let paid = Money(minorUnits: contract.paidToDate.minorUnits - before.minorUnits, currency: contract.currency)
            switch ArrangementMonitor.judge(arrangement.plan, paidSince: paid, graceDays: graceDays, on: today) {
            case .onTrack:
                continue
            case let .broken(missed, due, paid):
                // The team leader hears of a customer who keeps breaking plans (risk-rules.yaml brokenArrangements).
                let breaks = try await store.arrangementBreaks(contractNumber: contract.contractNumber) + [today]
                try await store.recordArrangementOutcome(
                    id: arrangement.id, state: .broken,
                    outcome: "broken on \(today): the instalment of \(missed.amount) due \(missed.dueDate) was not paid within \(graceDays) days; "
                        + "\(paid) paid since the plan began, \(due) due by then", on: today,
                    alert: riskRules.brokenArrangementsAlert(contractNumber: contract.contractNumber, brokenOn: breaks, today: today), at: time)
                outcome.broken.append(arrangement.id)
            case .completed:
                try await store.recordArrangementOutcome(id: arrangement.id, state: .completed,
                                                         outcome: "completed on \(today): \(paid) paid of \(arrangement.plan.total)", on: today,
                                                         alert: nil, at: time)
                outcome.completed.append(arrangement.id)
            }
        }
        return outcome
    }
}
