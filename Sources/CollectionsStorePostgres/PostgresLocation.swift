import CollectionsDomain
import CollectionsStore
import Foundation
import PostgresNIO

/// Where the PostgreSQL store is: `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]`.
/// The password never sits in the URL (a URL ends up in logs and process lists): it comes from the
/// environment or a file, and is given here separately.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable {
        /// Plain TCP: loopback or a private network only.
        case disable
        /// TLS when the server offers it.
        case prefer
        /// TLS or no connection, with the server's certificate checked.
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var database: String
    public var tls: TLSMode
    var password: String?

    /// Whether `database` names a PostgreSQL store rather than an SQLite file.
    public static func isPostgres(_ database: String) -> Bool {
        database.hasPrefix("postgres://") || database.hasPrefix("postgresql://")
    }

    /// `url` with anything between `user:` and `@` masked: what an error may show of a URL that holds a password.
    public static func withoutPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@"),
              let colon = url[scheme.upperBound..<at].firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    /// Reads the URL; a URL with a password in it is refused, with where the password goes instead.
    public init(url: String, password: String?) throws(StoreError) {
        let shown = Self.withoutPassword(url)
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
              let host = parts.host, !host.isEmpty, let username = parts.user, !username.isEmpty else {
            throw StoreError(.unusableLocation, input: shown, "'\(shown)' is not a PostgreSQL URL like postgres://adapter@db.example.com:5432/collections")
        }
        guard parts.password == nil else {
            throw StoreError(.unusableLocation, input: "postgres://\(username)@\(host)",
                             "the PostgreSQL URL holds a password: leave it out and set MILES_ADAPTER_DATABASE_PASSWORD (or its file) instead")
        }
        let database = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        guard !database.isEmpty else {
            throw StoreError(.unusableLocation, input: shown, "'\(shown)' names no database: end it with /DATABASE")
        }
        let mode = parts.queryItems?.first { $0.name == "sslmode" }?.value ?? TLSMode.prefer.rawValue
        guard let tls = TLSMode(rawValue: mode) else {
            throw StoreError(.unusableLocation, input: shown, "sslmode=\(mode) is not one of disable, prefer, require")
        }
        self.host = host
        self.port = parts.port ?? 5432
        self.username = username
        self.database = database
        self.tls = tls
        self.password = password
    }

    /// The URL without the password, as logs and errors may show it.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)" }

    var clientConfiguration: PostgresClient.Configuration {
        let tlsConfiguration: PostgresClient.Configuration.TLS = switch tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
        return PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tlsConfiguration)
    }
}
