import CollectionsDomain

extension ContractHold {
    /// The audit's words when an agent reports a hold of a kind already active: the one standing is kept,
    /// and no second hold or pause is made.
    package static func kept(_ active: ContractHold, reported: ContractHold) -> String {
        "\(reported.kind.rawValue) reported again, not set twice: \(reported.reason); the hold set on \(active.setOn) by \(active.setBy) "
            + "stands (\(active.reason))"
    }
}
