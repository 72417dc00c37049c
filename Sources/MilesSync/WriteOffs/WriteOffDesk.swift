import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping

/// Where write-offs are prepared, approved and rejected under the authority matrix. Every change
/// is stored with its audit entry; the final approval queues the PostWriteOff in the outbox.
///
/// ```swift
/// let desk = WriteOffDesk(store: store, mappings: mappings)
/// let report = try await desk.prepare(file: WriteOffFile(path: "writeoffs.csv"), by: alice)
/// let results = await desk.approve(ids: [1, 2], by: bob, comment: "checked the file")
/// ```
public struct WriteOffDesk: Sendable {
    /// What preparing a file did, row by row.
    public struct PreparationReport: Sendable {
        public var created: [(line: Int, id: Int64)] = []
        /// Rows that are a request made before, with its state: one rejected or failed is not on its way.
        public var alreadyRequested: [(line: Int, id: Int64, state: WriteOffRequest.State)] = []
        public var refused: [(line: Int, reason: String)] = []
    }

    /// What the desk reads and writes.
    public typealias Stores = ContractStore & WriteOffStore & ReliefStore

    public let store: any Stores
    public let mappings: MappingSet
    let now: CollectionsClock

    public init(store: any Stores, mappings: MappingSet, now: CollectionsClock = .system) {
        self.store = store
        self.mappings = mappings
        self.now = now
    }

    /// The user named `name`, in the role the configuration gives them.
    public func user(named name: String, roles: [String: String]) throws(WriteOffDeskError) -> CollectionsUser {
        guard let roleName = roles[name] else {
            throw WriteOffDeskError(.unknownUser, input: name, "user '\(name)' has no role in the configuration (users: \(name): ROLE)")
        }
        guard let role = mappings.authorityMatrix.role(named: roleName) else {
            throw WriteOffDeskError(.unknownRole, input: roleName, "user '\(name)' has role '\(roleName)', which is not in authority-matrix.yaml; roles are "
                + mappings.authorityMatrix.tiers.map(\.role.name).joined(separator: ", "))
        }
        return CollectionsUser(name: name, role: role)
    }

    /// Checks every row against the synced store and stores the good ones as requests with `user` as
    /// maker. A bad row is reported with its line and never blocks the good ones; a row already requested
    /// creates nothing new.
    public func prepare(file: WriteOffFile, by user: CollectionsUser) async throws -> PreparationReport {
        var report = PreparationReport()
        let fileName = (file.path as NSString).lastPathComponent
        for row in file.rows {
            switch try await check(row, source: "\(fileName):\(row.line)") {
            case let .failure(refusal):
                report.refused.append((row.line, refusal.description))
            case let .success(.requested(request)):
                report.alreadyRequested.append((row.line, request.id, request.state))
            case let .success(.new(request)):
                switch try await store.createWriteOffRequest(request, requestedBy: user.name, at: now()) {
                case let .created(id): report.created.append((row.line, id))
                case let .alreadyRequested(id):
                    // Another person's, stored a moment before.
                    report.alreadyRequested.append((row.line, id, try await store.writeOffRequest(id: id)?.state ?? .pendingApproval))
                }
            }
        }
        return report
    }

    /// A row as checked: a request to store, or the one it already made.
    private enum CheckedRow {
        case new(NewWriteOffRequest)
        case requested(WriteOffRequest)
    }

