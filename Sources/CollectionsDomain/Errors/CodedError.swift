/// An error callers match on by its `code`, carrying the input that caused it and the sentence to
/// show a person. The adapter's errors above MilesSOAP are this shape (after `SOAPCallError`), each
/// with its own `Code` enum:
///
/// ```swift
/// public enum IngestErrorCode: String, Sendable { case unknownAgent, … }
/// public typealias IngestError = CodedError<IngestErrorCode>
///
/// catch let error as IngestError where error.code == .unknownAgent { print(error.input) }
/// ```
public struct CodedError<Code: RawRepresentable & Hashable & Sendable>: Error, Sendable, Equatable, CustomStringConvertible
where Code.RawValue == String {
    public let code: Code
    /// What caused it, as the person gave it or names it: an agent, a file, `write-off request 12`.
    public let input: String
    /// The whole sentence: what failed, on which input, and what would do.
    public let description: String

    public init(_ code: Code, input: String, _ description: String) {
        self.code = code
        self.input = input
        self.description = description
    }
}
