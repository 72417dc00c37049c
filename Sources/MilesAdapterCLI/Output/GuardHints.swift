import CollectionsDomain
import MilesMapping

/// How a refused rule can be satisfied from this command line, added under a refusal so a
/// message only offers what the adapter can do.
enum GuardHints {
    /// The hint for the rule a refusal's text names (`[RULE] …`), if the command line has a way.
    static func hint(for refusal: String, contractNumber: String, mappings: MappingSet) -> String? {
        guard refusal.hasPrefix("["), let end = refusal.firstIndex(of: "]") else { return nil }
        let rule = String(refusal[refusal.index(after: refusal.startIndex)..<end])
        let override = mappings.authorityMatrix.guardOverrideRoles[rule].map {
            "; or set it aside with --override \(rule)=REASON (\($0.name) or above, audited)"
        } ?? ""
        switch rule {
        case CollectionsGuards.protectedGoods:
            return "here: --court-order REFERENCE, --customer-consent 'what shows it' or --abandoned 'what shows it' (recorded and audited)"
        case CollectionsGuards.defaultNoticeRule:
            return "here: 'miles-adapter contract notice \(contractNumber) --letter defaultNotice' asks MILES to serve one (or "
                + "'--default-served DATE --remedy DATE' records one MILES served before)" + override
        case CollectionsGuards.holdRule:
            return "here: 'miles-adapter contract hold \(contractNumber) --type KIND --lift --reason …' lifts a recorded hold" + override
        case CollectionsGuards.ombudsmanRule:
            return "here: 'miles-adapter contract hold \(contractNumber) --type ombudsmanComplaint --lift --reason …' once the Ombudsman has decided"
        case "status-mapping":
            return "here: add the code to status-codes.yaml, then 'miles-adapter mappings check'"
        default:
            return nil
        }
    }

    /// The refusals, each followed by its hint.
    static func lines(_ refusals: [String], contractNumber: String, mappings: MappingSet) -> [String] {
        refusals.flatMap { refusal in
            ["  \(refusal)"] + (hint(for: refusal, contractNumber: contractNumber, mappings: mappings).map { ["    \($0)"] } ?? [])
        }
    }
}
