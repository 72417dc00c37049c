import CollectionsDomain
import CollectionsStore
import Foundation
import Hummingbird
import MilesMapping
import MilesSync

/// The workspace's money decisions beyond write-offs: credit notes, write-off reversals and
/// payment arrangements waiting for an approver (and broken or completed plans waiting to be
/// closed), and the forms on a contract's page that raise them and ask MILES for letters. Every
/// decision goes through the same desk as the command line, as the signed-in person.
extension Workspace {
    /// Whether `person` may approve a credit note or reversal now: not its maker, not an approver already, and the role it needs.
    static func mayApprove(_ trail: ApprovalTrail, required: CollectionsRole, by person: CollectionsUser) -> Bool {
        trail.requestedBy != person.name && !trail.approvals.contains { $0.approver == person.name } && person.role.rank >= required.rank
    }

    /// Whether `person` could have agreed the arrangement: not its proposer, and the role its assessment needs.
    static func maySign(_ arrangement: ArrangementProposal, by person: CollectionsUser) -> Bool {
        arrangement.proposedBy != person.name && person.role.rank >= arrangement.assessment.requiredRole.rank
    }

    static func mayApprove(_ arrangement: ArrangementProposal, by person: CollectionsUser) -> Bool {
        maySign(arrangement, by: person) && !arrangement.approvals.contains { $0.approver == person.name }
    }

    /// A plan as the pages list it: "3 monthly of 100.00 GBP, 2026-12-10 to 2027-02-10".
    static func summary(of plan: PaymentArrangement) -> String {
        "\(plan.instalments.count) \(plan.frequency.rawValue) of \(plan.instalments[0].amount), \(plan.firstDate) to \(plan.lastDate)"
            + (plan.isSettlement ? ", in settlement" : "")
    }

    /// The credit notes, reversals and arrangements waiting for approval that `person` may approve: the
    /// Approvals page's rows with an approve button (not those this MILES cannot take, which it shows without one).
    func approvalsAwaiting(_ person: CollectionsUser) async throws -> Int {
        let matrix = mappings.authorityMatrix
        func offered(_ decision: PageDecision) -> Bool { decision.refusals(in: mappings.contract).isEmpty }
        var count = 0
        if offered(.credit) {
            count += try await store.creditNotes(state: .pendingApproval)
                .filter { Self.mayApprove($0.trail, required: matrix.creditLimits.requiredRole(for: $0.amount), by: person) }.count
        }
        if offered(.writeOffReversal) {
            for reversal in try await store.writeOffReversals(state: .pendingApproval) {
                guard let reason = try await store.writeOffRequest(id: reversal.writeOffRequestId)?.reason else { continue }
                if Self.mayApprove(reversal.trail, required: matrix.requiredRole(for: reversal.amount, reason: reason), by: person) { count += 1 }
            }
        }
        if offered(.arrangement) {
            count += try await store.arrangements(state: .pendingApproval).filter { Self.mayApprove($0, by: person) }.count
        }
        return count
    }

