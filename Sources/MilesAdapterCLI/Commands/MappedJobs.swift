import CollectionsDomain
import CollectionsStore
import MilesMapping

/// The start-of-job check: work that needs MILES operations the mapping does not map (this MILES
/// does not offer them) is refused with exit code 4, naming what is missing, before MILES is called.
enum MappedJobs {
    /// Refuses when the mapping does not enable every one of `jobs`. `CommandSession` runs it before
    /// it opens the store, so a refused command touches nothing.
    static func require(_ jobs: [MilesJob], in mappings: MappingSet) throws(CommandFailure) {
        let refusals = jobs.compactMap { mappings.contract.refusal(for: $0) }
        guard !refusals.isEmpty else { return }
        throw CommandFailure(message: refusals.map(\.description).joined(separator: "; "), exitCode: .mappings)
    }

    /// `push`: refused, before any entry is claimed or MILES called, while the outbox holds entries
    /// waiting to be sent (pending, or left sending) of a kind the mapping cannot send. A push that sent
    /// the others would leave those waiting for ever, unseen; the refusal names them and the way out.
    /// The store is read only when the mapping leaves some kind out.
    static func requirePushable(_ store: any OutboxStore, mappings: MappingSet) async throws {
        let refusals = Dictionary(uniqueKeysWithValues: OutboxKind.allCases.compactMap { kind in
            mappings.contract.refusal(for: .outbox(kind)).map { (kind, $0) }
        })
        guard !refusals.isEmpty else { return }
        let waiting = try await store.outboxEntries(state: .pending) + store.outboxEntries(state: .sending)
        let blocked = Dictionary(grouping: waiting.filter { refusals[$0.kind] != nil }, by: \.kind)
        guard !blocked.isEmpty else { return }
        let kinds = blocked.keys.sorted { $0.rawValue < $1.rawValue }.map { kind in
            let entries = blocked[kind] ?? []
            return "\(entries.count) \(MilesJob.outbox(kind).name) (queue \(entries.map { String($0.id) }.joined(separator: ", "))) "
                + "need \(refusals[kind]?.missing ?? "")"
        }
        throw CommandFailure(
            message: "push refused, nothing sent: the outbox holds entries this MILES cannot be sent, as contract.yaml does not map "
                + "what they need: " + kinds.joined(separator: "; ")
                + ". Map it (then 'miles-adapter mappings check'), or set each aside with 'miles-adapter outbox skip ID --reason TEXT'",
            exitCode: .mappings)
    }
}
