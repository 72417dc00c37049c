import Foundation
import Logging
import MilesSync
import Testing

/// A log handler that keeps what it is asked to write.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    // @unchecked: `events` is only touched with `lock` held.
    private let lock = NSLock()
    private var events: [(message: String, metadata: Logger.Metadata)] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.lock()
        events.append((event.message.description,
                       (metadataProvider?.get() ?? [:]).merging(metadata) { $1 }.merging(event.metadata ?? [:]) { $1 }))
        lock.unlock()
    }

    var written: [(message: String, metadata: Logger.Metadata)] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }
}

@Suite("Log redaction")
struct RedactionPolicyTests {
    let masked = RedactionPolicy(logPersonalData: false, secrets: ["s3cret-Passw0rd"])
    let open = RedactionPolicy(logPersonalData: true, secrets: ["s3cret-Passw0rd"])

    @Test("secrets are hidden in text and under secret-looking keys, whatever the switch")
    func secrets() {
        for policy in [masked, open] {
            #expect(policy.scrub("login failed for user x with s3cret-Passw0rd") == "login failed for user x with ‹redacted›")
            let metadata = policy.redact(["password": "anything", "Authorization": "Bearer abc", "operation": "FindContracts"])
            #expect(metadata["password"] == "‹redacted›")
            #expect(metadata["Authorization"] == "‹redacted›")
            #expect(metadata["operation"] == "FindContracts")
        }
    }

    @Test("personal data keys are masked, and emails and UK phone numbers scrubbed from text, unless switched on")
    func personalData() {
        let metadata: Logger.Metadata = ["customer.name": "Zoë O'Brien", "email": "zoe@example.org", "contract": "C00000008"]
        #expect(masked.redact(metadata)["customer.name"] == "‹personal›")
        #expect(masked.redact(metadata)["email"] == "‹personal›")
        #expect(masked.redact(metadata)["contract"] == "C00000008")
        #expect(open.redact(metadata)["customer.name"] == "Zoë O'Brien")
        #expect(masked.scrub("write to zoe.obrien@example.org or call 07700 900555 or +44 131 496 0000 about C00000008 (£120.00)")
                == "write to ‹email› or call ‹phone› or ‹phone› about C00000008 (£120.00)")
        #expect(open.scrub("call 07700 900555") == "call 07700 900555")
    }

    @Test("for bank entries shown, IBANs in free text (whole or in groups of four, any case) and UK sort codes with account numbers are masked but for their last four characters; contract and invoice numbers are not; the log keeps them")
    func bankAccounts() {
        let masked = RedactionPolicy(logPersonalData: false, secrets: [], masksBankAccounts: true)
        let open = RedactionPolicy(logPersonalData: true, secrets: [], masksBankAccounts: true)
        #expect(self.masked.scrub("statement for GB33BUKB20201555555555") == "statement for GB33BUKB20201555555555")
        #expect(masked.scrub("payer GB29NWBK60161331926819 paid C00000008; DE44 5001 0517 5407 3249 31 paid INV-2026-117")
                == "payer ‹account …6819› paid C00000008; ‹account …4931› paid INV-2026-117")
        #expect(open.scrub("payer GB29NWBK60161331926819") == "payer GB29NWBK60161331926819")
        #expect(masked.scrub("NO93 8601 1117 947 paid") == "‹account …7947› paid")
        // As payers type them: in small letters, and a UK sort code with its account number.
        #expect(masked.scrub("from gb29 nwbk 6016 1331 9268 19, C00000008") == "from ‹account …6819›, C00000008")
        #expect(masked.scrub("sort code 20-20-15 55555555 / 20-20-15, 55555556 thanks") == "sort code ‹account …5555› / ‹account …5556› thanks")
        #expect(masked.scrub("s/c 202015 a/c 55555557") == "s/c ‹account …5557›")
        // An IBAN whose length is a multiple of four, followed by a short word, is still found.
        #expect(masked.scrub("BE68 5390 0754 7034 paid by Jan") == "‹account …7034› paid by Jan")
        #expect(masked.scrub("BE68539007547034 to C00000008") == "‹account …7034› to C00000008")
        #expect(masked.scrub("from ES91 2100 0418 4502 0005 1332 via") == "from ‹account …1332› via")
        // Eight digits alone, a date and a reference, or six and eight digits with no word saying so, are as often
        // what a person matches on: left alone.
        #expect(masked.scrub("contract 55555555 paid 20-20-15") == "contract 55555555 paid 20-20-15")
        #expect(masked.scrub("paid 03-12-25 20251203") == "paid 03-12-25 20251203")
        #expect(masked.scrub("invoice 202015 55555555") == "invoice 202015 55555555")
        // What has an IBAN's shape but fails its check, or is a creditor reference, is what a person matches on: left alone.
        #expect(masked.scrub("ref RF18539007547034 and DD20261203000123") == "ref RF18539007547034 and DD20261203000123")
        #expect(masked.scrub("GB29NWBK60161331926818") == "GB29NWBK60161331926818")
        // A UUID's last group (12 characters) in a temporary path is left alone.
        #expect(masked.scrub("/tmp/inbox-53A54066-2F8E-4D74-AFC6-AB12C3D4E5F6/drop") == "/tmp/inbox-53A54066-2F8E-4D74-AFC6-AB12C3D4E5F6/drop")
    }

    @Test("metadata set on the logger, as a server sets a request's, is redacted when an event is written, and kept as set for reading back")
    func metadataSetOnTheLogger() throws {
        let inner = CapturingLogHandler()
        var logger = Logger(label: "test") { _ in RedactingLogHandler(inner: inner, policy: masked) }
        logger[metadataKey: "customer.name"] = "Zoë O'Brien"
        logger[metadataKey: "token"] = "abc123"
        logger[metadataKey: "request"] = "from zoe@example.org"
        logger[metadataKey: "hb.request.id"] = "42"
        #expect(logger[metadataKey: "hb.request.id"] == "42")
        logger.info("served", metadata: ["note": "call 07700 900555"])
        let event = try #require(inner.written.first)
        #expect(event.metadata["customer.name"] == "‹personal›")
        #expect(event.metadata["token"] == "‹redacted›")
        #expect(event.metadata["request"] == "from ‹email›")
        #expect(event.metadata["hb.request.id"] == "42")
        #expect(event.metadata["note"] == "call ‹phone›")
    }

    @Test("what a metadata provider adds (a task-local request context, say) is redacted like the rest")
    func metadataFromAProvider() throws {
        let inner = CapturingLogHandler()
        inner.metadataProvider = Logger.MetadataProvider { ["customer.email": "zoe@example.org", "nonce": "n-1", "trace": "t-9"] }
        let logger = Logger(label: "test") { _ in RedactingLogHandler(inner: inner, policy: masked) }
        logger.warning("slow answer")
        let event = try #require(inner.written.first)
        #expect(event.metadata["customer.email"] == "‹personal›")
        #expect(event.metadata["nonce"] == "‹redacted›")
        #expect(event.metadata["trace"] == "t-9")
    }
}
