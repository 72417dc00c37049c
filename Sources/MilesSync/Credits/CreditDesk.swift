import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping

/// Where credit notes and write-off reversals are raised, approved and rejected, under the
/// authority matrix and maker-checker. Every change is stored with its audit entry; the final
/// approval queues RaiseCreditNote or ReverseWriteOff in the outbox, sent once by the relay.
///
/// ```swift
/// let desk = CreditDesk(store: store, mappings: mappings)
/// let id = try await desk.raiseCreditNote(contractNumber: "C00000012", amount: "40.00", invoiceNumbers: [],
///                                         reasonCode: "BILL", comment: "charged twice", by: alice)
/// let results = await desk.approve(.raiseCreditNote, ids: [id.id], by: bob, comment: nil)
/// ```
public struct CreditDesk: Sendable {
    /// What the desk reads and writes.
    public typealias Stores = ContractStore & WriteOffStore & CreditStore & ReliefStore

    public let store: any Stores
    public let mappings: MappingSet
    let now: CollectionsClock

    public init(store: any Stores, mappings: MappingSet, now: CollectionsClock = .system) {
        self.store = store
        self.mappings = mappings
        self.now = now
    }

    /// Checks a credit note against the synced contract and stores it with `user` as maker.
    /// `amount` is in the contract's currency, or 'full' for everything open on the invoices named.
    public func raiseCreditNote(contractNumber typedNumber: String, amount amountText: String, invoiceNumbers typedInvoices: [String],
                                reasonCode: String, comment: String, by user: CollectionsUser) async throws(CreditDeskError) -> RequestCreation {
        let contract: Contract?
        do { contract = try await store.contract(typed: typedNumber) } catch {
            throw CreditDeskError(storeFailure: error, input: typedNumber)
        }
        guard let contract else {
            throw CreditDeskError(.notFound, input: typedNumber,
                                  "contract \(typedNumber) is not in the store (run sync contracts first, or check the number)")
        }
        let contractNumber = contract.contractNumber
        let invoiceNumbers = typedInvoices.map { TypedNumber.match($0, in: contract.openInvoices.map(\.number)) ?? $0 }
        func refuse(_ reason: String) -> CreditDeskError { CreditDeskError(.refused, input: contractNumber, reason) }
        guard mappings.statusCodes.creditReasons[reasonCode] != nil else {
            throw refuse("reason code '\(reasonCode)' is not in status-codes.yaml creditReasons ("
                + mappings.statusCodes.creditReasons.keys.sorted().joined(separator: ", ") + ")")
        }
        guard !comment.trimmingCharacters(in: .whitespaces).isEmpty else { throw refuse("a credit note needs a comment saying why") }
        let unknown = invoiceNumbers.filter { number in !contract.openInvoices.contains { $0.number == number } }
        guard unknown.isEmpty else { throw refuse("invoice \(unknown.joined(separator: ", ")) is not open on contract \(contractNumber)") }
        let relief: [ReliefInFlight], inFlight: [CreditNoteRequest]
        do {
            relief = try await store.reliefInFlight(contractNumbers: [contractNumber])[contractNumber] ?? []
            inFlight = try await store.creditNotes(contractNumber: contractNumber).filter { credit in relief.contains { $0.isRecord(.creditNote, id: credit.id) } }
        } catch {
            throw CreditDeskError(storeFailure: error, input: contractNumber)
        }
        // The same credit note again, while the first is on its way to MILES (or posted there, not yet synced), is that
        // one, whatever was taken off the contract since: of that amount, or for 'full', the one covering everything open
        // on those invoices but what the rest of the relief takes (`ReliefInFlight.isFull`).
        let typed = try Self.amount(amountText, in: contract.currency, input: contractNumber)
        if let same = inFlight.first(where: { credit in
            credit.reasonCode == reasonCode && credit.invoiceNumbers.sorted() == invoiceNumbers.sorted()
                && (typed.map { credit.amount == $0 }
                    ?? ReliefInFlight.isFull(.creditNote, id: credit.id, amount: credit.amount, on: credit.invoiceNumbers, of: contract, among: relief))
        }) {
            return .alreadyRequested(id: same.id)
        }
        // What MILES does not show yet comes off first, as it will take it: credit notes waiting or posted since the
        // last sync, payments allocated, write-offs.
        let open = ReliefInFlight.open(on: invoiceNumbers, of: contract, less: relief).open
        let afterRelief = relief.isEmpty ? "" : ReliefInFlight.takenOff
        let amount = typed ?? open
        guard amount.minorUnits > 0 else { throw refuse("nothing is open to credit on " + (invoiceNumbers.isEmpty ? "the contract" : "those invoices") + afterRelief) }
        guard amount.minorUnits <= open.minorUnits else {
            throw refuse("amount \(amount) is more than the \(open) open on " + (invoiceNumbers.isEmpty ? "the contract" : "those invoices") + afterRelief)
        }
        let limits = mappings.authorityMatrix.creditLimits
        let credit = NewCreditNote(
            contractNumber: contractNumber, invoiceNumbers: invoiceNumbers, amount: amount, reasonCode: reasonCode, comment: comment,
            requiredRole: limits.requiredRole(for: amount).name, approvalsNeeded: limits.approvalsNeeded(for: amount),
            matrixVersion: mappings.authorityMatrix.version)
        do { return try await store.createCreditNote(credit, requestedBy: user.name, at: now()) } catch {
            throw CreditDeskError(storeFailure: error, input: contractNumber)
        }
    }

