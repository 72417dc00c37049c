import CollectionsDomain
import Foundation

/// Every mapping file of `mappings/`, loaded and checked together.
///
/// ```swift
/// let mappings = try MappingSet.load(directory: "mappings")   // throws MappingCheckFailure listing every problem
/// let decoder = mappings.contractDecoder
/// ```
public struct MappingSet: Sendable {
    public let directory: String
    public let contract: ContractMapping
    public let statusCodes: StatusCodeMapping
    public let authorityMatrix: AuthorityMatrix
    /// When a customer is becoming risky, from `risk-rules.yaml`.
    public let riskRules: RiskRules
    /// External agents by name, from `third-party/*.yaml`.
    public let agents: [String: AgentMapping]
    /// The bank accounts whose statements are read, with their matching rules, from `bank/*.yaml`;
    /// none when the folder is absent.
    public let bank: BankRules
    /// The contract decoder, compiled once from `contract` and `statusCodes`.
    public let contractDecoder: CompiledContractDecoder

    /// Loads and checks `contract.yaml`, `status-codes.yaml`, `authority-matrix.yaml`, `risk-rules.yaml`, `third-party/*.yaml` and
    /// `bank/*.yaml` under `directory`; the schema is `wsdl/` below it. Throws with every problem found, each with file and line.
    public static func load(directory: String) throws(MappingCheckFailure) -> MappingSet {
        var problems: [MappingProblem] = []
        let contractFile = YAMLFile.load(path: directory + "/contract.yaml", displayName: display(directory, "contract.yaml"), problems: &problems)
        let statusFile = YAMLFile.load(path: directory + "/status-codes.yaml", displayName: display(directory, "status-codes.yaml"), problems: &problems)
        let matrixFile = YAMLFile.load(path: directory + "/authority-matrix.yaml", displayName: display(directory, "authority-matrix.yaml"),
                                       problems: &problems)
        let authorityMatrix = matrixFile.flatMap { AuthorityMatrixLoader.load($0, problems: &problems) }
        let riskFile = YAMLFile.load(path: directory + "/risk-rules.yaml", displayName: display(directory, "risk-rules.yaml"), problems: &problems)
        let riskRules = riskFile.flatMap { RiskRulesLoader.load($0, problems: &problems) }
        let agents = AgentMapping.loadAll(directory: directory, displayDirectory: display(directory, "").dropLastSlash, problems: &problems)
        let bankRules = BankRulesLoader.loadAll(directory: directory, displayDirectory: display(directory, "").dropLastSlash, problems: &problems)
        let contract = contractFile.flatMap { ContractMapping.load($0, schemaDirectory: directory + "/wsdl", problems: &problems) }
        let statusCodes = statusFile.flatMap { StatusCodeMapping.load($0, contract: contract, problems: &problems) }
        guard problems.isEmpty, let contract, let statusCodes, let authorityMatrix, let riskRules else {
            throw MappingCheckFailure(problems: problems.sorted { ($0.file, $0.line) < ($1.file, $1.line) })
        }
        return MappingSet(
            directory: directory, contract: contract, statusCodes: statusCodes, authorityMatrix: authorityMatrix, riskRules: riskRules, agents: agents,
            bank: bankRules,
            contractDecoder: CompiledContractDecoder(contract: contract, statusCodes: statusCodes))
    }

    private static func display(_ directory: String, _ file: String) -> String {
        let trimmed = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        return trimmed + "/" + file
    }
}

private extension String {
    var dropLastSlash: String { hasSuffix("/") ? String(dropLast()) : self }
}
