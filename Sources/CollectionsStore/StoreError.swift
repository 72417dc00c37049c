/// A change the store refused or a record it could not find, with the record it was about.
/// Callers match on `code`; `description` is the sentence to show a person.
///
/// ```swift
/// catch let error as StoreError where error.code == .changedMeanwhile { … read it again … }
/// ```
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case notFound, wrongState, changedMeanwhile, corruptRecord
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The record does not exist.
        public static let notFound = Code(.notFound)
        /// The record is not in a state that allows the change.
        public static let wrongState = Code(.wrongState)
        /// The record changed since the caller read it; read it again and decide again.
        public static let changedMeanwhile = Code(.changedMeanwhile)
        /// The stored record holds a value this version of the adapter does not know.
        public static let corruptRecord = Code(.corruptRecord)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The record, as a person names it: `write-off request 12`, `outbox entry 7`.
    public let record: String
    /// The whole sentence, naming the record and what would do.
    public let description: String

    public init(_ code: Code, record: String, _ description: String) {
        self.code = code
        self.record = record
        self.description = description
    }
}
