import Foundation
import Yams

/// A YAML mapping file read with line numbers kept, so every complaint can say where.
struct YAMLFile {
    let path: String
    let displayName: String
    let text: String
    let root: Node?

    /// Reads and composes the file; a syntax error becomes a problem at its line.
    static func load(path: String, displayName: String, problems: inout [MappingProblem]) -> YAMLFile? {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            problems.append(MappingProblem(file: displayName, line: 0, kind: .syntax, message: "cannot read the file (missing, or not UTF-8)"))
            return nil
        }
        do {
            return YAMLFile(path: path, displayName: displayName, text: text, root: try Yams.compose(yaml: text))
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            for key in duplicates {
                let line = secondOccurrence(of: key, in: text) ?? context.mark.line
                problems.append(MappingProblem(file: displayName, line: line, kind: .duplicateCode,
                                               message: "'\(key)' appears twice in the same section"))
            }
            return nil
        } catch let error as YamlError {
            problems.append(MappingProblem(file: displayName, line: YAMLFile.line(of: error), kind: .syntax, message: "YAML syntax: \(error)"))
            return nil
        } catch {
            problems.append(MappingProblem(file: displayName, line: 0, kind: .syntax, message: "YAML syntax: \(error)"))
            return nil
        }
    }

    func problem(_ node: Node?, _ kind: MappingProblem.Kind, _ message: String) -> MappingProblem {
        MappingProblem(file: displayName, line: node?.mark?.line ?? 0, kind: kind, message: message)
    }

    /// Yams reports the first of two duplicate keys; the editor needs the second.
    private static func secondOccurrence(of key: String, in text: String) -> Int? {
        var seen = false
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop(while: { $0 == " " || $0 == "-" })
            guard trimmed.hasPrefix(key) else { continue }
            let rest = trimmed.dropFirst(key.count).drop(while: { $0 == " " || $0 == "\"" || $0 == "'" })
            guard rest.hasPrefix(":") else { continue }
            if seen { return index + 1 }
            seen = true
        }
        return nil
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case let .scanner(_, _, mark, _): return mark.line
        case let .parser(_, _, mark, _): return mark.line
        case let .composer(_, _, mark, _): return mark.line
        default: return 0
        }
    }
}

extension Node {
    /// The pairs of a mapping node in file order, or `nil` if this is not a mapping.
    var orderedPairs: [(key: Node, value: Node)]? {
        guard case let .mapping(mapping) = self else { return nil }
        return mapping.map { ($0.key, $0.value) }
    }

    subscript(key name: String) -> Node? {
        orderedPairs?.first(where: { $0.key.string == name })?.value
    }
}
