import CollectionsDomain
import Crypto
import Foundation

/// How every store chains its audit log: each entry's hash covers its content and the hash of the
/// one before, so an edited, inserted or deleted entry breaks the chain, and `verify` finds where.
public enum AuditChain {
    /// The "previous hash" of the first entry.
    public static let genesisHash = String(repeating: "0", count: 64)

    public static func hash(previous: String, at: Timestamp, actor: String, action: String, subject: String, details: String) -> String {
        // Fields separated by a character none of them holds, so no two entries hash alike by shifting text.
        let content = [previous, String(at.millisecondsSinceEpoch), actor, action, subject, details].joined(separator: "\u{1F}")
        return SHA256.hash(data: Data(content.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Checks `entries` (in sequence order, read together with `highest`, the highest sequence the
    /// store ever gave out, so a deleted last entry shows); a break an acknowledgement names is passed over.
    public static func verify(_ entries: [AuditEntry], highest: Int64) -> AuditVerification {
        let acknowledged = Set(entries.filter { $0.action == auditAcknowledgementAction }
            .compactMap { Int64($0.subject.dropFirst("audit:".count)) })
        var breaks: [Int64] = []
        /// Passes over an acknowledged break; false for one nobody has acknowledged.
        func passOver(_ sequence: Int64) -> Bool {
            guard acknowledged.contains(sequence) else { return false }
            if breaks.last != sequence { breaks.append(sequence) }
            return true
        }
        var previous = genesisHash
        var expectedSequence: Int64 = 1
        for entry in entries {
            if entry.sequence != expectedSequence {
                guard passOver(expectedSequence) else {
                    return .broken(sequence: expectedSequence, reason: "entry \(expectedSequence) is missing (deleted)")
                }
                previous = entry.previousHash
                expectedSequence = entry.sequence
            }
            if entry.previousHash != previous {
                guard passOver(entry.sequence) else {
                    return .broken(sequence: entry.sequence, reason: "it does not chain to the entry before it")
                }
                previous = entry.previousHash
            }
            let hash = hash(previous: previous, at: entry.at, actor: entry.actor, action: entry.action, subject: entry.subject, details: entry.details)
            if hash != entry.hash, !passOver(entry.sequence) {
                return .broken(sequence: entry.sequence, reason: "its content was changed after it was written")
            }
            previous = entry.hash
            expectedSequence += 1
        }
        if highest >= expectedSequence, !passOver(expectedSequence) {
            return .broken(sequence: expectedSequence, reason: "entries \(expectedSequence)...\(highest) are missing (deleted)")
        }
        return breaks.isEmpty ? .intact(entries: entries.count) : .acknowledged(entries: entries.count, breaks: breaks)
    }
}
