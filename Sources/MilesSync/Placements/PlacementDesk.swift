import CollectionsDomain
import CollectionsStore
import Crypto
import Foundation
import MilesMapping

/// Hands accounts to an external agent: only contracts that pass the placement guards, in the
/// agent's own file format, written atomically with a manifest, and each with the status change
/// that tells MILES. Re-running the same placement creates no second file and no second change.
public struct PlacementDesk: Sendable {
    public struct Result: Sendable {
        /// The placement file, when anything new was placed.
        public var file: String?
        public var manifest: String?
        public var placed: [String] = []
        /// Already placed with this agent: nothing new.
        public var alreadyPlaced: [String] = []
        public var refused: [(contractNumber: String, reason: String)] = []
        public var totals: [String: Int64] = [:]
        public var sha256: String?
    }

    /// What the desk reads and writes.
    public typealias Stores = ContractStore & ContractActionStore & PlacementStore & IngestStore

    public let store: any Stores
    public let mappings: MappingSet
    let now: CollectionsClock

    public init(store: any Stores, mappings: MappingSet, now: CollectionsClock = .system) {
        self.store = store
        self.mappings = mappings
        self.now = now
    }

    public func create(agent name: String, contractNumbers: [String], by user: CollectionsUser, reasonCode: String,
                       directory: String) async throws -> Result {
        guard let agent = mappings.agents[name] else {
            throw PlacementError(.unknownAgent, input: name,
                                 "no agent '\(name)' in mappings/third-party; agents are \(mappings.agents.keys.sorted().joined(separator: ", "))")
        }
        guard mappings.statusCodes.statusChangeReasons[reasonCode] != nil else {
            throw PlacementError(.unknownReasonCode, input: reasonCode, "reason code '\(reasonCode)' is not in status-codes.yaml statusChangeReasons")
        }
        let today = now().date
        var result = Result()
        var accepted: [(Contract, ContractNotices)] = []
        for typed in contractNumbers {
            guard let contract = try await store.contract(typed: typed) else {
                result.refused.append((typed, "not in the store"))
                continue
            }
            let number = contract.contractNumber
            if let placedWith = try await store.activePlacement(contractNumber: number) {
                if placedWith == name { result.alreadyPlaced.append(number) } else {
                    result.refused.append((number, "already placed with \(placedWith)"))
                }
                continue
            }
            let refusals = try await StatusChangeRules.refusals(moving: contract, to: .placedWithAgent, evidence: .init(), overridden: [],
                                                          store: store, mappings: mappings, on: today)
            guard refusals.isEmpty else {
                result.refused.append((number, refusals.map(\.description).joined(separator: "; ")))
                continue
            }
            accepted.append((contract, try await store.notices(contractNumber: number)))
        }
        guard !accepted.isEmpty else { return result }

        var rows: [[String]] = []
        for (contract, notices) in accepted { rows.append(try await row(contract, notices: notices, agent: agent)) }
        let text = CSVText.render(header: agent.placementColumns.map(\.header), rows: rows)
        let sha = SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
        for (contract, _) in accepted { result.totals[contract.currency.code, default: 0] += contract.openBalance.minorUnits }
        // Named by content: re-writing the same placement after a crash lands on the same file.
        let fileName = "\(name)-\(today)-\(sha.prefix(12)).csv"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let manifest = Manifest(agent: name, file: fileName, rows: rows.count, totalsMinorUnits: result.totals, sha256: sha,
                                createdAt: now().description, createdBy: user.name)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Self.writeAtomically(Data(text.utf8), to: directory + "/" + fileName)
        try Self.writeAtomically(try encoder.encode(manifest), to: directory + "/" + fileName + ".manifest.json")

        // The guards passed above; the status changes and the placement are stored together.
        let changes = accepted.map { contract, _ in
            StatusChange(id: 0, contractNumber: contract.contractNumber, to: .placedWithAgent, reasonCode: reasonCode, effectiveDate: today,
                         courtOrderReference: nil, expectedVersion: contract.version, requestedBy: user.name, requestedAt: now(),
                         state: .queued, overrides: [])
        }
        try await store.queuePlacement(agent: name, fileName: fileName, changes: changes, by: user.name, at: now())
        result.file = directory + "/" + fileName
        result.manifest = directory + "/" + fileName + ".manifest.json"
        result.placed = changes.map(\.contractNumber)
        result.sha256 = sha
        return result
    }

