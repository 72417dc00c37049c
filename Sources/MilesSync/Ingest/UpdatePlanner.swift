import CollectionsDomain
import CollectionsStore
import MilesMapping

/// Decides what each update does, against the stored contract.
struct UpdatePlanner: Sendable {
    let store: any ContractStore & ContractActionStore & PlacementStore
    let mappings: MappingSet
    let agent: String
    let placed: Set<String>
    let today: LocalDate
    let now: CollectionsClock

    init(store: any ContractStore & ContractActionStore & PlacementStore, mappings: MappingSet, agent: String, placed: Set<String>, today: LocalDate, now: CollectionsClock) {
        self.store = store
        self.mappings = mappings
        self.agent = agent
        self.placed = placed
        self.today = today
        self.now = now
    }

    /// Whether the row's effect is decided on the contract's stored status, holds or customer.
    func readsState(_ record: AgentFileParser.Record) -> Bool {
        guard case let .update(update, _) = record else { return false }
        switch update.kind {
        case .status, .traceResult: return true
        case .paymentCollected, .vehicleRecovered, .soldAtAuction, .note: return false
        }
    }

    func plan(_ record: AgentFileParser.Record) async throws -> IngestRow {
        switch record {
        case let .error(error):
            return .rejected(line: error.line, column: error.column, value: error.value, reason: error.reason)
        case let .update(update, line):
            let column = mappings.agents[agent]?.updates?.fields[.contractNumber] ?? "contractNumber"
            guard placed.contains(update.contractNumber) else {
                let reason = try await store.contract(number: update.contractNumber) == nil
                    ? "no contract \(update.contractNumber) in the store" : "contract \(update.contractNumber) is not placed with \(agent)"
                return .rejected(line: line, column: column, value: update.contractNumber, reason: reason)
            }
            let details = update.kind.summary
            let text = noteText(details)
            guard text.count <= ContractNote.maxTextLength || !makesNotes else {
                return .rejected(line: line, column: mappings.agents[agent]?.updates?.fields[.note] ?? "note", value: "",
                                 reason: "the contract note this makes is \(text.count) characters, over the \(ContractNote.maxTextLength) MILES "
                                     + "takes (AddContractNote); nothing from this row was applied")
            }
            return .update(update, line: line, details: details, effects: try await effects(of: update, details: details))
        }
    }

    /// The text of the contract note an update makes: the agent, then what it said.
    private func noteText(_ details: String) -> String { "\(agent): \(details)" }

    /// Whether this MILES takes notes (contract.yaml maps AddContractNote).
    private var makesNotes: Bool { mappings.contract.refusal(for: .outbox(.addContractNote)) == nil }

    /// The note for the contract file in MILES, or none when this MILES takes no notes: the stored
    /// update is then the record, and the row queues no call that would sit in the outbox unsendable
    /// and hold back every push.
    private func note(_ update: ThirdPartyUpdate, _ details: String, category: String) -> ContractNote? {
        guard makesNotes else { return nil }
        return ContractNote(id: 0, contractNumber: update.contractNumber, category: category, text: noteText(details),
                     source: "\(agent) \(update.source)", requestedBy: "agent:\(agent)", requestedAt: now(), state: .queued)
    }

    private func effects(of update: ThirdPartyUpdate, details: String) async throws -> IngestEffects {
        switch update.kind {
        case .paymentCollected:
            return IngestEffects(note: note(update, details, category: mappings.statusCodes.agentPaymentNoteCategory))
        case .note, .vehicleRecovered, .soldAtAuction:
            return IngestEffects(note: note(update, details, category: mappings.statusCodes.agentNoteCategory))
        case let .traceResult(address, phone, email, _):
            if let unmapped = mappings.contract.refusal(for: .outbox(.updateContactDetails)) {
                return IngestEffects(refusal: "the new contact details cannot be sent to this MILES, so they are kept here for the team: \(unmapped)")
            }
            guard let contract = try await store.contract(number: update.contractNumber) else { return IngestEffects(refusal: "the contract is gone") }
            let change = ContactChange(id: 0, contractNumber: update.contractNumber, partnerId: contract.customer.partnerId,
                                       expectedVersion: contract.customer.version, address: address, phone: phone, email: email,
                                       source: "\(agent) \(update.source)", requestedBy: "agent:\(agent)", requestedAt: now())
            return IngestEffects(contactChange: change)
        case let .status(status, on):
            var effects = try await statusEffects(status, on: on, update, details)
            // What the agent reported may make the customer risky (risk-rules.yaml agentStatuses).
            if effects.refusal == nil {
                effects.alert = mappings.riskRules.agentReportAlert(contractNumber: update.contractNumber, agent: agent, status: status, on: on)
            }
            return effects
        }
    }

