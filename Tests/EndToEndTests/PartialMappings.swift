import Foundation
import MilesMapping
import TestSupport

/// The repository's mappings copied into `folder`, with the named operations (contract.yaml keys
/// such as `addContractNote`) left out, as a MILES that does not offer them is mapped.
func partialMappings(in folder: String, leavingOut operations: Set<String>) throws -> MappingSet {
    try FileManager.default.copyItem(atPath: repositoryMappings, toPath: folder + "/mappings")
    try leaveOut(operations, ofContractMappingAt: folder + "/mappings/contract.yaml")
    return try MappingSet.load(directory: folder + "/mappings")
}
