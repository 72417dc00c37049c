import CollectionsDomain
import CollectionsStore

/// The reports the collections team reads from the store: the aged debt, and the contracts owed a
/// notice of sums in arrears.
///
/// ```swift
/// let report = try await ReportDesk(store: store).agedDebt(asOf: today)
/// ```
public struct ReportDesk: Sendable {
    /// What the desk reads.
    public typealias Stores = ContractStore & ContractActionStore

    public let store: any Stores

    public init(store: any Stores) {
        self.store = store
    }

    /// The date the store's contracts reflect: MILES's state as of the last completed contract sync
    /// (the day it started), with how it was chosen; `today` when no sync has completed.
    public static func businessDate(from ledger: any SyncStore, today: LocalDate) async throws -> (date: LocalDate, source: String) {
        let runs = try await ledger.runs(job: ContractSync.Configuration().job, limit: 50)
        guard let last = runs.first(where: { $0.outcome == .completed || $0.outcome == .completedWithDiscrepancy }) else {
            return (today, "today: no contract sync has completed, so the store may not reflect MILES")
        }
        return (last.startedAt.date, "MILES's state at the last completed contract sync (run \(last.id), started \(last.startedAt))")
    }

    /// Every open invoice aged to `date` and summed per bucket and currency.
    public func agedDebt(asOf date: LocalDate, buckets: AgedDebtBuckets = .standard) async throws -> AgedDebtReport {
        var report = AgedDebtReport(asOf: date, buckets: buckets)
        try await store.forEachOpenInvoice { report.add($0) }
        return report
    }

    /// Contracts owed a notice of sums in arrears (CCA s.86B) on `date`, in contract-number order.
    public func arrearsNoticesDue(on date: LocalDate) async throws -> [Contract] {
        var behind: [Contract] = []
        try await store.forEachContract { contract in
            if contract.arrears.missedPayments >= 2 { behind.append(contract) }
        }
        var due: [Contract] = []
        for contract in behind where CollectionsGuards.arrearsNoticeDue(contract, notices: try await store.notices(contractNumber: contract.contractNumber),
                                                                       on: date) {
            due.append(contract)
        }
        return due
    }
}
