import CollectionsDomain

/// One row of a delivery, decided: a row-level error, or an update (with `details`, its summary
/// in words, worked out once by whoever decided it) and its effects.
public enum IngestRow: Sendable {
    case rejected(line: Int, column: String, value: String, reason: String)
    case update(ThirdPartyUpdate, line: Int, details: String, effects: IngestEffects)
}