    /// Takes accounts back from the agent: refused while a payment plan is active or a payment the agent
    /// collected has not reached MILES yet, unless `force`; each
    /// recalled account gets a status change back to defaulted, and the agent a recall file.
    public func recall(agent name: String, contractNumbers: [String], force: Bool, by user: CollectionsUser, reasonCode: String,
                       directory: String) async throws -> Result {
        guard mappings.agents[name] != nil else { throw PlacementError(.unknownAgent, input: name, "no agent '\(name)' in mappings/third-party") }
        var result = Result()
        var recalled: [String] = []
        let desk = ContractDesk(store: store, mappings: mappings, now: now)
        for number in contractNumbers {
            guard try await store.activePlacement(contractNumber: number) == name, let contract = try await store.contract(number: number) else {
                result.refused.append((number, "not placed with \(name)"))
                continue
            }
            if !force, mappings.statusCodes.internalStatus(forMilesCode: contract.statusCode) == .paymentPlan {
                result.refused.append((number, "a payment plan is active: recalling would disrupt it (use --force to recall anyway)"))
                continue
            }
            if !force, let payment = try await store.paymentsInTransit(contractNumber: number).first {
                result.refused.append((number, "a payment is in transit: \(payment.agent) collected \(payment.amount) on \(payment.paidOn) "
                    + "(\(payment.agentReference)) and MILES does not show it yet (use --force to recall anyway)"))
                continue
            }
            do {
                _ = try await desk.requestStatusChange(contractNumber: number, to: .defaulted, reasonCode: reasonCode, effectiveDate: now().date,
                                                 by: user, overrides: [:])
                recalled.append(number)
            } catch {
                result.refused.append((number, "\(error)"))
            }
        }
        guard !recalled.isEmpty else { return result }
        let text = CSVText.render(header: ["AccountRef", "Instruction"], rows: recalled.map { [$0, "RECALL"] })
        let sha = SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
        let fileName = "\(name)-recall-\(now().date)-\(sha.prefix(12)).csv"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try Self.writeAtomically(Data(text.utf8), to: directory + "/" + fileName)
        try await store.recordRecall(agent: name, contractNumbers: recalled, forced: force, by: user.name, at: now())
        result.file = directory + "/" + fileName
        result.placed = recalled
        result.sha256 = sha
        return result
    }

    struct Manifest: Codable {
        var agent: String
        var file: String
        var rows: Int
        var totalsMinorUnits: [String: Int64]
        var sha256: String
        var createdAt: String
        var createdBy: String
    }

    private func row(_ contract: Contract, notices: ContractNotices, agent: AgentMapping) async throws -> [String] {
        let customer = contract.customer
        let holds = try await store.holds(contractNumber: contract.contractNumber).filter { $0.isActive(on: now().date) }
        return agent.placementColumns.map { column in
            switch column.field {
            case .contractNumber: return contract.contractNumber
            case .partnerId: return customer.partnerId
            case .customerName: return customer.name
            case .addressLine1: return customer.address.line1
            case .addressLine2: return customer.address.line2 ?? ""
            case .town: return customer.address.town
            case .postcode: return customer.address.postcode
            case .country: return customer.address.country
            case .phone: return customer.phones.first ?? ""
            case .email: return customer.email ?? ""
            case .balanceMinorUnits: return String(contract.openBalance.minorUnits)
            case .currency: return contract.currency.code
            case .delinquencyDate: return contract.arrears.oldestUnpaidDueDate?.description ?? ""
            case .defaultDate: return notices.defaultNotice?.served.description ?? ""
            case .lastPaymentDate: return contract.lastPaymentDate?.description ?? ""
            case .statuteBarredDate:
                return contract.lastPaymentDate.map {
                    CollectionsGuards.statuteBarredDate(lastPaymentOrAcknowledgement: $0, address: customer.address).description
                } ?? ""
            case .vulnerable: return customer.vulnerable ? "Y" : "N"
            case .holds: return holds.map(\.kind.rawValue).joined(separator: ";")
            case .assignmentNoticeSent: return "N"
            }
        }
    }

    /// The file written whole or not at all; a failure is a placement error naming the file.
    private static func writeAtomically(_ data: Data, to path: String) throws(PlacementError) {
        do { try AtomicFile.write(data, to: path) } catch { throw PlacementError(.fileNotWritten, input: path, error.description) }
    }
}
