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

                // The bank's to-check queue: a waiting payment allocated by hand to a contract with something open, typed in
                // over the rules' suggestion, as after a call with the payer.
                let statements = temporaryDirectory("browser-bank")
                defer { try? FileManager.default.removeItem(atPath: statements) }
                _ = try await BankDesk(store: workspace.store, rules: workspace.harness.mappings.bank, statementsDirectory: statements)
                    .importStatement(path: bankGolden + "/northern-example-camt053.xml", format: nil)
                let entry = try #require(try await workspace.store.bankEntries(state: .toCheck, limit: 50).first { $0.entry.amount.currency == .gbp }?.id)
                // The most owed: the statement's automatic allocations took a few contracts' open invoices already.
                var owing: Contract?
                try await workspace.store.forEachContract {
                    if $0.currency == .gbp, $0.openBalance.minorUnits > owing?.openBalance.minorUnits ?? 0 { owing = $0 }
                }
                let candidate = try #require(owing, "a contract in pounds with something open").contractNumber
                try await browser.open(workspace.base + "/workspace/bank")
                try await browser.screenshot(to: screenshotFolder + "/08-bank-queue.png")
                // An entry waiting because its only candidate has nothing open is not offered that contract.
                let nothingOpen = try #require(try await workspace.store.bankEntries(state: .toCheck, limit: 50)
                    .first { $0.reason?.hasPrefix("nothing open on") == true })
                #expect(try await browser.source().contains("id=\"bank-contract-\(nothingOpen.id)\" name=\"contract\" value=\"\""))
                try await browser.clear("#bank-contract-\(entry)")
                try await browser.type(candidate, into: "#bank-contract-\(entry)")
                try await browser.click("#allocate-\(entry)")
                #expect(try await browser.source().contains("Bank entry \(entry) allocated to \(candidate)"))

                // On a phone's width every link of the menu and the sign-out button are on the screen, and the page is
                // no wider than it: the menu wraps, and a wide table scrolls inside the page.
                try await browser.resize(width: 375, height: 800)
                for page in ["/workspace", "/workspace/contracts/\(contract.contractNumber)"] {
                    try await browser.open(workspace.base + page)
                    let overflow = try await browser.evaluate("""
                        const width = document.documentElement.clientWidth;
                        const out = width > 400 ? ['window ' + width] : [];
                        out.push(...[...document.querySelectorAll('header a, header button')]
                            .filter(e => e.getBoundingClientRect().right > width).map(e => e.textContent));
                        if (document.documentElement.scrollWidth > width) out.push('page ' + document.documentElement.scrollWidth + ' > ' + width);
                        return out.join(', ');
                        """) as? String
                    #expect(overflow == "", "\(page) at 375 px: \(overflow ?? "no answer")")
                }
                try await browser.screenshot(to: screenshotFolder + "/10-narrow-contract.png")
            }
            for name in ["01-sign-in", "03-upload", "05-dashboard-posted", "07-approvals", "08-bank-queue", "10-narrow-contract"] {
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