    private func statusEffects(_ status: AgentStatus, on: LocalDate, _ update: ThirdPartyUpdate, _ details: String) async throws -> IngestEffects {
            switch status {
            case .deceased: return try await hold(.deceased, update, details)
            case .bankrupt: return try await hold(.insolvency, update, details)
            case .disputed: return try await hold(.dispute, update, details)
            case .activePlan:
                // A plan is agreed under the matrix, affordable against the customer's income and expenditure: the agent's
                // report is kept for the team to propose, never applied as a status change of its own.
                return IngestEffects(note: note(update, details, category: mappings.statusCodes.agentNoteCategory),
                                     reportedArrangement: ReportedArrangement(id: 0, contractNumber: update.contractNumber, agent: agent,
                                                                              reportedOn: on, details: details, source: update.source, proposal: nil))
            case .legalProcess: return try await statusChange(update, details, to: .legal, on: on)
            case .paidInFull, .settledInFull, .hold, .enforcement, .recalled, .writtenOff:
                return IngestEffects(note: note(update, details, category: mappings.statusCodes.agentNoteCategory))
            }
    }

    /// A hold the agent's news requires, the pause it means for the agent the account is placed
    /// with, and a note for the contract file.
    private func hold(_ kind: ContractHold.Kind, _ update: ThirdPartyUpdate, _ details: String) async throws -> IngestEffects {
        let hold = ContractHold(kind: kind, reason: "\(agent) reports: \(details) (\(update.source))", setBy: "agent:\(agent)", setOn: today)
        let placedWith = try await store.activePlacement(contractNumber: update.contractNumber)
        return IngestEffects(hold: hold, note: note(update, details, category: mappings.statusCodes.agentNoteCategory),
                             instruction: AgentInstruction.pause(placedWith: placedWith, contractNumber: update.contractNumber, for: hold),
                             placedWith: placedWith)
    }

    /// A status change through the transition table and the guards; a refusal keeps the update for the team.
    /// The reason code comes from status-codes.yaml (`defaultReasons`).
    private func statusChange(_ update: ThirdPartyUpdate, _ details: String, to target: ContractStatus, on: LocalDate) async throws -> IngestEffects {
        guard let contract = try await store.contract(number: update.contractNumber) else { return IngestEffects(refusal: "the contract is gone") }
        if mappings.statusCodes.internalStatus(forMilesCode: contract.statusCode) == target {
            return IngestEffects(note: note(update, details, category: mappings.statusCodes.agentNoteCategory))
        }
        if let unmapped = mappings.contract.refusal(for: .outbox(.updateContractStatus)) {
            return IngestEffects(refusal: "the status change to \(target.rawValue) cannot be sent to this MILES, so the update is kept here for the team: \(unmapped)")
        }
        guard let reasonCode = mappings.statusCodes.defaultReasons[target] else {
            return IngestEffects(refusal: "status-codes.yaml defaultReasons has no reason code for \(target.rawValue)")
        }
        let refusals = try await StatusChangeRules.refusals(moving: contract, to: target, evidence: .init(), overridden: [], store: store,
                                                      mappings: mappings, on: today)
        guard refusals.isEmpty else { return IngestEffects(refusal: refusals.map(\.description).joined(separator: "; ")) }
        let change = StatusChange(id: 0, contractNumber: update.contractNumber, to: target, reasonCode: reasonCode, effectiveDate: on,
                                  courtOrderReference: nil, expectedVersion: contract.version, requestedBy: "agent:\(agent)",
                                  requestedAt: now(), state: .queued, overrides: [])
        return IngestEffects(statusChange: change, note: note(update, details, category: mappings.statusCodes.agentNoteCategory))
    }
}
