import AgentAPI
import HTTPServing
import Foundation
import MilesSOAP
import MilesSync
import Yams

/// The adapter's configuration: a YAML file (`--config`, or `miles-adapter.yaml` in the current
/// folder if present) overridden by `MILES_ADAPTER_*` environment variables. The password comes
/// only from `MILES_ADAPTER_PASSWORD` or a password file, never from a flag or the YAML itself.
struct AdapterConfiguration {
    struct File: Decodable {
        struct Miles: Decodable {
            var endpoint: String?
            var username: String?
            var passwordFile: String?
            var passwordType: String?
            var connectTimeoutSeconds: Int?
            var requestTimeoutSeconds: Int?
            var verifyTLS: Bool?
            var caBundle: String?
            var clientCertificate: String?
            var clientKey: String?
            /// Retryable failures in a row that stop the calls to a MILES service, and for how long.
            var circuitBreakerFailures: Int?
            var circuitBreakerOpenSeconds: Int?
        }

        struct Sync: Decodable {
            var pageSize: Int?
            var maxAttempts: Int?
        }

        var miles: Miles?
        var sync: Sync?
        /// The person the CLI acts as (overridden by MILES_ADAPTER_USER).
        var user: String?
        /// Each user's role in the authority matrix.
        var users: [String: String]?
        var database: String?
        var mappings: String?
        /// Where agents' deliveries are kept whole.
        var inbox: String?
        var agentAPI: AgentAPI?

        /// `miles-adapter serve`: where it listens and each agent's token hash.
        struct AgentAPI: Decodable {
            var host: String?
            var port: Int?
            var maxBodyBytes: Int?
            var requestsPerMinute: Int?
            var failedAuthenticationsPerMinute: Int?
            var maxConnections: Int?
            var headerTimeoutSeconds: Int?
            var bodyTimeoutSeconds: Int?
            var idleTimeoutSeconds: Int?
            var answerWithinSeconds: Int?
            /// Agent name to the hex SHA-256 of its bearer token (`miles-adapter serve new-token` makes one).
            var tokenHashes: [String: String]?
        }
    }

    var endpoint: String?
    var username: String?
    var passwordFile: String?
    var passwordType: MilesCredentials.PasswordType = .digest
    var connectTimeout: Duration = .seconds(10)
    var requestTimeout: Duration = .seconds(120)
    var verifyTLS = true
    var caBundle: String?
    var clientCertificate: String?
    var clientKey: String?
    var circuitBreaker = CircuitBreaker.Configuration()
    var pageSize = 500
    var maxAttempts = 5
    var database = "collections.sqlite"
    /// The mappings folder as configured (`mappings:`, relative to the configuration file, or
    /// MILES_ADAPTER_MAPPINGS, relative to the current folder); nil to search for it (`mappingsDirectory`).
    var mappings: String?
    /// Which setting `mappings` came from, for errors.
    private var mappingsSetting = ""
    /// The folder of the configuration file read, if any.
    private var configurationDirectory: String?
    var inbox = "inbox"
    var agentAPI = AgentAPIConfiguration(tokenHashes: [:])
    var user: String?
    var users: [String: String] = [:]
    /// Set only from the environment.
    private var password: String?
    private var personalTokenValue: String?
    private var personalTokenFile: String?

    static let defaultFile = "miles-adapter.yaml"

    /// Reads the file (if any), then the environment.
    static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AdapterConfiguration {
        var configuration = AdapterConfiguration()
        let filePath = path ?? (FileManager.default.fileExists(atPath: defaultFile) ? defaultFile : nil)
        if let filePath {
            guard let data = FileManager.default.contents(atPath: filePath) else {
                throw ConfigurationError("cannot read the configuration file \(filePath)")
            }
            let file: File
            do {
                file = try YAMLDecoder().decode(File.self, from: data)
            } catch {
                throw ConfigurationError("\(filePath): \(error)")
            }
            configuration.configurationDirectory = ((filePath as NSString).deletingLastPathComponent as NSString).standardizingPath
            try configuration.apply(file, source: filePath)
        }
        try configuration.apply(environment: environment)
        return configuration
    }

