import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesMock
import MilesSync
import Testing
import TestSupport

/// Where the browser test leaves its screenshots, for a person to look at (ignored by git).
let screenshotFolder = URL(fileURLWithPath: repositoryMappings).deletingLastPathComponent().appendingPathComponent(".build/screenshots").path

@Suite("The workspace in a real browser: headless Chromium over WebDriver (issue 13)", .serialized, .timeLimit(.minutes(3)))
struct WorkspaceBrowserTests {
    @Test("an agent uploads a write-off file and signs out; a team leader signs in and approves; the push posts it; the dashboard shows it posted; a credit note raised on a contract's page is approved by another on the Approvals page")
    func writeOffThroughTheBrowser() async throws {
        try await withWorkspace(.sqlite) { workspace in
            var found: Contract?
            try await workspace.store.forEachContract {
                if found == nil, $0.openBalance.minorUnits >= 50_000, $0.statusCode != "WOF", $0.currency == .gbp { found = $0 }
            }
            let contract = try #require(found)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("browser-writeoffs-\(UUID().uuidString).csv").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            try "contract_number,amount,invoice_numbers,reason_code,comment\n\(contract.contractNumber),300.00,,UNEC,balance after settlement\nC99999999,5.00,,UNEC,typo\n"
                .write(toFile: file, atomically: true, encoding: .utf8)

            try await withBrowser { browser in
                try await browser.open(workspace.base + "/workspace")
                #expect(try await browser.currentURL().hasSuffix("/workspace/sign-in"))
                try await browser.type("alice", into: "#name")
                try await browser.type(WorkspaceHarness.password("alice"), into: "#password")
                try await browser.screenshot(to: screenshotFolder + "/01-sign-in.png")
                try await browser.click("#sign-in")
                #expect(try await browser.source().contains("Alice (agent)"))
                try await browser.screenshot(to: screenshotFolder + "/02-dashboard-agent.png")

                try await browser.open(workspace.base + "/workspace/writeoffs")
                try await browser.type(file, into: "#file")
                try await browser.click("#upload")
                let uploaded = try await browser.source()
                #expect(uploaded.contains("request 1 raised"), "the upload's result")
                #expect(uploaded.contains("refused: contract C99999999 is not in the store"))
                try await browser.screenshot(to: screenshotFolder + "/03-upload.png")
                try await browser.click("#sign-out")
                #expect(try await browser.currentURL().hasSuffix("/workspace/sign-in"))

                try await browser.signIn("bob")
                try await browser.open(workspace.base + "/workspace/writeoffs?state=pendingApproval")
                try await browser.screenshot(to: screenshotFolder + "/04-approval-queue.png")
                try await browser.click("#approve-1")
                #expect(try await browser.source().contains("Request 1 approved; queued for MILES."))

                let pushed = try await workspace.harness.relay(workspace.store).run()
                #expect(pushed.posted == 1)
                #expect(await workspace.harness.server.miles.writeOffLedger().count == 1)

                try await browser.open(workspace.base + "/workspace")
                let dashboard = try await browser.source()
                #expect(dashboard.contains("<td class=\"state\">posted</td>"), "the dashboard shows the write-off posted")
                try await browser.screenshot(to: screenshotFolder + "/05-dashboard-posted.png")
                try await browser.open(workspace.base + "/workspace/contracts/\(contract.contractNumber)")
                try await browser.screenshot(to: screenshotFolder + "/06-contract.png")

                // A credit note raised on the contract's page, approved by someone else on the Approvals page.
                try await browser.type("40.00", into: "#credit-amount")
                try await browser.type("charged twice for October", into: "#credit-comment")
                try await browser.click("#raise-credit")
                #expect(try await browser.source().contains("Credit note 1 raised; it waits for approval."))
                try await browser.open(workspace.base + "/workspace/approvals")
                #expect(try await !browser.source().contains("id=\"approve-credits-1\""), "not offered to its maker")
                try await browser.click("#sign-out")
                try await browser.signIn("carol")
                try await browser.open(workspace.base + "/workspace/approvals")
                try await browser.screenshot(to: screenshotFolder + "/07-approvals.png")
                try await browser.click("#approve-credits-1")
                #expect(try await browser.source().contains("Credit note 1 approved; queued for MILES."))

                // The bank's to-check queue: a waiting payment allocated to the contract the rules suggest, by hand.
                let statements = temporaryDirectory("browser-bank")
                defer { try? FileManager.default.removeItem(atPath: statements) }
                _ = try await BankDesk(store: workspace.store, rules: workspace.harness.mappings.bank, statementsDirectory: statements)
                    .importStatement(path: bankGolden + "/northern-example-camt053.xml", format: nil)
                var suggested: (entry: Int64, contract: String)?
                for stored in try await workspace.store.bankEntries(state: .toCheck, limit: 50) where suggested == nil {
                    if let candidate = stored.candidates.first,
                       try await workspace.store.contract(number: candidate.contractNumber)?.currency == stored.entry.amount.currency {
                        suggested = (stored.id, candidate.contractNumber)
                    }
                }
                let (entry, candidate) = try #require(suggested, "a waiting payment with a candidate in its currency")
                try await browser.open(workspace.base + "/workspace/bank")
                try await browser.screenshot(to: screenshotFolder + "/08-bank-queue.png")
                try await browser.click("#allocate-\(entry)")
                #expect(try await browser.source().contains("Bank entry \(entry) allocated to \(candidate)"))
            }
            for name in ["01-sign-in", "03-upload", "05-dashboard-posted", "07-approvals", "08-bank-queue"] {
                #expect(FileManager.default.fileExists(atPath: screenshotFolder + "/\(name).png"))
            }
        }
    }
}

/// Headless Chromium for `body`, closed after it whether it threw or not.
func withBrowser(_ body: (WebDriver) async throws -> Void) async throws {
    let browser = try await WebDriver.start()
    do {
        try await body(browser)
    } catch {
        await browser.quit()
        throw error
    }
    await browser.quit()
}

extension WebDriver {
    /// Signs in as one of `WorkspaceHarness`'s people, from the sign-in page the browser is on.
    func signIn(_ name: String) async throws {
        try await type(name, into: "#name")
        try await type(WorkspaceHarness.password(name), into: "#password")
        try await click("#sign-in")
    }
}