    func approvals(_ session: WorkspaceSessions.Session) async throws -> Response {
        let person = person(session)
        let matrix = mappings.authorityMatrix
        func mayApprove(_ trail: ApprovalTrail, required: CollectionsRole) -> Bool { Self.mayApprove(trail, required: required, by: person) }
        let credits = try await store.creditNotes(state: .pendingApproval).map { credit -> [String: Any] in
            Self.present(["id": credit.id, "contract": credit.contractNumber, "amount": credit.amount.description,
                          "reason": "\(credit.reasonCode): \(credit.comment)", "by": credit.trail.requestedBy,
                          "needs": "\(credit.trail.requiredRole) x\(credit.trail.approvalsNeeded)",
                          "actionable": mayApprove(credit.trail, required: matrix.creditLimits.requiredRole(for: credit.amount))
                            ? ["id": credit.id, "csrf": session.csrf, "kind": "credits", "approvable": PageDecision.credit.refusals(in: mappings.contract).isEmpty] : nil])
        }
        var reversals: [[String: Any]] = []
        for reversal in try await store.writeOffReversals(state: .pendingApproval) {
            // A reversal is judged by its write-off's reason; the store keeps every write-off a reversal names.
            guard let reason = try await store.writeOffRequest(id: reversal.writeOffRequestId)?.reason else { continue }
            reversals.append(Self.present([
                "id": reversal.id, "contract": reversal.contractNumber, "amount": reversal.amount.description,
                "reason": "\(reversal.reasonCode): \(reversal.comment) (write-off \(reversal.writeOffRequestId))", "by": reversal.trail.requestedBy,
                "needs": "\(reversal.trail.requiredRole) x\(reversal.trail.approvalsNeeded)",
                "actionable": mayApprove(reversal.trail, required: matrix.requiredRole(for: reversal.amount, reason: reason))
                    ? ["id": reversal.id, "csrf": session.csrf, "kind": "reversals", "approvable": PageDecision.writeOffReversal.refusals(in: mappings.contract).isEmpty] : nil]))
        }
        var arrangements: [[String: Any]] = []
        for state in [ArrangementProposal.State.pendingApproval, .broken, .completed] {
            for arrangement in try await store.arrangements(state: state) {
                let plan = arrangement.plan
                let maySign = Self.maySign(arrangement, by: person)
                let mayApprove = state == .pendingApproval && Self.mayApprove(arrangement, by: person)
                arrangements.append(Self.present([
                    "id": arrangement.id, "contract": plan.contractNumber, "state": state.rawValue,
                    "plan": Self.summary(of: plan),
                    "by": arrangement.proposedBy, "needs": "\(arrangement.assessment.requiredRole.name) x\(arrangement.assessment.approvalsNeeded)",
                    "outcome": arrangement.outcome,
                    "actionable": mayApprove ? ["id": arrangement.id, "csrf": session.csrf, "kind": "arrangements", "approvable": PageDecision.arrangement.refusals(in: mappings.contract).isEmpty] : nil,
                    "closable": state != .pendingApproval && maySign ? ["id": arrangement.id, "csrf": session.csrf] : nil]))
            }
        }
        let reported = try await store.reportedArrangements(open: true, limit: 200).map {
            ["contract": $0.contractNumber, "agent": $0.agent, "on": $0.reportedOn.description, "details": $0.details, "source": $0.source]
        }
        var data: [String: Any] = ["title": "Approvals", "credits": credits, "reversals": reversals, "arrangements": arrangements,
                                   "reported": reported]
        data.merge(await takeFlash(session)) { $1 }
        return render("approvals", data, session: session)
    }

    /// Approves or rejects a credit note (`credits`), a reversal (`reversals`) or an arrangement (`arrangements`).
    func decide(_ kind: String, id: Int64?, approve: Bool, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        guard let id else { return redirect("/workspace/approvals") }
        let comment = form["comment"].isEmpty ? nil : form["comment"]
        let name = kind == "credits" ? "Credit note" : kind == "reversals" ? "Reversal" : "Arrangement"
        let outcome: Result<Bool?, any Error>
        switch (kind, approve) {
        case ("arrangements", true):
            outcome = (await ArrangementDesk(store: store, mappings: mappings, now: now).approve(ids: [id], by: person(session), comment: comment))
                .first.map { $0.result.map { $0 as Bool? }.mapError { $0 as any Error } } ?? .success(nil)
        case ("arrangements", false):
            do {
                try await ArrangementDesk(store: store, mappings: mappings, now: now).reject(id: id, by: person(session), reason: form["reason"])
                outcome = .success(nil)
            } catch {
                outcome = .failure(error)
            }
        default:
            let record: OutboxKind = kind == "credits" ? .raiseCreditNote : .reverseWriteOff
            let desk = CreditDesk(store: store, mappings: mappings, now: now)
            if approve {
                outcome = (await desk.approve(record, ids: [id], by: person(session), comment: comment)).first
                    .map { $0.result.map { $0 as Bool? }.mapError { $0 as any Error } } ?? .success(nil)
            } else {
                outcome = (await desk.reject(record, ids: [id], by: person(session), reason: form["reason"])).first
                    .map { $0.result.map { nil as Bool? }.mapError { $0 as any Error } } ?? .success(nil)
            }
        }
        switch outcome {
        case .success(true): await flash(session, "\(name) \(id) approved; queued for MILES.")
        case .success(false): await flash(session, "\(name) \(id) approved; it waits for a second approver.")
        case .success(nil): await flash(session, "\(name) \(id) rejected.")
        case let .failure(error): await flash(session, "\(name) \(id) not \(approve ? "approved" : "rejected"): \(error)", error: true)
        }
        return redirect("/workspace/approvals")
    }

