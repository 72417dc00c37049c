import Foundation
import MilesMapping

/// `miles-adapter --version`: this build's version, and the MILES contract the mappings in use pin
/// (the namespace of `contract.yaml`, which names the WSDL's version).
enum AdapterVersion {
    static let number = "0.2.0"

    static func describe(environment: [String: String] = ProcessInfo.processInfo.environment) async -> String {
        let contract: String
        do {
            let configuration = try await AdapterConfiguration.load(path: nil, environment: environment)
            let directory = try configuration.mappingsDirectory()
            let mappings = try MappingSet.load(directory: directory)
            contract = "\(mappings.contract.namespace) (mappings in \(directory))"
        } catch {
            contract = "unknown: \(error)"
        }
        return "miles-adapter \(number)\nMILES contract: \(contract)"
    }
}
