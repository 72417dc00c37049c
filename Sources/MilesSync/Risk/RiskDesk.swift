import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping

public enum RiskDeskErrorCode: String, Sendable {
    /// The person's role is below the matrix's `riskAlerts`.
    case notAuthorised
    /// No comment says what was found.
    case noComment
    case unknownAlert
    /// Someone acknowledged it first.
    case alreadyAcknowledged
}

/// A risk alert that cannot be acknowledged, with the input that stopped it.
public typealias RiskDeskError = CodedError<RiskDeskErrorCode>

/// The risky-customer alerts the syncs raise (`mappings/risk-rules.yaml`), for the team leader:
/// listed, and acknowledged by a person the matrix allows, with what they found.
public struct RiskDesk: Sendable {
    public let store: any RiskStore & AuditStore
    public let mappings: MappingSet
    public let now: CollectionsClock

    public init(store: any RiskStore & AuditStore, mappings: MappingSet, now: CollectionsClock = .system) {
        self.store = store
        self.mappings = mappings
        self.now = now
    }

    public func alerts(includeAcknowledged: Bool = false, limit: Int = 1_000) async throws -> [StoredRiskAlert] {
        try await store.riskAlerts(includeAcknowledged: includeAcknowledged, limit: limit)
    }

    /// Acknowledges alert `id` as `person`, audited with `comment`; stopped while the audit log is broken.
    public func acknowledge(id: Int64, by person: CollectionsUser, comment: String) async throws {
        let required = mappings.authorityMatrix.riskAlertRole
        guard person.role.rank >= required.rank else {
            throw RiskDeskError(.notAuthorised, input: person.name,
                                "\(person.name) is \(person.role.name); acknowledging a risk alert needs \(required.name) or above (riskAlerts in authority-matrix.yaml)")
        }
        let text = comment.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw RiskDeskError(.noComment, input: "--comment", "say what looking into the alert found (--comment)") }
        guard let alert = try await store.riskAlert(id: id) else {
            throw RiskDeskError(.unknownAlert, input: "\(id)", "there is no risk alert \(id) ('miles-adapter report risky' lists them)")
        }
        guard alert.acknowledgedAt == nil else {
            throw RiskDeskError(.alreadyAcknowledged, input: "\(id)", "risk alert \(id) was acknowledged by \(alert.acknowledgedBy ?? "someone") already")
        }
        try await AuditDesk(store: store, mappings: mappings, now: now).requireIntact()
        do {
            try await store.acknowledgeRiskAlert(id: id, by: person.name, comment: text, at: now())
        } catch let error as StoreError where error.code == .changedMeanwhile {
            throw RiskDeskError(.alreadyAcknowledged, input: "\(id)", "risk alert \(id) was acknowledged by someone else meanwhile")
        }
    }
}