    private func check(_ row: WriteOffFile.Row, source: String) async throws -> Result<CheckedRow, WriteOffDeskError> {
        func refuse(_ reason: String) -> Result<CheckedRow, WriteOffDeskError> {
            .failure(WriteOffDeskError(.rowRefused, input: source, reason))
        }
        guard !row.contractNumber.isEmpty else { return refuse("contract_number is empty") }
        guard let contract = try await store.contract(typed: row.contractNumber) else {
            return refuse("contract \(row.contractNumber) is not in the store (run sync contracts first, or check the number)")
        }
        let contractNumber = contract.contractNumber
        guard let reason = mappings.statusCodes.writeOffReason(forCode: row.reasonCode) else {
            return refuse("reason code '\(row.reasonCode)' is not in status-codes.yaml writeOffReasons ("
                + mappings.statusCodes.writeOffReasons.keys.sorted().joined(separator: ", ") + ")")
        }
        if let currency = row.currency, currency != contract.currency.code {
            return refuse("currency \(currency) does not match the contract's \(contract.currency.code)")
        }
        if mappings.statusCodes.internalStatus(forMilesCode: contract.statusCode) == .writtenOff {
            return refuse("contract \(contractNumber) is already written off in MILES")
        }
        let unknownInvoices = row.invoiceNumbers.filter { number in !contract.openInvoices.contains { $0.number == number } }
        guard unknownInvoices.isEmpty else {
            return refuse("invoice \(unknownInvoices.joined(separator: ", ")) is not open on contract \(contractNumber)")
        }
        let isFull = row.amount.lowercased() == "full"
        var typed: Money?
        if !isFull {
            guard let number = DecimalAmount.parse(row.amount) else {
                return refuse("amount '\(row.amount)' " + (DecimalAmount.isWrittenAsNumber(row.amount) ? "has more digits than any amount can"
                                                                                                          : "is not a number (or 'full')"))
            }
            guard let parsed = number.money(in: contract.currency) else {
                return refuse("amount '\(row.amount)' has more decimal places than \(contract.currency.code) allows "
                              + "(\(contract.currency.minorUnitDigits)), or is too large")
            }
            typed = parsed
        }
        let requests = try await store.writeOffRequests(contractNumber: contractNumber)
        let relief = try await store.reliefInFlight(contractNumbers: [contractNumber])[contractNumber] ?? []
        // The same row again is the request it made, whatever was taken off the contract since: for an amount, the
        // request of that amount, reason and invoices (the store's fingerprint); for 'full', the one of that reason and
        // invoices still on its way to MILES covering everything open there but what the rest of the relief takes.
        if let same = requests.first(where: { request in
            request.reason == reason && request.invoiceNumbers.sorted() == row.invoiceNumbers.sorted()
                && (typed.map { request.amount == $0 }
                    ?? (relief.contains { $0.isRecord(.writeOff, id: request.id) }
                        && ReliefInFlight.isFull(.writeOff, id: request.id, amount: request.amount, on: request.invoiceNumbers, of: contract,
                                                 among: relief)))
        }) {
            return .success(.requested(same))
        }
        // What MILES does not show yet comes off first: payments allocated, credit notes, write-offs posted since the
        // last sync. The one request waiting is this desk's own rule, below.
        let waiting = requests.first { $0.state == .pendingApproval || $0.state == .approved }
        let taken = relief.filter { relief in waiting.map { !relief.isRecord(.writeOff, id: $0.id) } ?? true }
        let afterRelief = taken.isEmpty ? "" : ReliefInFlight.takenOff
        let available = ReliefInFlight.open(on: row.invoiceNumbers, of: contract, less: taken).open
        let amount = typed ?? available
        guard amount.minorUnits > 0 else {
            return refuse(isFull ? "nothing is open to write off" + afterRelief : "amount \(amount) is not above zero")
        }
        guard amount.minorUnits <= available.minorUnits else {
            return refuse("amount \(amount) is more than the open balance \(available)" + afterRelief)
        }
        if let waiting {
            return refuse("contract \(contractNumber) already has write-off request \(waiting.id) \(waiting.state.rawValue)")
        }
        let matrix = mappings.authorityMatrix
        // CONC 7.4: the customer is told the rest of the debt still exists when this leaves some of MILES's balance.
        // Judged before relief in flight, which may yet not happen (a credit note rejected, an allocation refused):
        // telling the customer of a debt a payment then clears is the lesser harm than not telling of one that stays.
        return .success(.new(NewWriteOffRequest(
            contractNumber: contractNumber, invoiceNumbers: row.invoiceNumbers, amount: amount, reason: reason,
            comment: row.comment, requiredRole: matrix.requiredRole(for: amount, reason: reason).name,
            approvalsNeeded: matrix.approvalsNeeded(for: amount), matrixVersion: matrix.version,
            customerMustBeTold: amount.minorUnits < contract.openBalance.minorUnits, source: source)))
    }

    /// Approves each request as `user`; each result says approved, approved-and-queued, or why not.
    public func approve(ids: [Int64], by user: CollectionsUser, comment: String?) async -> [(id: Int64, result: Result<Bool, WriteOffDeskError>)] {
        var results: [(id: Int64, result: Result<Bool, WriteOffDeskError>)] = []
        for id in ids {
            do {
                guard let request = try await store.writeOffRequest(id: id) else {
                    results.append((id, .failure(WriteOffDeskError(.noSuchRequest, input: "\(id)", "no write-off request \(id)"))))
                    continue
                }
                let outcome = try WriteOffApprovalPolicy.approve(request, by: user, under: mappings.authorityMatrix, at: now(), comment: comment)
                try await store.recordApproval(requestId: id, approval: outcome.approval, expectedApprovals: request.approvals.count,
                                               isFinal: outcome.isFinal)
                results.append((id, .success(outcome.isFinal)))
            } catch let refusal as MakerChecker.Refusal {
                results.append((id, .failure(WriteOffDeskError(.approvalRefused, input: "\(id)", refusal.description))))
            } catch {
                results.append((id, .failure(WriteOffDeskError(storeFailure: error, input: "\(id)"))))
            }
        }
        return results
    }

    public func reject(ids: [Int64], by user: CollectionsUser, reason: String) async -> [(id: Int64, result: Result<Void, WriteOffDeskError>)] {
        var results: [(id: Int64, result: Result<Void, WriteOffDeskError>)] = []
        for id in ids {
            do {
                guard let request = try await store.writeOffRequest(id: id) else {
                    results.append((id, .failure(WriteOffDeskError(.noSuchRequest, input: "\(id)", "no write-off request \(id)"))))
                    continue
                }
                guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    results.append((id, .failure(WriteOffDeskError(.reasonRequired, input: "\(id)", "a rejection needs a reason"))))
                    continue
                }
                // Judged under the matrix in force now, as an approval is.
                let required = mappings.authorityMatrix.requiredRole(for: request.amount, reason: request.reason)
                guard MakerChecker.mayReject(raisedBy: request.requestedBy, requiredRole: required, by: user) else {
                    results.append((id, .failure(WriteOffDeskError(.approvalRefused, input: "\(id)",
                        "\(user.name) is \(user.role.name); rejecting write-off request \(id) (\(request.amount)) needs a \(required.name) "
                            + "or above, or its maker"))))
                    continue
                }
                try await store.rejectWriteOffRequest(id: id, by: user.name, reason: reason, at: now())
                results.append((id, .success(())))
            } catch {
                results.append((id, .failure(WriteOffDeskError(storeFailure: error, input: "\(id)"))))
            }
        }
        return results
    }
}
