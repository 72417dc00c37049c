/// A job, or a call, needs MILES operations or contract fields that `contract.yaml` does not map:
/// that MILES does not expose them, so the job cannot run against it.
///
/// ```swift
/// do { try mappings.contract.require(.contractSync) } catch { print(error.missingOperations) }
/// ```
public struct UnmappedOperationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// An operation the job calls is not under `operations:`.
        case operationNotMapped
        /// Only a contract field the job needs is missing (contact changes without `customer.version`).
        case fieldNotMapped
    }

    public let code: Code
    /// The job refused; nil when a single call was asked for outside any job.
    public let job: MilesJob?
    public let missingOperations: [MilesOperation]
    public let missingFields: [ModelField]

    public init(job: MilesJob?, missingOperations: [MilesOperation], missingFields: [ModelField] = []) {
        code = missingOperations.isEmpty ? .fieldNotMapped : .operationNotMapped
        self.job = job
        self.missingOperations = missingOperations
        self.missingFields = missingFields
    }

    /// What is missing, as `mappings check` and a refusal print it: `FindContracts, customer.version`.
    public var missing: String {
        (missingOperations.map(\.name) + missingFields.map(\.rawValue)).joined(separator: ", ")
    }

    public var description: String {
        let subject = job.map { "'\($0.name)' needs" } ?? "this call needs"
        let operations = missingOperations.map(\.name).joined(separator: ", ")
        let fields = missingFields.map(\.rawValue).joined(separator: ", ")
        let needed = [
            missingOperations.isEmpty ? nil : (missingOperations.count == 1 ? "the MILES operation " : "MILES operations ") + operations,
            missingFields.isEmpty ? nil : (missingFields.count == 1 ? "the contract field " : "the contract fields ") + fields,
        ].compactMap { $0 }.joined(separator: " and ")
        let them = missingOperations.count + missingFields.count == 1 ? "it" : "them"
        return "\(subject) \(needed), not mapped in contract.yaml: this MILES does not offer \(them), or the mapping leaves \(them) out "
            + "('miles-adapter mappings check' lists what each job needs)"
    }
}
