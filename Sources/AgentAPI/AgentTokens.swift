import Crypto
import Foundation

/// Agents' bearer tokens: configuration holds only their SHA-256, and a presented token is matched
/// against every hash without an early exit, so timing does not reveal how much of a hash matched.
public struct AgentTokens: Sendable {
    private let hashes: [(agent: String, hash: [UInt8])]

    public init(hexHashes: [String: String]) throws(AgentTokenError) {
        var hashes: [(String, [UInt8])] = []
        for (agent, hex) in hexHashes.sorted(by: { $0.key < $1.key }) {
            guard let bytes = Self.bytes(hex: hex), bytes.count == SHA256.byteCount else {
                throw AgentTokenError(description: "the token hash for agent '\(agent)' is not 64 hex digits (a SHA-256)")
            }
            hashes.append((agent, bytes))
        }
        self.hashes = hashes
    }

    /// The agent whose token this is, if any.
    public func agent(presenting token: String) -> String? {
        let presented = Array(SHA256.hash(data: Data(token.utf8)))
        var found: String?
        for (agent, hash) in hashes {
            var difference: UInt8 = 0
            for index in 0..<hash.count { difference |= hash[index] ^ presented[index] }
            if difference == 0 { found = agent }
        }
        return found
    }

    /// The hex SHA-256 to put in configuration for `token`.
    public static func hash(of token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A new random token: 32 bytes from the system's secure generator, base64url.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.lowercased().utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.value(digits[index]), let low = Self.value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}

public struct AgentTokenError: Error, Sendable, CustomStringConvertible {
    public let description: String
}