    func closeArrangement(_ id: Int64?, _ session: WorkspaceSessions.Session) async throws -> Response {
        guard let id else { return redirect("/workspace/approvals") }
        let change = try await ArrangementDesk(store: store, mappings: mappings, now: now).close(id: id, by: person(session))
        await flash(session, "Arrangement \(id) closed; status change \(change) queued for MILES.")
        return redirect("/workspace/approvals")
    }

    // MARK: On a contract's page

    func raiseCredit(_ number: String, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        let created = try await CreditDesk(store: store, mappings: mappings, now: now).raiseCreditNote(
            contractNumber: number, amount: form["amount"], invoiceNumbers: form["invoice"].isEmpty ? [] : [form["invoice"]],
            reasonCode: form["reason"], comment: form["comment"], by: person(session))
        switch created {
        case let .created(id): await flash(session, "Credit note \(id) raised; it waits for approval.")
        case let .alreadyRequested(id): await flash(session, "Credit note \(id) is already open for this; nothing new.")
        }
        return redirect("/workspace/contracts/\(number)")
    }

    func requestLetter(_ number: String, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        guard let type = LetterType(rawValue: form["letter"]) else {
            await flash(session, "Choose the letter MILES is to issue.", error: true)
            return redirect("/workspace/contracts/\(number)")
        }
        switch try await ContractDesk(store: store, mappings: mappings, now: now).requestLetter(contractNumber: number, type: type, by: person(session).name) {
        case let .created(id): await flash(session, "Letter \(id) (\(type.rawValue)) queued: MILES answers with the date it serves it.")
        case let .alreadyRequested(id): await flash(session, "Letter \(id) (\(type.rawValue)) is already queued; nothing new.")
        }
        return redirect("/workspace/contracts/\(number)")
    }

    func proposeArrangement(_ number: String, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        guard let contract = try await store.contract(number: number) else {
            await flash(session, "There is no contract \(number) in the store.", error: true)
            return redirect("/workspace/contracts")
        }
        let person = person(session)
        // Not below zero: a negative expenditure would add to the disposable income the plan is judged against.
        func money(_ field: String) -> Money? {
            DecimalAmount.parse(form[field])?.money(in: contract.currency).flatMap { $0.minorUnits >= 0 ? $0 : nil }
        }
        guard let frequency = PaymentArrangement.Frequency(rawValue: form["frequency"]), let first = LocalDate.parse(form["first"]),
              let count = Int(form["count"]), count > 0, let amount = money("amount"), let income = money("income"), let spent = money("expenditure") else {
            await flash(session, "A plan needs a frequency, a first date like 2026-12-15, a number of instalments, an amount, and the customer's "
                        + "monthly income and expenditure, none of them below zero.", error: true)
            return redirect("/workspace/contracts/\(number)")
        }
        let plan = try PaymentArrangement.regular(contractNumber: number, frequency: frequency, firstDate: first, count: count, amount: amount,
                                                  isSettlement: form["settlement"] == "yes")
        let id = try await ArrangementDesk(store: store, mappings: mappings, now: now).propose(
            plan, income: IncomeAndExpenditure(monthlyIncome: income, monthlyExpenditure: spent, recordedOn: now().date, recordedBy: person.name),
            by: person)
        await flash(session, "Arrangement \(id) proposed; it waits for approval.")
        return redirect("/workspace/contracts/\(number)")
    }

