import Logging

/// Wraps a log handler so that secrets never reach the log at any level, and customers' personal
/// data (names, addresses, phones, emails, bank details) is masked unless a debugging session asked
/// for it with `--log-personal-data`.
///
/// Code logs personal data only as metadata under `customer.*` (or `name`, `address`, `phone`,
/// `email`, `bankAccount`, `sortCode`, `iban`) keys, which are masked whole. Free text (messages and
/// other metadata values) is scrubbed of email addresses, UK phone numbers and the known secret
/// values, in case an error message carries one.
///
/// ```swift
/// let policy = RedactionPolicy(logPersonalData: false, secrets: [password])
/// let logger = Logger(label: "miles-adapter.sync") { RedactingLogHandler(inner: StreamLogHandler.standardError(label: $0), policy: policy) }
/// ```
public struct RedactingLogHandler: LogHandler {
    private var inner: any LogHandler
    public let policy: RedactionPolicy
    /// The logger's own metadata as set, redacted only when an event is written: a server sets
    /// some on every request (its id) and writes few of them at the levels people run.
    private var ownMetadata: Logger.Metadata = [:]
    /// Kept here rather than in the inner handler, which would add what it provides unredacted.
    private var provider: Logger.MetadataProvider?

    public init(inner: any LogHandler, policy: RedactionPolicy) {
        self.inner = inner
        self.policy = policy
        provider = inner.metadataProvider
        self.inner.metadataProvider = nil
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: policy.scrub(event.message.description))
        let metadata = (provider?.get() ?? [:]).merging(ownMetadata) { $1 }.merging(event.metadata ?? [:]) { $1 }
        event.metadata = metadata.isEmpty ? nil : policy.redact(metadata)
        if let error = event.error {
            event.error = nil
            event.metadata = (event.metadata ?? [:]).merging(["error": .string(policy.scrub("\(error)"))]) { $1 }
        }
        inner.log(event: event)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { ownMetadata[key] }
        set { ownMetadata[key] = newValue }
    }

    public var metadata: Logger.Metadata {
        get { ownMetadata }
        set { ownMetadata = newValue }
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { provider }
        set { provider = newValue }
    }
}

/// What the log may show.
public struct RedactionPolicy: Sendable {
    /// Show personal data (a debugging session's explicit choice); secrets stay hidden regardless.
    public var logPersonalData: Bool
    /// Values that must never appear: the MILES password, agents' tokens.
    public var secrets: [String]
    /// Mask IBANs in free text too. Off for the log and the terminal, where the IBAN an operator must
    /// act on is the lessor's own (an account mappings/bank does not configure); on for the bank
    /// entries a page shows, where an IBAN is a payer's.
    public var masksBankAccounts: Bool

    public init(logPersonalData: Bool, secrets: [String], masksBankAccounts: Bool = false) {
        self.logPersonalData = logPersonalData
        // A very short "secret" would blank out ordinary text; such a value is no secret anyway.
        self.secrets = secrets.filter { $0.count >= 4 }
        self.masksBankAccounts = masksBankAccounts
    }

    static let personalKeys: Set<String> = ["name", "address", "phone", "phones", "email", "bankaccount", "sortcode", "iban"]
    static let secretFragments = ["password", "token", "secret", "authorization", "nonce"]