    /// Checks a reversal of posted write-off request `writeOffRequestId` and stores it with `user`
    /// as maker. It is approved like a write-off of its amount and reason: reinstating a debt is as
    /// weighty as writing it off.
    public func requestReversal(writeOffRequestId: Int64, amount amountText: String, reasonCode: String, comment: String,
                                by user: CollectionsUser) async throws(CreditDeskError) -> RequestCreation {
        let input = "write-off request \(writeOffRequestId)"
        let request: WriteOffRequest?
        do { request = try await store.writeOffRequest(id: writeOffRequestId) } catch {
            throw CreditDeskError(storeFailure: error, input: input)
        }
        guard let request else { throw CreditDeskError(.notFound, input: input, "there is no write-off request \(writeOffRequestId)") }
        guard request.state == .posted else {
            throw CreditDeskError(.refused, input: input, "\(input) is \(request.state.rawValue), not posted in MILES: there is nothing to reverse")
        }
        guard mappings.statusCodes.writeOffReversalReasons[reasonCode] != nil else {
            throw CreditDeskError(.refused, input: input, "reason code '\(reasonCode)' is not in status-codes.yaml writeOffReversalReasons ("
                + mappings.statusCodes.writeOffReversalReasons.keys.sorted().joined(separator: ", ") + ")")
        }
        guard !comment.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw CreditDeskError(.refused, input: input, "a reversal needs a comment saying why")
        }
        let amount = try Self.amount(amountText, in: request.amount.currency, input: input) ?? request.amount
        let matrix = mappings.authorityMatrix
        let reversal = NewWriteOffReversal(
            writeOffRequestId: writeOffRequestId, amount: amount, reasonCode: reasonCode, comment: comment,
            requiredRole: matrix.requiredRole(for: amount, reason: request.reason).name, approvalsNeeded: matrix.approvalsNeeded(for: amount),
            matrixVersion: matrix.version)
        do { return try await store.createWriteOffReversal(reversal, requestedBy: user.name, at: now()) } catch {
            throw CreditDeskError(storeFailure: error, input: input)
        }
    }

    /// Approves each credit note (`.raiseCreditNote`) or reversal (`.reverseWriteOff`) as `user`;
    /// each result says approved-and-queued (true), waiting for a second approver (false), or why not.
    public func approve(_ kind: OutboxKind, ids: [Int64], by user: CollectionsUser,
                        comment: String?) async -> [(id: Int64, result: Result<Bool, CreditDeskError>)] {
        var results: [(id: Int64, result: Result<Bool, CreditDeskError>)] = []
        for id in ids {
            let input = "\(kind.recordName) \(id)"
            do {
                guard let (trail, required, needed) = try await authority(kind, id: id) else {
                    results.append((id, .failure(CreditDeskError(.notFound, input: input, "there is no \(input)"))))
                    continue
                }
                let outcome = try trail.approve(kind.recordName, requiredRole: required, approvalsNeeded: needed, by: user,
                                                under: mappings.authorityMatrix, at: now(), comment: comment)
                try await store.recordApproval(of: kind, id: id, approval: outcome.approval, expectedApprovals: trail.approvals.count,
                                               isFinal: outcome.isFinal)
                results.append((id, .success(outcome.isFinal)))
            } catch let refusal as MakerChecker.Refusal {
                results.append((id, .failure(CreditDeskError(.approvalRefused, input: input, refusal.description))))
            } catch {
                results.append((id, .failure(CreditDeskError(storeFailure: error, input: input))))
            }
        }
        return results
    }

    /// Rejects each as `user`, with a reason: the person who raised it (withdrawing it), or someone
    /// who could approve it.
    public func reject(_ kind: OutboxKind, ids: [Int64], by user: CollectionsUser,
                       reason: String) async -> [(id: Int64, result: Result<Void, CreditDeskError>)] {
        var results: [(id: Int64, result: Result<Void, CreditDeskError>)] = []
        for id in ids {
            let input = "\(kind.recordName) \(id)"
            do {
                guard let (trail, required, _) = try await authority(kind, id: id) else {
                    results.append((id, .failure(CreditDeskError(.notFound, input: input, "there is no \(input)"))))
                    continue
                }
                guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                    results.append((id, .failure(CreditDeskError(.refused, input: input, "a rejection needs a reason"))))
                    continue
                }
                guard MakerChecker.mayReject(raisedBy: trail.requestedBy, requiredRole: required, by: user) else {
                    results.append((id, .failure(CreditDeskError(.approvalRefused, input: input,
                        "\(user.name) is \(user.role.name); rejecting this \(kind.recordName) needs a \(required.name) or above, or its maker"))))
                    continue
                }
                try await store.reject(kind, id: id, by: user.name, reason: reason, at: now())
                results.append((id, .success(())))
            } catch {
                results.append((id, .failure(CreditDeskError(storeFailure: error, input: input))))
            }
        }
        return results
    }

    /// The record's trail and the authority its approval needs under the matrix in force now.
    private func authority(_ kind: OutboxKind, id: Int64) async throws -> (ApprovalTrail, CollectionsRole, Int)? {
        let matrix = mappings.authorityMatrix
        switch kind {
        case .raiseCreditNote:
            guard let credit = try await store.creditNote(id: id) else { return nil }
            return (credit.trail, matrix.creditLimits.requiredRole(for: credit.amount), matrix.creditLimits.approvalsNeeded(for: credit.amount))
        case .reverseWriteOff:
            guard let reversal = try await store.writeOffReversal(id: id),
                  let writeOff = try await store.writeOffRequest(id: reversal.writeOffRequestId) else { return nil }
            return (reversal.trail, matrix.requiredRole(for: reversal.amount, reason: writeOff.reason), matrix.approvalsNeeded(for: reversal.amount))
        default:
            return nil
        }
    }

    /// The amount `text` says, in `currency`; nil for 'full', which the caller measures.
    private static func amount(_ text: String, in currency: CurrencyCode, input: String) throws(CreditDeskError) -> Money? {
        if text.lowercased() == "full" { return nil }
        guard let parsed = DecimalAmount.parse(text) else {
            throw CreditDeskError(.refused, input: text, "amount '\(text)' for \(input) "
                                  + (DecimalAmount.isWrittenAsNumber(text) ? "has more digits than any amount can" : "is not a number (or 'full')"))
        }
        guard let amount = parsed.money(in: currency) else {
            throw CreditDeskError(.refused, input: text, "amount '\(text)' for \(input) has more decimal places than \(currency.code) "
                                  + "allows (\(currency.minorUnitDigits)), or is too large")
        }
        guard amount.minorUnits > 0 else {
            throw CreditDeskError(.refused, input: text, "amount '\(text)' for \(input) is not above zero")
        }
        return amount
    }
}
