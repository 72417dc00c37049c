import CollectionsDomain
import Foundation
import MilesSOAP

/// Checks the WS-Security header on every call as MILES does: known user, right password (digest
/// or text), a Created within five minutes of now, a nonce never seen before, and, when configured
/// to (`MockMilesConfiguration.requireTimestamp`), a wsu:Timestamp that has not expired and was not
/// created ahead of the mock's clock by more than the skew it forgives.
struct MockSecurity: Sendable {
    var users: [String: String]
    var maximumSkew: Int64 = 300
    var requireTimestamp: Bool
    var timestampClockSkewSeconds: Int64
    private var seenNonces: [String: Int64] = [:]

    init(configuration: MockMilesConfiguration) {
        users = configuration.users
        requireTimestamp = configuration.requireTimestamp
        timestampClockSkewSeconds = Int64(configuration.timestampClockSkewSeconds)
    }

    /// `nil` when the header is good; otherwise the fault to answer with.
    mutating func verify(_ token: MockSOAPRequest.UsernameToken?, timestamp: MockSOAPRequest.MessageTimestamp?, now: Date) -> MockFault? {
        guard let token, let username = token.username, let password = token.password else {
            return MockFault(code: "AUTHENTICATION_FAILED", message: "a WS-Security UsernameToken is required")
        }
        if requireTimestamp, let failure = verify(timestamp, now: now) { return failure }
        let nowSeconds = Int64(now.timeIntervalSince1970)
        guard let createdText = token.created, let created = Timestamp.parse(createdText) else {
            return MockFault(code: "CREATED_OUT_OF_RANGE", message: "wsu:Created is missing or not a date-time")
        }
        guard abs(created.millisecondsSinceEpoch / 1000 - nowSeconds) <= maximumSkew else {
            return MockFault(code: "CREATED_OUT_OF_RANGE", message: "wsu:Created \(createdText) is more than 5 minutes from the server's time")
        }
        guard let expected = users[username] else {
            return MockFault(code: "AUTHENTICATION_FAILED", message: "authentication failed")
        }
        switch token.passwordType ?? SOAPNamespaces.passwordText {
        case SOAPNamespaces.passwordDigest:
            guard let nonceText = token.nonce, let nonce = Data(base64Encoded: nonceText),
                  UsernameTokenHeader.passwordDigest(nonce: [UInt8](nonce), created: createdText, password: expected) == password else {
                return MockFault(code: "AUTHENTICATION_FAILED", message: "authentication failed")
            }
        case SOAPNamespaces.passwordText:
            guard password == expected else { return MockFault(code: "AUTHENTICATION_FAILED", message: "authentication failed") }
        default:
            return MockFault(code: "AUTHENTICATION_FAILED", message: "unsupported password type")
        }
        if let nonce = token.nonce {
            seenNonces = seenNonces.filter { nowSeconds - $0.value <= 2 * maximumSkew }
            guard seenNonces.updateValue(nowSeconds, forKey: nonce) == nil else {
                return MockFault(code: "NONCE_REPLAYED", message: "this nonce has been used before")
            }
        }
        return nil
    }

    /// The faults of Oracle- and OSB-style services, under the codes MILES's other security faults use.
    private func verify(_ timestamp: MockSOAPRequest.MessageTimestamp?, now: Date) -> MockFault? {
        guard let timestamp else {
            return MockFault(code: "AUTHENTICATION_FAILED", message: "a WS-Security wsu:Timestamp is required")
        }
        guard let createdText = timestamp.created, let created = Timestamp.parse(createdText),
              let expiresText = timestamp.expires, let expires = Timestamp.parse(expiresText) else {
            return MockFault(code: "AUTHENTICATION_FAILED", message: "wsu:Timestamp needs a wsu:Created and a wsu:Expires date-time")
        }
        let nowMilliseconds = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        guard expires.millisecondsSinceEpoch > nowMilliseconds else {
            return MockFault(code: "CREATED_OUT_OF_RANGE",
                             message: "the message expired at \(expiresText) (wsu:Expires); the server's time is \(Timestamp(millisecondsSinceEpoch: nowMilliseconds))")
        }
        guard created.millisecondsSinceEpoch - nowMilliseconds <= timestampClockSkewSeconds * 1000 else {
            return MockFault(code: "CREATED_OUT_OF_RANGE",
                             message: "wsu:Timestamp's Created \(createdText) is more than \(timestampClockSkewSeconds) s ahead of the server's time")
        }
        return nil
    }
}

/// A fault the mock answers with: MILES's code and message.
struct MockFault: Error, Sendable {
    var code: String
    var message: String
    /// Client faults are the caller's mistake; server faults are MILES's own trouble.
    var isServerFault: Bool = false
}
