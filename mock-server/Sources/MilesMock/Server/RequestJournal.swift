/// One request the mock received, as the admin journal shows it.
public struct JournalEntry: Codable, Sendable, Equatable {
    public var sequence: Int
    public var service: String
    public var operation: String
    public var parameters: [String: String]
    /// `ok`, `fault:CODE` or `http:STATUS`.
    public var outcome: String
}

/// The most recent requests, bounded so a long soak cannot exhaust memory.
struct RequestJournal: Sendable {
    let capacity: Int
    private(set) var entries: [JournalEntry] = []
    private var sequence = 0

    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    mutating func record(service: String, operation: String, parameters: [String: String], outcome: String) {
        sequence += 1
        if entries.count == capacity { entries.removeFirst(capacity / 10) }
        entries.append(JournalEntry(sequence: sequence, service: service, operation: operation, parameters: parameters, outcome: outcome))
    }

    mutating func clear() { entries.removeAll() }
}
