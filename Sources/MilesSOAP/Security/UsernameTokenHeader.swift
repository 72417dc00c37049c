import Crypto
import Foundation

/// The WS-Security header MILES requires on every call: a UsernameToken, after a `wsu:Timestamp`
/// when the credentials ask for one (`MilesCredentials.timestampTimeToLive`).
///
/// With `.digest` (the default) the password never travels:
/// `PasswordDigest = Base64(SHA-1(nonce + created + password))`, with a fresh nonce and the
/// creation time, so a captured header cannot be replayed after the server has seen its nonce.
///
/// ```swift
/// let header = UsernameTokenHeader(credentials: credentials)   // fresh nonce, created now
/// try header.write(into: &writer)
/// ```
public struct UsernameTokenHeader: Sendable {
    public let credentials: MilesCredentials
    public let nonce: [UInt8]
    public let created: String
    /// Written first in the header, as WS-SecurityPolicy's "timestamp first" layouts expect.
    public let timestamp: SecurityTimestamp?

    /// A header with a random 16-byte nonce, created `now`, with the Timestamp the credentials ask for.
    public init(credentials: MilesCredentials, now: Date = Date()) {
        var generator = SystemRandomNumberGenerator()
        self.init(credentials: credentials, nonce: (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) },
                  created: UsernameTokenHeader.timestamp(now),
                  timestamp: credentials.timestampTimeToLive.map { SecurityTimestamp(created: now, timeToLive: $0) })
    }

    public init(credentials: MilesCredentials, nonce: [UInt8], created: String, timestamp: SecurityTimestamp? = nil) {
        self.credentials = credentials
        self.nonce = nonce
        self.created = created
        self.timestamp = timestamp
    }

    /// Base64(SHA-1(nonce + created + password)), the UsernameToken profile 1.0 digest.
    public static func passwordDigest(nonce: [UInt8], created: String, password: String) -> String {
        var hash = Insecure.SHA1()
        hash.update(data: nonce)
        hash.update(data: Array(created.utf8))
        hash.update(data: Array(password.utf8))
        return Data(hash.finalize()).base64EncodedString()
    }

    /// `2026-11-29T18:00:00.123Z`, the form of wsu:Created; the same instant as a Timestamp's Created.
    public static func timestamp(_ date: Date) -> String {
        SecurityTimestamp.text(millisecondsSinceEpoch: SecurityTimestamp.milliseconds(date))
    }

    public func write(into writer: inout XMLWriter) throws(XMLWriter.InvalidCharacter) {
        try writer.open("wsse:Security", attributes: [
            "xmlns:wsse": SOAPNamespaces.wsse, "xmlns:wsu": SOAPNamespaces.wsu, "soapenv:mustUnderstand": "1",
        ])
        try timestamp?.write(into: &writer)
        writer.open("wsse:UsernameToken")
        try writer.element("wsse:Username", credentials.username)
        switch credentials.passwordType {
        case .digest:
            try writer.open("wsse:Password", attributes: ["Type": SOAPNamespaces.passwordDigest])
            try writer.text(UsernameTokenHeader.passwordDigest(nonce: nonce, created: created, password: credentials.password))
        case .text:
            try writer.open("wsse:Password", attributes: ["Type": SOAPNamespaces.passwordText])
            try writer.text(credentials.password, element: "wsse:Password")
        }
        writer.close("wsse:Password")
        try writer.open("wsse:Nonce", attributes: ["EncodingType": SOAPNamespaces.base64Binary])
        try writer.text(Data(nonce).base64EncodedString())
        writer.close("wsse:Nonce")
        try writer.element("wsu:Created", created)
        writer.close("wsse:UsernameToken")
        writer.close("wsse:Security")
    }
}