    public func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        metadata.reduce(into: [:]) { result, item in result[item.key] = redact(key: item.key, item.value) }
    }

    func redact(key: String, _ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        let lowered = key.lowercased()
        if Self.secretFragments.contains(where: lowered.contains) { return "‹redacted›" }
        if !logPersonalData, lowered.hasPrefix("customer.") || Self.personalKeys.contains(lowered) { return "‹personal›" }
        switch value {
        case let .string(text): return .string(scrub(text))
        case let .stringConvertible(convertible): return .string(scrub(convertible.description))
        case let .array(values): return .array(values.map { redact(key: key, $0) })
        case let .dictionary(values): return .dictionary(values.reduce(into: [:]) { $0[$1.key] = redact(key: $1.key, $1.value) })
        }
    }

    // Built once: a regex literal is parsed again each time it is evaluated.
    nonisolated(unsafe) private static let email = /[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}/
    nonisolated(unsafe) private static let phone = /(?:\+44 ?|\b0)\d{2,4}[ \-]?\d{3,4}[ \-]?\d{3,6}\b/
    /// An IBAN, written whole or in groups of four, in capitals or not (payers type it as they like):
    /// country, check digits, then 11 to 30 more (the shortest, Norway's, is 15 in all: a 12-character
    /// group of a UUID in a path is no IBAN).
    nonisolated(unsafe) private static let iban =
        /\b[A-Za-z]{2}\d{2}(?:(?: ?[A-Za-z0-9]{4}){3,7}(?: ?[A-Za-z0-9]{1,3})?|(?: ?[A-Za-z0-9]{4}){2} ?[A-Za-z0-9]{3})\b/
    /// A UK sort code (`20-20-15`, `20 20 15`, `202015`) and the eight-digit account number after it,
    /// perhaps with "a/c" or "acc" between. Which of these are masked: `maskingUKAccounts`.
    nonisolated(unsafe) private static let ukAccount =
        /\b(\d{2})([- ]?)(\d{2})[- ]?(\d{2})(?:[ ,\/\-]{1,3}|\s*(?:a\/c|acc(?:ount)?)[ :.]*)(\d{8})\b/.ignoresCase()
    /// Words that say a sort code or an account number follows.
    private static let accountCues = ["sort", "s/c", "a/c", "acc"]

    /// Whether `text` (letters upper case, no spaces) is an IBAN by ISO 13616's check: the first four
    /// characters moved to the end, letters as 10 to 35, the number modulo 97 is 1. A creditor
    /// reference (RF, ISO 11649) passes the same check and is what a person matches payments on, so it is not one.
    static func isIBAN(_ text: String) -> Bool {
        guard !text.hasPrefix("RF"), text.count >= 15 else { return false }
        var remainder = 0
        for character in text.dropFirst(4) + text.prefix(4) {
            guard let value = character.isNumber ? character.wholeNumberValue : character.asciiValue.map({ Int($0) - 55 }) else { return false }
            remainder = (remainder * (value >= 10 ? 100 : 10) + value) % 97
        }
        return remainder == 1
    }

    /// `written` (a match of `iban`) with its longest leading part that is an IBAN masked: the pattern
    /// may take in a short word after the account ("BE68 5390 0754 7034 paid"), which fails the check.
    static func maskedIBAN(_ written: String) -> String {
        var end = written.endIndex
        while true {
            let account = written[..<end].filter { $0 != " " }.uppercased()
            if isIBAN(account) { return "‹account …\(account.suffix(4))›" + written[end...] }
            guard let space = written[..<end].lastIndex(of: " ") else { return written }
            end = space
        }
    }

    /// `text` with its UK sort codes and account numbers masked where they are surely that: after a
    /// word that says so ("sort code", "s/c", "a/c", "acc"), or written `20-20-15` where that is no
    /// day and month (`03-12-25 20251203` is as likely a date and a reference). Left as written: six
    /// and eight digits with no such word, which are as often an invoice and a contract number.
    static func maskingUKAccounts(_ text: String) -> String {
        var masked = ""
        var copied = text.startIndex
        for match in text.matches(of: ukAccount) {
            let lookBack = text.index(match.range.lowerBound, offsetBy: -24, limitedBy: text.startIndex) ?? text.startIndex
            let cued = accountCues.contains(where: text[lookBack..<match.range.lowerBound].lowercased().contains)
            let (day, month) = (Int(match.output.1) ?? 0, Int(match.output.3) ?? 0)
            let hyphenated = match.output.2 == "-"
            guard cued || (hyphenated && !((1...31).contains(day) && (1...12).contains(month))) else { continue }
            masked += text[copied..<match.range.lowerBound] + "‹account …\(match.output.5.suffix(4))›"
            copied = match.range.upperBound
        }
        return masked + text[copied...]
    }

    /// Free text with the secrets, and unless allowed email addresses, phone numbers and (when
    /// `masksBankAccounts`) IBANs and UK sort codes with their account numbers masked; an account keeps
    /// its last four characters, by which a person can still tell accounts apart.
    public func scrub(_ text: String) -> String {
        var text = text
        for secret in secrets where text.contains(secret) { text = text.replacing(secret, with: "‹redacted›") }
        guard !logPersonalData else { return text }
        if text.contains("@") { text = text.replacing(Self.email, with: "‹email›") }
        guard text.contains(where: \.isNumber) else { return text }
        if masksBankAccounts {
            text = text.replacing(Self.iban) { match in Self.maskedIBAN(String(match.output)) }
            text = Self.maskingUKAccounts(text)
        }
        return text.replacing(Self.phone, with: "‹phone›")
    }
}