    // MARK: Bank entries waiting for a person

    /// The bank import's to-check queue, oldest first, each entry with why it waits and the contracts the
    /// rules found, and the entries holding money in suspense. Payers' names are masked, as in every list,
    /// and so are IBANs, emails and phone numbers wherever the bank's text or a reason quotes them. Free
    /// text the payer wrote (a name in the remittance) is shown as the bank gave it, and no view is recorded.
    func bankQueue(_ session: WorkspaceSessions.Session) async throws -> Response {
        let personalData = RedactionPolicy(logPersonalData: false, secrets: [], masksBankAccounts: true)
        let desk = bankDesk
        let shown = 200
        let waiting = try await desk.queue(limit: shown + 1), suspense = try await desk.suspense(limit: shown + 1)
        // The form suggests the best candidate that has something open (what the relief MILES does not show yet
        // left): one with nothing open would be refused.
        let candidates = Set((waiting.prefix(shown) + suspense.prefix(shown)).flatMap { $0.candidates.map(\.contractNumber) })
        let owing = Set(try await store.bankMatchData(contractNumbers: candidates, invoiceNumbers: [], payerAccounts: [])
            .contracts.filter { $0.value.openBalance.minorUnits > 0 }.keys)
        func row(_ stored: StoredBankEntry) -> [String: Any] {
            let entry = stored.entry
            return Self.present([
                "id": stored.id, "booked": entry.bookingDate.description, "amount": entry.amount.description,
                "payer": entry.counterpartyName.map(Self.masked) ?? "(no name)", "remittance": personalData.scrub(entry.remittance),
                "reason": personalData.scrub(stored.reason ?? ""),
                "candidates": stored.candidates.map {
                    ["contract": $0.contractNumber, "confidence": $0.confidence, "why": personalData.scrub($0.reasons.joined(separator: "; "))]
                },
                "suggested": stored.candidates.first { owing.contains($0.contractNumber) }?.contractNumber ?? "",
                "suspense": stored.allocation.map { "\($0.suspense) (the rest allocated to \($0.contractNumber))" } ?? "all of it",
            ])
        }
        var data: [String: Any] = ["title": "Bank", "shown": shown, "waiting": waiting.prefix(shown).map(row), "waitingMore": waiting.count > shown,
                                   "suspense": suspense.prefix(shown).map(row), "suspenseMore": suspense.count > shown]
        data.merge(await takeFlash(session)) { $1 }
        return render("bank", data, session: session)
    }

    /// A person allocates a waiting entry, as `bank allocate` does: to the invoices named, or to the
    /// contract's open invoices oldest first, the rest in suspense; audited with them, queued for MILES.
    func allocateBankEntry(_ id: Int64?, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        guard let id else { return redirect("/workspace/bank") }
        let invoices = form["invoices"].split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        do {
            let allocation = try await bankDesk.allocate(entryId: id, contractNumber: form["contract"].trimmingCharacters(in: .whitespaces),
                                                         invoiceNumbers: invoices, note: form["note"].isEmpty ? nil : form["note"],
                                                         by: person(session).name)
            await flash(session, "Bank entry \(id) allocated to \(allocation.contractNumber): "
                        + allocation.lines.map { "\($0.invoiceNumber) \($0.amount)" }.joined(separator: ", ")
                        + (allocation.suspense.minorUnits > 0 ? "; \(allocation.suspense) in suspense" : "")
                        + "; queued for MILES as \(allocation.clientReference).")
        } catch let error as BankImportError {
            await flash(session, "Bank entry \(id) not allocated: \(error.description)", error: true)
        }
        return redirect("/workspace/bank")
    }

    /// The bank desk for the queue: the workspace imports no statements, so its statements folder is never used.
    private var bankDesk: BankDesk {
        BankDesk(store: store, rules: mappings.bank, statementsDirectory: "statements", now: now)
    }
}
