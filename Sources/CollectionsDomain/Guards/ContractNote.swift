/// A note for the contract file in MILES: what was done or learned, by whom, from where.
public struct ContractNote: Sendable, Equatable {
    public enum State: String, Sendable {
        case queued
        case added
        case failed
    }

    public var id: Int64
    public var contractNumber: String
    public var category: String
    public var text: String
    /// Who the note comes from: a user, or an agent's file.
    public var source: String
    public var requestedBy: String
    public var requestedAt: Timestamp
    public var state: State
    public var milesNoteId: String?

    /// The longest text MILES takes (AddContractNote/Text's maxLength in miles-collections.xsd), in characters.
    public static let maxTextLength = 4_000
    /// The longest category MILES takes (the schema's Code), in characters.
    public static let maxCategoryLength = 32
    /// The longest contact-detail value MILES takes (the schema's NonEmptyText), in characters.
    public static let maxContactValueLength = 512

    public init(id: Int64, contractNumber: String, category: String, text: String, source: String, requestedBy: String,
                requestedAt: Timestamp, state: State, milesNoteId: String? = nil) {
        self.id = id
        self.contractNumber = contractNumber
        self.category = category
        self.text = text
        self.source = source
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.state = state
        self.milesNoteId = milesNoteId
    }

    public var clientReference: String { OutboxKind.addContractNote.clientReference(forSubject: id) }
}
