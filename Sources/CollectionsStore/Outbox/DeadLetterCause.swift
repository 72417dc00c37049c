/// Why the relay gave an outbox entry up, which decides what follows for the writes that depend on it.
public enum DeadLetterCause: String, Sendable {
    /// MILES answered and refused the write: it does not hold it.
    case refusedByMiles
    /// The relay gave it up without MILES refusing it (its record or a code is missing, a guard refuses
    /// it now, or MILES's answer stayed unknown): an earlier attempt may have reached MILES.
    case givenUp
}
