import Logging
import MilesSync
import Testing

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
}
