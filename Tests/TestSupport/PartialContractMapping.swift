import Foundation

/// Rewrites the contract.yaml at `path` without the named operations (keys under `operations:` such
/// as `addContractNote`): how a MILES that does not offer them is mapped.
public func leaveOut(_ operations: Set<String>, ofContractMappingAt path: String) throws {
    var kept: [Substring] = [], section: Substring = "", dropping = false
    for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
        if !line.hasPrefix(" "), !line.isEmpty, !line.hasPrefix("#") {
            section = line.prefix { $0 != ":" }
            dropping = false
        } else if section == "operations", line.hasPrefix("  "), !line.hasPrefix("   ") {
            dropping = operations.contains(String(line.dropFirst(2).prefix { $0 != ":" }))
        }
        if !dropping { kept.append(line) }
    }
    try kept.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
}
