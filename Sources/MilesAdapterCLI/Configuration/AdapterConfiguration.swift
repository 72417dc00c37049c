import AgentAPI
import CollectionsDomain
import CollectionsStorePostgres
import Configuration
import Foundation
import HTTPServing
import MilesSOAP
import MilesSync
import SystemPackage
import Yams

/// The adapter's configuration, read through apple/swift-configuration from, highest first:
///
/// 1. the environment: every key as `MILES_ADAPTER_` and the key in capitals with underscores
///    (`miles.requestTimeoutSeconds` is `MILES_ADAPTER_MILES_REQUEST_TIMEOUT_SECONDS`), and the
///    short names of the common keys (`MILES_ADAPTER_ENDPOINT`, `MILES_ADAPTER_REQUEST_TIMEOUT`, …);
/// 2. the secrets folder (`MILES_ADAPTER_SECRETS_DIR`, or `secretsDirectory:` in the file): one
///    file per key, named after it with dashes (`miles-password`, `token`);
/// 3. the YAML file (`--config`, or `miles-adapter.yaml` in the current folder if present);
/// 4. the defaults.
///
/// Secrets (the MILES password, a personal token) come only from the environment, the secrets
/// folder or a file they name, never from the YAML file or a flag.
struct AdapterConfiguration {
    /// The YAML file's shape: decoded once to refuse a file with a value of the wrong type, with the
    /// line, and for `agentAPI.tokenHashes`, a map the key-value providers do not carry.
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
            /// Whether each call's WS-Security header carries a wsu:Timestamp, and how long it says the call stays valid.
            var timestamp: Bool?
            var timestampTimeToLiveSeconds: Int?
        }

        struct Sync: Decodable {
            var pageSize: Int?
            var maxAttempts: Int?
        }

        var miles: Miles?
        var sync: Sync?
        /// The person the CLI acts as (overridden by MILES_ADAPTER_USER).
        var user: String?
        /// No longer read: people and their roles live in the store. Kept to warn about it.
        var users: [String: String]?
        var database: String?
        var mappings: String?
        /// Where agents' deliveries are kept whole.
        var inbox: String?
        /// Where imported bank statements are kept whole.
        var statements: String?
        var secretsDirectory: String?
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
    var timestamp = true
    var timestampTimeToLive: Duration = .seconds(300)
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
    var statements = "statements"
    var agentAPI = AgentAPIConfiguration(tokenHashes: [:])
    var user: String?
    var users: [String: String] = [:]
    /// Set only from the environment or the secrets folder.
    private var password: String?
    private var personalTokenValue: String?
    private var personalTokenFile: String?
    /// The PostgreSQL store's password (a secret), or the file that holds it.
    private var databasePassword: String?
    private var databasePasswordFile: String?

    static let defaultFile = "miles-adapter.yaml"

    /// The short environment names of the common keys, kept beside the long ones.
    static let shortNames: [String: String] = [
        "miles.endpoint": "MILES_ADAPTER_ENDPOINT", "miles.username": "MILES_ADAPTER_USERNAME",
        "miles.password": "MILES_ADAPTER_PASSWORD", "miles.passwordFile": "MILES_ADAPTER_PASSWORD_FILE",
        "miles.passwordType": "MILES_ADAPTER_PASSWORD_TYPE", "miles.connectTimeoutSeconds": "MILES_ADAPTER_CONNECT_TIMEOUT",
        "miles.requestTimeoutSeconds": "MILES_ADAPTER_REQUEST_TIMEOUT", "sync.pageSize": "MILES_ADAPTER_PAGE_SIZE",
        "sync.maxAttempts": "MILES_ADAPTER_MAX_ATTEMPTS", "agentAPI.port": "MILES_ADAPTER_API_PORT",
        "tokenFile": "MILES_ADAPTER_TOKEN_FILE",
    ]


    /// The environment variable that sets `key`: `MILES_ADAPTER_` and the key in capitals, words apart.
    static func environmentName(of key: String) -> String {
        let words = key.split(separator: ".").map { component in
            component.reduce(into: "") { name, character in
                if character.isUppercase, let last = name.last, last.isLowercase { name.append("_") }
                name.append(character)
            }
        }
        return "MILES_ADAPTER_" + words.joined(separator: "_").uppercased()
    }

    /// Where `key` can be set, for an error that says what to change.
    static func sources(of key: String) -> String {
        ([environmentName(of: key)] + (shortNames[key].map { [$0] } ?? [])).joined(separator: " or ") + ", or \(key) in the file"
    }

    /// Reads the environment, the secrets folder and the file (if any), in that order of precedence.
    static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> AdapterConfiguration {
        var configuration = AdapterConfiguration()
        let filePath = path ?? (FileManager.default.fileExists(atPath: defaultFile) ? defaultFile : nil)
        var file: File?
        if let filePath {
            guard let data = FileManager.default.contents(atPath: filePath) else {
                throw ConfigurationError("cannot read the configuration file \(filePath)")
            }
            do {
                file = try YAMLDecoder().decode(File.self, from: data)
            } catch {
                throw ConfigurationError("\(filePath): \(error)")
            }
            configuration.configurationDirectory = ((filePath as NSString).deletingLastPathComponent as NSString).standardizingPath
        }
        let secretKeys: Set<String> = ["MILES_ADAPTER_MILES_PASSWORD", "MILES_ADAPTER_PASSWORD", "MILES_ADAPTER_TOKEN"]
        let variables = EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: .specific(secretKeys))
        var secretSources: [any ConfigProvider] = [
            KeyMappingProvider(upstream: variables) { AbsoluteConfigKey(["milesAdapter"] + $0.components) },
            KeyMappingProvider(upstream: variables) { key in
                // A key without a short name looks up one no environment has.
                AbsoluteConfigKey(shortNames[key.components.joined(separator: ".")].map { [$0] } ?? ["milesAdapter", "noShortName"])
            },
        ]
        let secretsDirectory = environment["MILES_ADAPTER_SECRETS_DIR"] ?? file?.secretsDirectory
        if let secretsDirectory {
            guard FileManager.default.fileExists(atPath: secretsDirectory) else {
                throw ConfigurationError("the secrets folder \(secretsDirectory) (MILES_ADAPTER_SECRETS_DIR or secretsDirectory:) does not exist")
            }
            secretSources.append(try await DirectoryFilesProvider(directoryPath: FilePath(secretsDirectory)))
        }
        let secrets = ConfigReader(providers: secretSources)
        var providers = secretSources
        if let filePath {
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(filePath)))
            } catch {
                throw ConfigurationError("\(filePath): \(error)")
            }
        }
        let reader = ConfigReader(providers: providers)
        try configuration.apply(Settings(reader: reader), secrets: Settings(reader: secrets), file: file, filePath: filePath)
        return configuration
    }

    /// The settings as strings, parsed and checked here so an error names the key and where to set it.
    struct Settings {
        let reader: ConfigReader

        func string(_ key: String, isSecret: Bool = false) -> String? {
            reader.string(forKey: ConfigKey(key.split(separator: ".").map(String.init)), isSecret: isSecret)
        }

        func positive(_ key: String) throws -> Int? {
            guard let text = string(key) else { return nil }
            guard let value = Int(text), value > 0 else {
                throw ConfigurationError("\(key)='\(text)' must be a whole number above 0 (set by \(AdapterConfiguration.sources(of: key)))")
            }
            return value
        }

        func seconds(_ key: String) throws -> Duration? { try positive(key).map { .seconds($0) } }

        func bool(_ key: String) throws -> Bool? {
            guard let text = string(key) else { return nil }
            guard let value = Bool(text.lowercased()) else {
                throw ConfigurationError("\(key)='\(text)' must be true or false (set by \(AdapterConfiguration.sources(of: key)))")
            }
            return value
        }
    }

    private mutating func apply(_ settings: Settings, secrets: Settings, file: File?, filePath: String?) throws {
        endpoint = settings.string("miles.endpoint")
        username = settings.string("miles.username")
        passwordFile = settings.string("miles.passwordFile")
        password = secrets.string("miles.password", isSecret: true)
        personalTokenValue = secrets.string("token", isSecret: true)
        personalTokenFile = settings.string("tokenFile")
        if let type = settings.string("miles.passwordType") {
            guard let parsed = MilesCredentials.PasswordType(rawValue: type) else {
                throw ConfigurationError("miles.passwordType='\(type)' must be 'digest' or 'text' (set by \(Self.sources(of: "miles.passwordType")))")
            }
            passwordType = parsed
        }
        connectTimeout = try settings.seconds("miles.connectTimeoutSeconds") ?? connectTimeout
        requestTimeout = try settings.seconds("miles.requestTimeoutSeconds") ?? requestTimeout
        verifyTLS = try settings.bool("miles.verifyTLS") ?? verifyTLS
        caBundle = settings.string("miles.caBundle")
        clientCertificate = settings.string("miles.clientCertificate")
        clientKey = settings.string("miles.clientKey")
        circuitBreaker.threshold = try settings.positive("miles.circuitBreakerFailures") ?? circuitBreaker.threshold
        circuitBreaker.openFor = try settings.seconds("miles.circuitBreakerOpenSeconds") ?? circuitBreaker.openFor
        timestamp = try settings.bool("miles.timestamp") ?? timestamp
        timestampTimeToLive = try settings.seconds("miles.timestampTimeToLiveSeconds") ?? timestampTimeToLive
        pageSize = try settings.positive("sync.pageSize") ?? pageSize
        maxAttempts = try settings.positive("sync.maxAttempts") ?? maxAttempts
        database = settings.string("database") ?? database
        databasePassword = secrets.string("databasePassword", isSecret: true)
        databasePasswordFile = settings.string("databasePasswordFile")
        inbox = settings.string("inbox") ?? inbox
        statements = settings.string("statements") ?? statements
        user = settings.string("user")
        users = file?.users ?? [:]
        // A folder from the file is relative to the file; one from the environment to the current folder.
        if let folder = file?.mappings, let filePath {
            mappings = folder.hasPrefix("/") ? folder : ((configurationDirectory ?? ".") as NSString).appendingPathComponent(folder)
            mappingsSetting = "mappings: in \(filePath)"
        }
        if let folder = secrets.string("mappings") {
            mappings = folder
            mappingsSetting = Self.environmentName(of: "mappings")
        }
        agentAPI.host = settings.string("agentAPI.host") ?? agentAPI.host
        if let port = settings.string("agentAPI.port") {
            guard let value = Int(port), (0...65_535).contains(value) else {
                throw ConfigurationError("agentAPI.port='\(port)' must be a port, 0–65535 (set by \(Self.sources(of: "agentAPI.port")))")
            }
            agentAPI.port = value
        }
        agentAPI.maxBodyBytes = try settings.positive("agentAPI.maxBodyBytes") ?? agentAPI.maxBodyBytes
        agentAPI.requestsPerMinute = try settings.positive("agentAPI.requestsPerMinute") ?? agentAPI.requestsPerMinute
        agentAPI.failedAuthenticationsPerMinute = try settings.positive("agentAPI.failedAuthenticationsPerMinute")
            ?? agentAPI.failedAuthenticationsPerMinute
        agentAPI.maxConnections = try settings.positive("agentAPI.maxConnections") ?? agentAPI.maxConnections
        agentAPI.deadlines.header = try settings.seconds("agentAPI.headerTimeoutSeconds") ?? agentAPI.deadlines.header
        agentAPI.deadlines.body = try settings.seconds("agentAPI.bodyTimeoutSeconds") ?? agentAPI.deadlines.body
        agentAPI.deadlines.idle = try settings.seconds("agentAPI.idleTimeoutSeconds") ?? agentAPI.deadlines.idle
        agentAPI.answerWithin = try settings.seconds("agentAPI.answerWithinSeconds") ?? agentAPI.answerWithin
        agentAPI.tokenHashes = file?.agentAPI?.tokenHashes ?? [:]
        // From the environment or the secrets folder: AGENT=HASH pairs, comma-separated.
        if let pairs = secrets.string("agentAPI.tokenHashes") {
            var hashes: [String: String] = [:]
            for pair in pairs.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw ConfigurationError("agentAPI.tokenHashes holds '\(pair)', not AGENT=HASH (set by \(Self.sources(of: "agentAPI.tokenHashes")))")
                }
                hashes[parts[0]] = parts[1]
            }
            agentAPI.tokenHashes = hashes
        }
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

    /// The PostgreSQL store's location when `database` is a `postgres://` URL, with its password.
    func postgresLocation() throws -> PostgresLocation? {
        guard PostgresLocation.isPostgres(database) else { return nil }
        var secret = databasePassword
        if secret == nil, let databasePasswordFile {
            guard let data = FileManager.default.contents(atPath: databasePasswordFile),
                  let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .newlines), !text.isEmpty else {
                throw ConfigurationError("cannot read the database password from \(databasePasswordFile) (databasePasswordFile)")
            }
            secret = text
        }
        do { return try PostgresLocation(url: database, password: secret) } catch { throw ConfigurationError(error.description) }
    }

    /// Values no log line may show: the MILES password, a personal token and the database's password, from wherever they come.
    var secrets: [String] {
        var values = [password, personalTokenValue, databasePassword].compactMap { $0 }
        for file in [passwordFile, databasePasswordFile, personalTokenFile].compactMap({ $0 }) {
            if let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) {
                values.append(text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        return values.filter { !$0.isEmpty }
    }

    /// The name of the person acting; fails with what to set.
    func actingUser() throws -> String {
        guard let user, !user.isEmpty else {
            throw ConfigurationError("no user: set 'user:' in \(Self.defaultFile) or MILES_ADAPTER_USER to the person acting")
        }
        return user
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
            throw ConfigurationError("no MILES password: set MILES_ADAPTER_PASSWORD or MILES_ADAPTER_PASSWORD_FILE, or put it in the "
                                     + "secrets folder as miles-password (never in the file, never a flag)")
        }
        return MilesConnection(
            endpoint: endpoint,
            credentials: MilesCredentials(username: username, password: secret, passwordType: passwordType,
                                          timestampTimeToLive: timestamp ? timestampTimeToLive : nil),
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
