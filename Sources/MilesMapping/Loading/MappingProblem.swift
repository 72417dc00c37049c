/// One mistake in a mapping file, with where it is.
public struct MappingProblem: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case syntax
        case unknownKey
        case unknownModelField
        case missingField
        case pathNotInSchema
        case duplicateCode
        case unknownInternalValue
        case invalidValue
    }

    public let file: String
    public let line: Int
    public let kind: Kind
    public let message: String

    public init(file: String, line: Int, kind: Kind, message: String) {
        self.file = file
        self.line = line
        self.kind = kind
        self.message = message
    }

    /// `mappings/contract.yaml:12: unknown model field 'customer.nmae'`: the form editors jump to.
    public var description: String { "\(file):\(line): \(message)" }
}

/// The mapping files could not be used; every problem found is listed, not just the first.
public struct MappingCheckFailure: Error, Sendable, CustomStringConvertible {
    public let problems: [MappingProblem]

    public var description: String {
        (["mapping check failed with \(problems.count) problem\(problems.count == 1 ? "" : "s"):"]
            + problems.map { "  \($0)" }).joined(separator: "\n")
    }
}
