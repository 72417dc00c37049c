/// A change the store refused or a record it could not find, with the record it was about.
/// Callers match on `code`; `description` is the sentence to show a person.
///
/// ```swift
/// catch let error as StoreError where error.code == .changedMeanwhile { … read it again … }
/// ```
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CustomStringConvertible {
        /// The record does not exist.
        case notFound
        /// The record is not in a state that allows the change.
        case wrongState
        /// The record changed since the caller read it; read it again and decide again.
        case changedMeanwhile
        /// The stored record holds a value this version of the adapter does not know.
        case corruptRecord

        public var description: String { rawValue }
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