    private mutating func apply(_ file: File, source: String) throws {
        endpoint = file.miles?.endpoint ?? endpoint
        username = file.miles?.username ?? username
        passwordFile = file.miles?.passwordFile ?? passwordFile
        if let type = file.miles?.passwordType { passwordType = try Self.passwordType(type, source: "\(source): miles.passwordType") }
        if let seconds = file.miles?.connectTimeoutSeconds { connectTimeout = .seconds(seconds) }
        if let seconds = file.miles?.requestTimeoutSeconds { requestTimeout = .seconds(seconds) }
        verifyTLS = file.miles?.verifyTLS ?? verifyTLS
        caBundle = file.miles?.caBundle ?? caBundle
        clientCertificate = file.miles?.clientCertificate ?? clientCertificate
        clientKey = file.miles?.clientKey ?? clientKey
        if let failures = file.miles?.circuitBreakerFailures {
            guard failures > 0 else { throw ConfigurationError("\(source): miles.circuitBreakerFailures must be above 0") }
            circuitBreaker.threshold = failures
        }
        if let seconds = file.miles?.circuitBreakerOpenSeconds {
            guard seconds > 0 else { throw ConfigurationError("\(source): miles.circuitBreakerOpenSeconds must be above 0") }
            circuitBreaker.openFor = .seconds(seconds)
        }
        pageSize = file.sync?.pageSize ?? pageSize
        maxAttempts = file.sync?.maxAttempts ?? maxAttempts
        database = file.database ?? database
        if let folder = file.mappings {
            mappings = folder.hasPrefix("/") ? folder : ((configurationDirectory ?? ".") as NSString).appendingPathComponent(folder)
            mappingsSetting = "mappings: in \(source)"
        }
        inbox = file.inbox ?? inbox
        if let api = file.agentAPI {
            agentAPI.host = api.host ?? agentAPI.host
            agentAPI.port = api.port ?? agentAPI.port
            agentAPI.maxBodyBytes = api.maxBodyBytes ?? agentAPI.maxBodyBytes
            agentAPI.requestsPerMinute = api.requestsPerMinute ?? agentAPI.requestsPerMinute
            agentAPI.tokenHashes = api.tokenHashes ?? agentAPI.tokenHashes
            agentAPI.failedAuthenticationsPerMinute = api.failedAuthenticationsPerMinute ?? agentAPI.failedAuthenticationsPerMinute
            agentAPI.maxConnections = api.maxConnections ?? agentAPI.maxConnections
            agentAPI.deadlines.header = api.headerTimeoutSeconds.map { .seconds($0) } ?? agentAPI.deadlines.header
            agentAPI.deadlines.body = api.bodyTimeoutSeconds.map { .seconds($0) } ?? agentAPI.deadlines.body
            agentAPI.deadlines.idle = api.idleTimeoutSeconds.map { .seconds($0) } ?? agentAPI.deadlines.idle
            agentAPI.answerWithin = api.answerWithinSeconds.map { .seconds($0) } ?? agentAPI.answerWithin
            let positive = [api.maxBodyBytes, api.requestsPerMinute, api.failedAuthenticationsPerMinute, api.maxConnections, api.headerTimeoutSeconds,
                            api.bodyTimeoutSeconds, api.idleTimeoutSeconds, api.answerWithinSeconds].allSatisfy { ($0 ?? 1) > 0 }
            guard positive, (0...65_535).contains(agentAPI.port) else {
                throw ConfigurationError("\(source): agentAPI's limits and timeouts must be above 0, and port 0–65535")
            }
        }
        user = file.user ?? user
        users = file.users ?? users
    }

