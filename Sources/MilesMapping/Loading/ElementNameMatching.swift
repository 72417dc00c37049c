/// How the element names in MILES's answers are matched against the mapping's (`elementNames:` in
/// `contract.yaml`).
public enum ElementNameMatching: String, Sendable, CaseIterable {
    /// As XML has it: `ContractNumber` and `contractNumber` are different elements. The default, and
    /// the fastest: the decoder compares interned names.
    case exact
    /// Ignoring case, for a MILES whose answers do not spell names as its own schema does. Only a name
    /// that does not match exactly is looked at again, once per spelling in each answer.
    case anyCase
}