    private mutating func apply(environment: [String: String]) throws {
        func integer(_ name: String) throws -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text), value > 0 else { throw ConfigurationError("\(name)='\(text)' must be a whole number above 0") }
            return value
        }
        endpoint = environment["MILES_ADAPTER_ENDPOINT"] ?? endpoint
        username = environment["MILES_ADAPTER_USERNAME"] ?? username
        passwordFile = environment["MILES_ADAPTER_PASSWORD_FILE"] ?? passwordFile
        password = environment["MILES_ADAPTER_PASSWORD"]
        personalTokenValue = environment["MILES_ADAPTER_TOKEN"]
        personalTokenFile = environment["MILES_ADAPTER_TOKEN_FILE"]
        if let type = environment["MILES_ADAPTER_PASSWORD_TYPE"] {
            passwordType = try Self.passwordType(type, source: "MILES_ADAPTER_PASSWORD_TYPE")
        }
        pageSize = try integer("MILES_ADAPTER_PAGE_SIZE") ?? pageSize
        maxAttempts = try integer("MILES_ADAPTER_MAX_ATTEMPTS") ?? maxAttempts
        if let seconds = try integer("MILES_ADAPTER_CONNECT_TIMEOUT") { connectTimeout = .seconds(seconds) }
        if let seconds = try integer("MILES_ADAPTER_REQUEST_TIMEOUT") { requestTimeout = .seconds(seconds) }
        database = environment["MILES_ADAPTER_DATABASE"] ?? database
        if let folder = environment["MILES_ADAPTER_MAPPINGS"] {
            mappings = folder
            mappingsSetting = "MILES_ADAPTER_MAPPINGS"
        }
        inbox = environment["MILES_ADAPTER_INBOX"] ?? inbox
        agentAPI.port = try integer("MILES_ADAPTER_API_PORT") ?? agentAPI.port
        user = environment["MILES_ADAPTER_USER"] ?? user
    }

    /// The mappings folder: the one configured, or else the first with a contract.yaml of, in order,
    /// `mappings/` beside the configuration file, the installed share folder
    /// (`PREFIX/share/miles-adapter/mappings`, beside `PREFIX/bin/miles-adapter`) and `./mappings`.
    func mappingsDirectory() throws -> String {
        if let mappings {
            guard FileManager.default.fileExists(atPath: mappings + "/contract.yaml") else {
                throw ConfigurationError("\(mappingsSetting) names \(mappings), which has no contract.yaml: point it at the adapter's mappings folder")
            }
            return mappings
        }
        var candidates: [String] = []
        if let configurationDirectory { candidates.append((configurationDirectory as NSString).appendingPathComponent("mappings")) }
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            candidates.append(executable.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("share/miles-adapter/mappings").path)
        }
        candidates.append("mappings")
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "/contract.yaml") }) else {
            throw ConfigurationError("no mappings folder found (looked in \(candidates.joined(separator: ", "))): set mappings: in "
                                     + "\(Self.defaultFile) or MILES_ADAPTER_MAPPINGS to the adapter's mappings folder")
        }
        return found
    }

    /// A person's token for the command line, from MILES_ADAPTER_TOKEN or the file MILES_ADAPTER_TOKEN_FILE names.
    func personalToken() throws -> String? {
        if let token = personalTokenValue, !token.isEmpty { return token }
        guard let path = personalTokenFile else { return nil }
        guard let data = FileManager.default.contents(atPath: path),
              let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            throw ConfigurationError("MILES_ADAPTER_TOKEN_FILE=\(path) cannot be read, or is empty")
        }
        return text
    }

    /// Values no log line may show: the MILES password and a personal token, from wherever they come.
    var secrets: [String] {
        var values = [password, personalTokenValue].compactMap { $0 }
        if let passwordFile, let data = FileManager.default.contents(atPath: passwordFile),
           let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .newlines) {
            values.append(text)
        }
        return values
    }

    /// The name of the person acting; fails with what to set.
    func actingUser() throws -> String {
        guard let user, !user.isEmpty else {
            throw ConfigurationError("no user: set 'user:' in \(Self.defaultFile) or MILES_ADAPTER_USER to the person acting")
        }
        return user
    }

    private static func passwordType(_ text: String, source: String) throws -> MilesCredentials.PasswordType {
        guard let type = MilesCredentials.PasswordType(rawValue: text) else {
            throw ConfigurationError("\(source)='\(text)' must be 'digest' or 'text'")
        }
        return type
    }

    /// The connection to MILES; fails with what to set when something is missing.
    func connection() throws -> MilesConnection {
        guard let endpoint, !endpoint.isEmpty else {
            throw ConfigurationError("no MILES endpoint: set miles.endpoint in \(Self.defaultFile) or MILES_ADAPTER_ENDPOINT")
        }
        guard let username, !username.isEmpty else {
            throw ConfigurationError("no MILES username: set miles.username in \(Self.defaultFile) or MILES_ADAPTER_USERNAME")
        }
        let secret: String
        if let password, !password.isEmpty {
            secret = password
        } else if let passwordFile {
            guard let data = FileManager.default.contents(atPath: passwordFile),
                  let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .newlines), !text.isEmpty else {
                throw ConfigurationError("cannot read a password from the password file \(passwordFile)")
            }
            secret = text
        } else {
            throw ConfigurationError("no MILES password: set MILES_ADAPTER_PASSWORD or MILES_ADAPTER_PASSWORD_FILE (never a flag)")
        }
        return MilesConnection(
            endpoint: endpoint, credentials: MilesCredentials(username: username, password: secret, passwordType: passwordType),
            transport: HTTPTransportConfiguration(
                connectTimeout: connectTimeout, requestTimeout: requestTimeout, verifyTLS: verifyTLS,
                caBundlePath: caBundle, clientCertificatePath: clientCertificate, clientKeyPath: clientKey),
            circuitBreaker: circuitBreaker)
    }
}

/// The configuration is unusable; the message says what to set.
struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
