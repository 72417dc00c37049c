import AgentAPI
import CollectionsDomain
import CollectionsStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import MilesMapping
import MilesMock
import MilesSync
import Testing
import TestSupport
@testable import Workspace

/// A synced store with people in it (carol, head of credit; bob, team leader; alice and ann, agents;
/// every password "<name>-long-password"), served by the workspace on a free port.
struct WorkspaceHarness {
    let harness: SyncHarness
    let store: any CollectionsStores
    let workspace: Workspace
    let server: AgentAPIServer
    /// The placement files' folder and the agents' inbox, made for this workspace and removed with it.
    let folders: [String]
    var base: String { "http://127.0.0.1:\(server.port)" }

    static func password(_ name: String) -> String { "\(name)-long-password" }

    /// Serves the harness's store, synced first unless `syncing` is false (the store is then served as it is).
    static func start(_ harness: SyncHarness, syncing: Bool = true) async throws -> WorkspaceHarness {
        let store = try await harness.openStore()
        if syncing { _ = try await harness.sync(store: store).run(mode: .resume) }
        let people = PeopleDesk(store: store, mappings: harness.mappings, cost: 4)
        var carol: CollectionsUser?
        for (name, role) in [("carol", "headOfCredit"), ("bob", "teamLeader"), ("alice", "agent"), ("ann", "agent")] {
            _ = try await people.addUser(name: name, displayName: name.capitalized, role: role, password: password(name), by: carol)
            if carol == nil { carol = try await people.authenticate(name: name, password: password(name)) }
        }
        let placements = temporaryDirectory("workspace-placements")
        let inbox = temporaryDirectory("workspace-inbox")
        let workspace = try Workspace(store: store, mappings: harness.mappings, passwordCost: 4,
                                      placementsDirectory: placements, logger: Logger(label: "workspace"))
        let server = try await AgentAPIServer.start(
            configuration: AgentAPIConfiguration(port: 0, tokenHashes: [:]), desk: harness.ingestDesk(store, inbox: inbox), monitored: store,
            routes: [workspace], logger: Logger(label: "workspace"))
        return WorkspaceHarness(harness: harness, store: store, workspace: workspace, server: server, folders: [placements, inbox])
    }

    /// Stops the server and removes the workspace's folders.
    func stop() async {
        await server.stop()
        for folder in folders { try? FileManager.default.removeItem(atPath: folder) }
    }

    /// A write-off request raised by `by` for `amount` on a contract with that much open.
    func request(amount: String, by name: String) async throws -> Int64 {
        var found: Contract?
        try await store.forEachContract {
            if found == nil, $0.openBalance.minorUnits >= 200_000, $0.statusCode != "WOF", $0.currency == .gbp { found = $0 }
        }
        let contract = try #require(found)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("w-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "contract_number,amount,invoice_numbers,reason_code,comment\n\(contract.contractNumber),\(amount),,UNEC,test\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let desk = WriteOffDesk(store: store, mappings: harness.mappings)
        let person = try await PeopleDesk(store: store, mappings: harness.mappings).authenticate(name: name, password: Self.password(name))
        return try #require(try await desk.prepare(file: try WriteOffFile(path: path), by: person).created.first?.id)
    }
}

/// The workspace on a store of `kind`, stopped after `body` whether it threw or not.
func withWorkspace(_ kind: StoreKind, _ body: (WorkspaceHarness) async throws -> Void) async throws {
    try await withHarness(contracts: 120, store: kind) { harness in try await withWorkspace(on: harness, body) }
}

/// The workspace on the harness's store (synced first unless `syncing` is false), stopped after `body`
/// whether it threw or not.
func withWorkspace(on harness: SyncHarness, syncing: Bool = true, _ body: (WorkspaceHarness) async throws -> Void) async throws {
    let workspace = try await WorkspaceHarness.start(harness, syncing: syncing)
    do {
        try await body(workspace)
    } catch {
        await workspace.stop()
        throw error
    }
    await workspace.stop()
}

@Suite("The workspace's security, over HTTP (issue 13)", .serialized, .timeLimit(.minutes(2)))
struct WorkspaceTests {
    @Test("every page without a session redirects to sign-in; sign-in sets an HttpOnly, SameSite=Strict cookie",
          arguments: StoreKind.available)
    func signInRequired(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let client = WorkspaceClient(base: workspace.base)
            for path in ["/workspace", "/workspace/writeoffs", "/workspace/contracts?q=C", "/workspace/contracts/C00000001", "/workspace/risk",
                         "/workspace/outbox", "/workspace/audit", "/workspace/aged-debt.csv", "/workspace/writeoffs.csv"] {
                let page = try await client.get(path)
                #expect(page.status == 303 && page.location == "/workspace/sign-in", "\(path): \(page.status)")
            }
            let form = try await client.get("/workspace/sign-in")
            #expect(!form.body.contains(">nil<") && !form.body.contains("id=\"error\""), "no empty error on a first visit")
            let wrong = try await client.signIn("alice", "not-her-password")
            #expect(wrong.status == 401)
            #expect(wrong.body.contains("wrong user name or password"))
            let signedIn = try await client.signIn("alice", WorkspaceHarness.password("alice"))
            #expect(signedIn.status == 303 && signedIn.location == "/workspace")
            let cookie = try #require(signedIn.headers["Set-Cookie"])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            let dashboard = try await client.get("/workspace")
            #expect(dashboard.status == 200)
            #expect(dashboard.body.contains("Alice (agent)") && dashboard.body.contains("<svg"))
            #expect(dashboard.headers["Content-Security-Policy"]?.contains("default-src 'self'") == true)
        }
    }

    @Test("a form body of a bare '=' or a multipart boundary over 70 characters is refused without harm",
          arguments: StoreKind.available)
    func malformedForms(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let client = WorkspaceClient(base: workspace.base)
            _ = try await client.get("/workspace/sign-in")
            #expect(try await client.post("/workspace/sign-in", ["": ""]).status == 403)
            var request = URLRequest(url: URL(string: workspace.base + "/workspace/sign-in")!)
            request.httpMethod = "POST"
            request.setValue("multipart/form-data; boundary=" + String(repeating: "-", count: 200), forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(repeating: UInt8(ascii: "-"), count: 100_000)
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 403)
            #expect(try await client.get("/workspace/sign-in").status == 200, "the server still answers")
        }
    }

    @Test("a write-off file the adapter cannot read is refused naming the file as the agent named it, with advice for them",
          arguments: StoreKind.available)
    func uploadRefusals(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let alice = WorkspaceClient(base: workspace.base)
            try await alice.signIn("alice", WorkspaceHarness.password("alice"))
            let csrf = try #require(try await alice.get("/workspace/writeoffs").csrf)
            let header = "contract_number,amount,invoice_numbers,reason_code,comment\n"

            // Saved by a spreadsheet as Latin-1: "café" is not UTF-8.
            let latin = try await alice.upload("/workspace/writeoffs/upload", ["csrf": csrf],
                                               file: ("file", "june write-offs.csv", Array((header + "C00000001,10.00,,UNEC,caf").utf8) + [0xE9, 0x0A]))
            #expect(latin.status == 422)
            #expect(latin.body.contains("june write-offs.csv: line 2, field 5: byte 0xE9"), "\(latin.body)")
            #expect(latin.body.contains("save it as UTF-8 text"))
            // Neither the server's temporary folder nor advice meant for the agents' mappings.
            #expect(!latin.body.contains(FileManager.default.temporaryDirectory.path) && !latin.body.contains("workspace-"))
            #expect(!latin.body.contains("updates.encoding"))

            let noHeader = try await alice.upload("/workspace/writeoffs/upload", ["csrf": csrf], file: ("file", "notes.txt", Array("hello\n".utf8)))
            #expect(noHeader.status == 422)
            #expect(noHeader.body.contains("notes.txt: the header row lacks"))
            #expect(try await workspace.store.writeOffRequests(state: nil).isEmpty, "nothing raised from a refused file")

            // A contract number in small letters is the one in capitals, as the search takes it.
            var found: Contract?
            try await workspace.store.forEachContract {
                if found == nil, $0.openBalance.minorUnits >= 200_000, $0.statusCode != "WOF", $0.currency == .gbp { found = $0 }
            }
            let contract = try #require(found)
            let typed = try await alice.upload("/workspace/writeoffs/upload", ["csrf": csrf],
                                               file: ("file", "typed.csv", Array((header + "\(contract.contractNumber.lowercased()),10.00,,UNEC,typed\n").utf8)))
            #expect(typed.body.contains("request 1 raised"), "\(typed.body)")
            #expect(try await workspace.store.writeOffRequests(state: nil).map(\.contractNumber) == [contract.contractNumber])
        }
    }

    @Test("a form without or with a wrong CSRF token is refused and changes nothing",
          arguments: StoreKind.available)
    func csrf(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let id = try await workspace.request(amount: "1000.00", by: "alice")
            let bob = WorkspaceClient(base: workspace.base)
            try await bob.signIn("bob", WorkspaceHarness.password("bob"))
            let missing = try await bob.post("/workspace/writeoffs/\(id)/approve", ["comment": "x"])
            #expect(missing.status == 403)
            let wrong = try await bob.post("/workspace/writeoffs/\(id)/approve", ["comment": "x", "csrf": String(repeating: "0", count: 64)])
            #expect(wrong.status == 403)
            #expect(wrong.body.contains("nothing was changed"))
            #expect(try await workspace.store.writeOffRequests(state: nil).first { $0.id == id }?.approvals.isEmpty == true)
        }
    }

    @Test("an agent cannot approve above their limit, the maker cannot approve their own request; a team leader can, audited in their name",
          arguments: StoreKind.available)
    func approvals(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let id = try await workspace.request(amount: "1000.00", by: "alice")
            for (name, expected) in [("ann", "not approved"), ("alice", "not approved")] {
                let client = WorkspaceClient(base: workspace.base)
                try await client.signIn(name, WorkspaceHarness.password(name))
                let queue = try await client.get("/workspace/writeoffs")
                #expect(!queue.body.contains("id=\"approve-\(id)\""), "\(name) is offered the approval")
                let posted = try await client.post("/workspace/writeoffs/\(id)/approve", ["csrf": queue.csrf ?? ""])
                #expect(posted.status == 303)
                #expect(try await client.get("/workspace/writeoffs").body.contains(expected))
            }
            #expect(try await workspace.store.writeOffRequests(state: nil).first { $0.id == id }?.approvals.isEmpty == true)
            let bob = WorkspaceClient(base: workspace.base)
            try await bob.signIn("bob", WorkspaceHarness.password("bob"))
            let queue = try await bob.get("/workspace/writeoffs")
            #expect(queue.body.contains("id=\"approve-\(id)\""))
            _ = try await bob.post("/workspace/writeoffs/\(id)/approve", ["csrf": queue.csrf ?? "", "comment": "checked"])
            let request = try #require(try await workspace.store.writeOffRequests(state: nil).first { $0.id == id })
            #expect(request.approvals.map(\.approver) == ["bob"])
            #expect(request.state == .approved)
            // Its contract's page lists it, with its state.
            let page = try await bob.get("/workspace/contracts/\(request.contractNumber)").body
            #expect(page.contains("<td>write-off</td><td>\(id)</td><td class=\"n\">1000.00 GBP</td><td>uneconomicalToPursue: test</td><td class=\"state\">approved</td><td>alice</td>"),
                    "\(page)")
        }
    }

    @Test("a disabled user cannot sign in; the fifth wrong password locks; a cookie from before sign-out no longer works",
          arguments: StoreKind.available)
    func accounts(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let people = PeopleDesk(store: workspace.store, mappings: workspace.harness.mappings, cost: 4)
            let carol = try await people.authenticate(name: "carol", password: WorkspaceHarness.password("carol"))
            try await people.disable(name: "ann", reason: "left", by: carol)
            let client = WorkspaceClient(base: workspace.base)
            let alice = WorkspaceClient(base: workspace.base)
            try await alice.signIn("alice", WorkspaceHarness.password("alice"))
            #expect(try await alice.get("/workspace").status == 200)
            try await people.disable(name: "alice", reason: "left", by: carol)
            #expect(try await alice.get("/workspace").location == "/workspace/sign-in", "disabling ends a session already open")
            try await people.enable(name: "alice", reason: "back", by: carol)
            let disabled = try await client.signIn("ann", WorkspaceHarness.password("ann"))
            #expect(disabled.status == 401 && disabled.body.contains("disabled"))

            for attempt in 1...5 { _ = try await client.signIn("alice", "wrong-\(attempt)") }
            let locked = try await client.signIn("alice", WorkspaceHarness.password("alice"))
            #expect(locked.status == 401 && locked.body.contains("locked"))

            let bob = WorkspaceClient(base: workspace.base)
            try await bob.signIn("bob", WorkspaceHarness.password("bob"))
            let before = try #require(bob.cookie)
            let page = try await bob.get("/workspace")
            #expect(page.status == 200)
            let out = try await bob.post("/workspace/sign-out", ["csrf": page.csrf ?? ""])
            #expect(out.status == 303 && out.location == "/workspace/sign-in")
            bob.cookie = before
            #expect(try await bob.get("/workspace").location == "/workspace/sign-in")
        }
    }

    @Test("a customer's name with <script> comes out escaped; lists mask names; the contract page records who saw the customer",
          arguments: StoreKind.available)
    func escapingAndConfidentiality(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let hostile = "<script>alert('x')</script> O'Brien & Sons <Ltd>"
            _ = await workspace.harness.server.miles.changeBehindTheAdaptersBack(contractNumber: "C00000003", customerName: hostile)
            _ = try await workspace.harness.sync(store: workspace.store).run(mode: .full)
            let client = WorkspaceClient(base: workspace.base)
            try await client.signIn("alice", WorkspaceHarness.password("alice"))
            let list = try await client.get("/workspace/contracts?q=C00000003")
            #expect(list.body.contains("C00000003"))
            #expect(!list.body.contains("alert") && !list.body.contains("Brien"))
            let page = try await client.get("/workspace/contracts/C00000003")
            #expect(!page.body.contains("placed with nil"))
            #expect(page.body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; O&#39;Brien &amp; Sons &lt;Ltd&gt;"))
            #expect(!page.body.contains("<script>"))
            let views = try await workspace.store.auditEntries(subject: "contract:C00000003", limit: 10).filter { $0.action == "personal-data.viewed" }
            #expect(views.map(\.actor) == ["alice"])
        }
    }

    @Test("the contract search reads its box as a browser sends it: a postcode typed with its space (a '+') is found, a '%2B' is a plus",
          arguments: StoreKind.available)
    func searchAsTheBrowserSendsIt(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let customer = try #require(await workspace.harness.server.miles.contract(number: "C00000003")).customer
            try #require(customer.address.postcode.contains(" "))
            let client = WorkspaceClient(base: workspace.base)
            try await client.signIn("alice", WorkspaceHarness.password("alice"))
            let typed = customer.address.postcode.replacingOccurrences(of: " ", with: "+")
            let found = try await client.get("/workspace/contracts?q=" + typed)
            #expect(found.body.contains("/workspace/contracts/C00000003"))
            #expect(found.body.contains("value=\"\(customer.address.postcode)\""), "the box shows what was typed")
            let plus = try await client.get("/workspace/contracts?q=C%2B")
            #expect(plus.body.contains("value=\"C+\"") && !plus.body.contains("/workspace/contracts/C00000003"))
        }
    }

    @Test("from a contract's page: a notice (validated), a hold and its lift, a status change through the guards; overrides offered only to roles allowed",
          arguments: StoreKind.available)
    func contractActions(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            var found: Contract?
            try await workspace.store.forEachContract {
                // Begun before the default notice recorded below: a notice before the agreement is refused.
                if found == nil, $0.statusCode == "DEF", !$0.customer.vulnerable, !CollectionsGuards.isProtectedGoods($0),
                   $0.startDate < LocalDate.parse("2026-01-01")! { found = $0 }
            }
            let number = try #require(found).contractNumber
            let alice = WorkspaceClient(base: workspace.base)
            try await alice.signIn("alice", WorkspaceHarness.password("alice"))
            let first = try await alice.get("/workspace/contracts/\(number)").body
            #expect(!first.contains("set aside"))
            #expect(first.contains("id=\"no-money\">None asked for on this contract."))
            // Typed into the address bar in small letters, or with a space, it is the same contract, at its one address.
            for typed in [number.lowercased(), number + "%20"] {
                let answer = try await alice.get("/workspace/contracts/\(typed)")
                #expect(answer.status == 303 && answer.location == "/workspace/contracts/\(number)", "\(typed): \(answer.status)")
            }
            #expect(try await alice.get("/workspace/contracts/c99999999").body.contains("There is no contract c99999999 in the store."))
            let carol = WorkspaceClient(base: workspace.base)
            try await carol.signIn("carol", WorkspaceHarness.password("carol"))
            let page = try await carol.get("/workspace/contracts/\(number)")
            #expect(page.body.contains("<option value=\"\(CollectionsGuards.defaultNoticeRule)\">"))
            let csrf = try #require(page.csrf)

            _ = try await carol.post("/workspace/contracts/\(number)/notice", ["csrf": csrf, "served": "2026-01-05", "remedy": "2026-01-09"])
            #expect(try await carol.get("/workspace/contracts/\(number)").body.contains("at least 14 days"))
            _ = try await carol.post("/workspace/contracts/\(number)/notice", ["csrf": csrf, "served": "2026-02-30", "remedy": "2026-03-20"])
            #expect(try await carol.get("/workspace/contracts/\(number)").body.contains("2026-02-30 is not a day of the calendar."))
            _ = try await carol.post("/workspace/contracts/\(number)/notice", ["csrf": csrf, "served": "5 Jan", "remedy": "2026-03-20"])
            #expect(try await carol.get("/workspace/contracts/\(number)").body.contains("&#39;5 Jan&#39; is not a date"))
            _ = try await carol.post("/workspace/contracts/\(number)/hold", ["csrf": csrf, "kind": "dispute", "reason": "   "])
            #expect(try await carol.get("/workspace/contracts/\(number)").body.contains("a dispute hold needs its reason"))
            _ = try await carol.post("/workspace/contracts/\(number)/hold", ["csrf": csrf, "kind": "dispute", "reason": "disputes the arrears"])
            #expect(try await workspace.store.holds(contractNumber: number).contains { $0.kind == .dispute && $0.liftedOn == nil })
            _ = try await carol.post("/workspace/contracts/\(number)/hold", ["csrf": csrf, "kind": "dispute", "reason": "disputes it again"])
            #expect(try await carol.get("/workspace/contracts/\(number)").body.contains("a dispute hold is already active on \(number)"))
            #expect(try await workspace.store.holds(contractNumber: number).count == 1)
            // A category MILES would refuse (its Code type: 1 to 32 characters) is refused here, not reported queued.
            _ = try await carol.post("/workspace/contracts/\(number)/note", ["csrf": csrf, "category": String(repeating: "C", count: 40), "text": "called"])
            #expect(try await carol.get("/workspace/contracts/\(number)").body.contains("a note&#39;s category has 1 to 32 characters"))
            // The reason is chosen from the mapping's codes, with what each means, not guessed.
            #expect(try await carol.get("/workspace/contracts/\(number)").body.contains("<option value=\"DCAP\">DCAP: placed with a debt collection agency</option>"))
            _ = try await carol.post("/workspace/contracts/\(number)/status", ["csrf": csrf, "to": "placedWithAgent", "reason": "DCAP"])
            let refused = try await carol.get("/workspace/contracts/\(number)")
            #expect(refused.body.contains("Status change refused") && refused.body.contains(CollectionsGuards.holdRule))
            _ = try await carol.post("/workspace/contracts/\(number)/hold", ["csrf": csrf, "kind": "dispute", "reason": "resolved", "lift": "yes"])
            _ = try await carol.post("/workspace/contracts/\(number)/notice", ["csrf": csrf, "served": "2026-01-05", "remedy": "2026-01-25"])
            _ = try await carol.post("/workspace/contracts/\(number)/status", ["csrf": csrf, "to": "placedWithAgent", "reason": "DCAP"])
            #expect(try await carol.get("/workspace/contracts/\(number)").body.contains("to placedWithAgent queued for MILES"))
            #expect(try await workspace.store.outboxEntries(state: .pending).contains { $0.kind == .updateContractStatus })
        }
    }

    @Test("a MILES that maps no UpdateContractStatus, AddContractNote, PostWriteOff or CreatePaymentArrangement: the pages offer no status change, note, placement or write-off and say why; sent anyway, refused (409) naming it, nothing queued; a hold still works; the dashboard counts no plan it cannot take",
          arguments: StoreKind.available)
    func partialMiles(kind: StoreKind) async throws {
        try await withWorkspace(kind) { full in
            // The same store served against a contract.yaml with the two operations left out.
            let folder = temporaryDirectory("partial-mappings")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let mappings = try partialMappings(in: folder, leavingOut: ["updateContractStatus", "addContractNote", "postWriteOff",
                                                                        "createPaymentArrangement"])
            #expect(mappings.contract.refusal(for: .outbox(.updateContractStatus)) != nil)
            let workspace = try Workspace(store: full.store, mappings: mappings, passwordCost: 4,
                                          placementsDirectory: folder + "/placements", logger: Logger(label: "workspace"))
            let server = try await AgentAPIServer.start(
                configuration: AgentAPIConfiguration(port: 0, tokenHashes: [:]), desk: full.harness.ingestDesk(full.store, inbox: folder + "/inbox"),
                monitored: full.store, routes: [workspace], logger: Logger(label: "workspace"))

            func refusals() async throws {
                var found: Contract?
                try await full.store.forEachContract { if found == nil, $0.statusCode == "DEF", !$0.customer.vulnerable { found = $0 } }
                let number = try #require(found).contractNumber
                let carol = WorkspaceClient(base: "http://127.0.0.1:\(server.port)")
                try await carol.signIn("carol", WorkspaceHarness.password("carol"))
                let page = try await carol.get("/workspace/contracts/\(number)")
                // The page offers no form this MILES cannot take, and says why in its place.
                #expect(!page.body.contains("id=\"status-change\"") && !page.body.contains("id=\"add-note\""))
                #expect(page.body.contains("id=\"status-change-not-offered\">&#39;status changes&#39; needs the MILES operation UpdateContractStatus"),
                        "\(page.body)")
                #expect(page.body.contains("id=\"note-not-offered\">&#39;notes&#39; needs the MILES operation AddContractNote"))
                #expect(page.body.contains("id=\"hold\"") && page.body.contains("id=\"raise-credit\""))
                #expect(!(try await carol.get("/workspace/agents").body.contains("id=\"place\"")))
                let writeOffs = try await carol.get("/workspace/writeoffs").body
                #expect(!writeOffs.contains("id=\"upload\"") && writeOffs.contains("id=\"upload-not-offered\">&#39;write-offs&#39; needs the MILES operation PostWriteOff,"),
                        "\(writeOffs)")
                // A form from a page shown before the mapping changed is refused.
                let csrf = try #require(page.csrf)
                let status = try await carol.post("/workspace/contracts/\(number)/status", ["csrf": csrf, "to": "placedWithAgent", "reason": "DCAP"])
                #expect(status.status == 409)
                #expect(status.body.contains("UpdateContractStatus") && status.body.contains("Nothing was changed"), "\(status.body)")
                let note = try await carol.post("/workspace/contracts/\(number)/note", ["csrf": csrf, "category": "GEN", "text": "called the customer"])
                #expect(note.status == 409)
                #expect(note.body.contains("AddContractNote"), "\(note.body)")
                #expect(try await full.store.outboxEntries(state: nil).isEmpty)
                // Work that needs nothing of MILES goes on.
                _ = try await carol.post("/workspace/contracts/\(number)/hold", ["csrf": csrf, "kind": "dispute", "reason": "disputes the arrears"])
                #expect(try await full.store.holds(contractNumber: number).contains { $0.kind == .dispute && $0.liftedOn == nil })

                // A plan proposed while this MILES took plans: the Approvals page offers no approve button for it here, so the dashboard
                // does not count it.
                let contract = try #require(try await full.store.contract(number: number))
                let alice = try await PeopleDesk(store: full.store, mappings: full.harness.mappings)
                    .authenticate(name: "alice", password: WorkspaceHarness.password("alice"))
                let today = CollectionsClock.system().date
                _ = try await ArrangementDesk(store: full.store, mappings: full.harness.mappings).propose(
                    try PaymentArrangement.regular(contractNumber: number, frequency: .monthly, firstDate: today.adding(days: 5), count: 3,
                                                   amount: contract.monthlyPayment),
                    income: IncomeAndExpenditure(monthlyIncome: contract.monthlyPayment, monthlyExpenditure: Money(minorUnits: 0, currency: contract.currency),
                                                 recordedOn: today, recordedBy: "alice"),
                    by: alice)
                #expect(try await carol.get("/workspace").body.contains("id=\"approvals-awaiting\">0</b>"))
                let fullCarol = WorkspaceClient(base: full.base)
                try await fullCarol.signIn("carol", WorkspaceHarness.password("carol"))
                #expect(try await fullCarol.get("/workspace").body.contains("id=\"approvals-awaiting\">1</b>"))
            }
            do { try await refusals() } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }
    }

    @Test("the Bank page lists the statement's waiting entries with why and the candidates; an agent allocates one (in their name, queued for MILES); a wrong contract or a second allocation is refused, naming it",
          arguments: StoreKind.available)
    func bankQueue(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let folder = temporaryDirectory("workspace-bank")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            // The golden statement, one payer quoting the account they paid from in the remittance.
            let golden = try String(contentsOfFile: bankGolden + "/northern-example-camt053.xml", encoding: .utf8)
            #expect(golden.contains("<Ustrd>thanks</Ustrd>"))
            try golden.replacingOccurrences(of: "<Ustrd>thanks</Ustrd>", with: "<Ustrd>thanks, paid from DE89 3704 0044 0532 0130 00</Ustrd>")
                .write(toFile: folder + "/statement.xml", atomically: true, encoding: .utf8)
            let desk = BankDesk(store: workspace.store, rules: workspace.harness.mappings.bank, statementsDirectory: folder + "/kept")
            _ = try await desk.importStatement(path: folder + "/statement.xml", format: nil)
            let waiting = try await workspace.store.bankEntries(state: .toCheck, limit: 50)
            let entry = try #require(waiting.first { $0.entry.amount.currency == .gbp })
            // The most owed: the statement's automatic allocations may have taken a few contracts' open invoices already.
            var found: Contract?
            try await workspace.store.forEachContract {
                if $0.currency == .gbp, $0.openBalance.minorUnits > found?.openBalance.minorUnits ?? 0 { found = $0 }
            }
            let contract = try #require(found).contractNumber

            let alice = WorkspaceClient(base: workspace.base)
            try await alice.signIn("alice", WorkspaceHarness.password("alice"))
            let page = try await alice.get("/workspace/bank")
            #expect(page.status == 200)
            for stored in waiting { #expect(page.body.contains("<td>\(stored.id)</td>"), "entry \(stored.id) listed") }
            #expect(page.body.contains((entry.reason ?? "a reason").replacingOccurrences(of: "'", with: "&#39;")), "why it waits")
            // The page holds no personal data: the account in the remittance is masked, as the payers' names are.
            #expect(waiting.contains { $0.entry.remittance.contains("DE89 3704") })
            #expect(!page.body.contains("DE89 3704") && page.body.contains("thanks, paid from ‹account …3000›"))
            #expect(!page.body.contains("waiting-more"))
            let csrf = try #require(page.csrf)

            _ = try await alice.post("/workspace/bank/\(entry.id)/allocate", ["csrf": csrf, "contract": "C-NOPE", "note": "wrong"])
            #expect(try await alice.get("/workspace/bank").body.contains("Bank entry \(entry.id) not allocated: there is no contract C-NOPE"))
            #expect(try await workspace.store.bankEntry(id: entry.id)?.state == .toCheck)

            let done = try await alice.post("/workspace/bank/\(entry.id)/allocate", ["csrf": csrf, "contract": contract, "note": "customer rang"])
            #expect(done.status == 303)
            #expect(try await alice.get("/workspace/bank").body.contains("Bank entry \(entry.id) allocated to \(contract)"))
            let allocated = try #require(try await workspace.store.bankEntry(id: entry.id)?.allocation)
            #expect(allocated.contractNumber == contract && allocated.allocatedBy == "alice")
            #expect(try await workspace.store.outboxEntries(state: .pending).contains { $0.kind == .allocatePayment && $0.subjectId == entry.id })

            _ = try await alice.post("/workspace/bank/\(entry.id)/allocate", ["csrf": csrf, "contract": contract])
            #expect(try await alice.get("/workspace/bank").body.contains("not waiting for a person"))

            // More waiting than the page lists: it says so.
            var many = ":20:NEB-STMT-MANY\n:25:BUKBGB22/GB33BUKB20201555555555\n:28C:102/1\n:60F:C261201GBP0,00\n"
            for n in 1...200 { many += ":61:2612021202C1,00NTRFNONREF//M\(n)\n:86:thanks\n" }
            many += ":62F:C261202GBP200,00\n"
            try many.write(toFile: folder + "/many.mt940", atomically: true, encoding: .utf8)
            _ = try await desk.importStatement(path: folder + "/many.mt940", format: nil)
            let longQueue = try await alice.get("/workspace/bank").body
            #expect(longQueue.contains("id=\"waiting-more\">Only the oldest 200 are shown"))
            #expect(longQueue.components(separatedBy: "<button id=\"allocate-").count - 1 == 200)
        }
    }

    @Test("money decisions from the pages: a credit note, a plan and a letter raised on a contract's page; the Approvals page offers the approval only to whom may give it",
          arguments: StoreKind.available)
    func approvalsPage(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            var found: Contract?
            try await workspace.store.forEachContract {
                if found == nil, $0.statusCode == "ARR", $0.arrears.amount.minorUnits > 0, $0.openBalance.minorUnits > 20_000 { found = $0 }
            }
            let contract = try #require(found)
            let number = contract.contractNumber
            let alice = WorkspaceClient(base: workspace.base)
            try await alice.signIn("alice", WorkspaceHarness.password("alice"))
            let page = try await alice.get("/workspace/contracts/\(number)")
            #expect(page.body.contains("<option value=\"BILL\">BILL: billing error</option>"))
            let csrf = try #require(page.csrf)
            _ = try await alice.post("/workspace/contracts/\(number)/credit", ["csrf": csrf, "amount": "60.00", "reason": "BILL", "comment": "billed twice"])
            #expect(try await alice.get("/workspace/contracts/\(number)").body.contains("Credit note 1 raised"))
            let first = CollectionsClock.system().date.adding(days: 10)
            _ = try await alice.post("/workspace/contracts/\(number)/arrangement", [
                "csrf": csrf, "frequency": "monthly", "first": first.description, "count": "3", "amount": contract.monthlyPayment.decimalString,
                "income": "5000.00", "expenditure": "100.00"])
            #expect(try await alice.get("/workspace/contracts/\(number)").body.contains("Arrangement 1 proposed"))
            // The contract's page lists what is asked for on it, whatever its state, so no one raises it twice unaware.
            let asked = try await alice.get("/workspace/contracts/\(number)").body
            #expect(asked.contains("<td>payment plan</td><td>1</td>") && asked.contains("<td>credit note</td><td>1</td><td class=\"n\">60.00 GBP</td><td>BILL: billed twice</td><td class=\"state\">pendingApproval</td><td>alice</td>"),
                    "\(asked)")
            #expect(!asked.contains("id=\"no-money\""))
            let unaffordable = try await alice.post("/workspace/contracts/\(number)/arrangement", [
                "csrf": csrf, "frequency": "monthly", "first": first.description, "count": "3", "amount": contract.monthlyPayment.decimalString,
                "income": "100.00", "expenditure": "100.00"])
            #expect(unaffordable.status == 422)
            #expect(unaffordable.body.contains("<a href=\"/workspace/contracts/\(number)\" id=\"back\">Back to contract \(number)</a>"), "\(unaffordable.body)")
            #expect(unaffordable.body.contains("[CONC7.3-affordability]") && unaffordable.body.contains("leaves 0.00 GBP a month"), "\(unaffordable.body)")
            // Each of these took the whole server down (a date past 9999, an instalment count that ran past it, an
            // amount whose monthly figure overflowed); a negative expenditure passed the affordability check.
            for (field, value, says) in [("first", "9999-12-15", "run past the year 9999"), ("count", "100000", "at most 520 instalments"),
                                         ("amount", "80000000000000.00", "larger than any plan could be")] {
                var form = ["csrf": csrf, "frequency": "monthly", "first": first.description, "count": "2", "amount": "100.00",
                            "income": "1500.00", "expenditure": "900.00"]
                form[field] = value
                let refused = try await alice.post("/workspace/contracts/\(number)/arrangement", form)
                #expect(refused.status == 422 && refused.body.contains(says), "\(field) \(value): \(refused.status) \(refused.body)")
            }
            _ = try await alice.post("/workspace/contracts/\(number)/arrangement", [
                "csrf": csrf, "frequency": "monthly", "first": first.description, "count": "3", "amount": contract.monthlyPayment.decimalString,
                "income": "1000.00", "expenditure": "-5000.00"])
            #expect(try await alice.get("/workspace/contracts/\(number)").body.contains("none of them below zero"))
            #expect(try await workspace.store.arrangement(id: 2) == nil)
            _ = try await alice.post("/workspace/contracts/\(number)/letter", ["csrf": csrf, "letter": "arrearsNotice"])
            #expect(try await workspace.store.letterRequests(contractNumber: number).map(\.type) == [.arrearsNotice])

            // The maker is offered no approval; an agent cannot approve a £60 credit (over the agent's £50).
            let own = try await alice.get("/workspace/approvals")
            #expect(own.body.contains("billed twice") && !own.body.contains("id=\"approve-credits-1\""))
            let ann = WorkspaceClient(base: workspace.base)
            try await ann.signIn("ann", WorkspaceHarness.password("ann"))
            let agentView = try await ann.get("/workspace/approvals")
            #expect(!agentView.body.contains("id=\"approve-credits-1\"") && agentView.body.contains("id=\"approve-arrangements-1\""))
            _ = try await ann.post("/workspace/credits/1/approve", ["csrf": agentView.csrf ?? ""])
            #expect(try await ann.get("/workspace/approvals").body.contains("needs a teamLeader or above"))
            #expect(try await workspace.store.creditNote(id: 1)?.trail.state == .pendingApproval)

            let bob = WorkspaceClient(base: workspace.base)
            try await bob.signIn("bob", WorkspaceHarness.password("bob"))
            let approvals = try await bob.get("/workspace/approvals")
            #expect(approvals.body.contains("id=\"approve-credits-1\"") && approvals.body.contains("id=\"approve-arrangements-1\""))
            // The dashboard counts what each may approve on that page: the maker nothing, the agent the plan, the team leader both.
            for (client, count) in [(alice, 0), (ann, 1), (bob, 2)] {
                let dashboard = try await client.get("/workspace").body
                #expect(dashboard.contains("id=\"approvals-awaiting\">\(count)</b>"), "\(dashboard)")
            }
            _ = try await bob.post("/workspace/credits/1/approve", ["csrf": approvals.csrf ?? "", "comment": "checked"])
            _ = try await bob.post("/workspace/arrangements/1/approve", ["csrf": approvals.csrf ?? ""])
            #expect(try await bob.get("/workspace/approvals").body.contains("Arrangement 1 approved; queued for MILES."))
            #expect(try await workspace.store.creditNote(id: 1)?.trail.approvals.map(\.approver) == ["bob"])
            #expect(try await workspace.store.arrangement(id: 1)?.state == .approved)
            let queued = try await workspace.store.outboxEntries(state: .pending).map(\.clientReference)
            #expect(Set(queued).isSuperset(of: ["CN-1", "AR-1", "LT-1"]))
            // The outbox page offers what the desk would do: a waiting entry can be skipped, not retried.
            let waiting = try #require(try await workspace.store.outboxEntries(state: .pending).first { $0.clientReference == "CN-1" })
            let outbox = try await bob.get("/workspace/outbox").body
            #expect(outbox.contains("id=\"skip-\(waiting.id)\"") && !outbox.contains("id=\"retry-\(waiting.id)\""), "\(outbox)")
            // Skipped only with a reason the audit log can keep: spaces are none.
            let blank = try await bob.post("/workspace/outbox/\(waiting.id)/skip", ["csrf": approvals.csrf ?? "", "reason": "   "])
            #expect(blank.status == 422 && blank.body.contains("skipping outbox entry \(waiting.id) needs a reason"), "\(blank.body)")
            #expect(try await workspace.store.outboxEntry(id: waiting.id)?.state == .pending)
        }
    }

    @Test("the agents page places an eligible account and lists the ineligible one with the rule that stops it",
          arguments: StoreKind.available)
    func placementFromTheAgentsPage(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            var defaulted: [Contract] = []
            try await workspace.store.forEachContract { if $0.statusCode == "DEF", !$0.customer.vulnerable { defaulted.append($0) } }
            let (ready, notReady) = (defaulted[0].contractNumber, defaulted[1].contractNumber)
            try await workspace.store.recordNotice(contractNumber: ready, arrearsNoticeSentOn: nil,
                                                   defaultNotice: .init(served: LocalDate.parse("2026-01-05")!, remedyDate: LocalDate.parse("2026-01-25")!),
                                                   by: "bob", at: CollectionsClock.system())
            let bob = WorkspaceClient(base: workspace.base)
            try await bob.signIn("bob", WorkspaceHarness.password("bob"))
            let page = try await bob.get("/workspace/agents")
            #expect(page.body.contains("acme-dca"))
            let placed = try await bob.post("/workspace/agents/place", ["csrf": page.csrf ?? "", "agent": "acme-dca", "what": "place",
                                                                        "contracts": "\(ready)\n\(notReady)\n"])
            #expect(placed.status == 200)
            #expect(placed.body.contains("<td>\(ready)</td><td>placed</td>"))
            #expect(placed.body.contains(CollectionsGuards.defaultNoticeRule))
            #expect(try await workspace.store.placedContracts(agent: "acme-dca") == [ready])
        }
    }

    @Test("the aged debt one click away by contract and by customer: the largest open balance first, customers masked",
          arguments: StoreKind.available)
    func agedDebtByGroup(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            var largest: Contract?
            try await workspace.store.forEachContract {
                if $0.currency == .gbp, $0.openBalance.minorUnits > (largest?.openBalance.minorUnits ?? 0) { largest = $0 }
            }
            let top = try #require(largest)
            let client = WorkspaceClient(base: workspace.base)
            try await client.signIn("alice", WorkspaceHarness.password("alice"))
            #expect(try await client.get("/workspace").body.contains("href=\"/workspace/aged-debt/customers\""))
            let byContract = try await client.get("/workspace/aged-debt/contracts")
            #expect(byContract.status == 200)
            let firstRow = try #require(byContract.body.range(of: "<td><a href=\"/workspace/contracts/"))
            #expect(byContract.body[firstRow.upperBound...].hasPrefix(top.contractNumber), "the largest balance comes first")
            #expect(byContract.body.contains(top.openBalance.decimalString))
            let byCustomer = try await client.get("/workspace/aged-debt/customers")
            #expect(byCustomer.body.contains(top.customer.partnerId))
            #expect(!byCustomer.body.contains(top.customer.name.htmlEscapedForTest), "names are masked")
        }
    }

    @Test("the dashboard's aged debt follows a sync that changed balances; a search matching more than 50 says so and shows 50",
          arguments: StoreKind.available)
    func dashboardFollowsTheStore(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let client = WorkspaceClient(base: workspace.base)
            try await client.signIn("alice", WorkspaceHarness.password("alice"))
            func expectedRow() async throws -> String {
                let (asOf, _) = try await ReportDesk.businessDate(from: workspace.store, today: CollectionsClock.system().date)
                let totals = try await ReportDesk(store: workspace.store).agedDebt(asOf: asOf).totals[.gbp] ?? []
                return "<td>GBP</td>" + totals.map { "<td class=\"n\">\(Money(minorUnits: $0, currency: .gbp).decimalString)</td>" }.joined()
                    + "<td class=\"n\">\(Money(minorUnits: totals.reduce(0, +), currency: .gbp).decimalString)</td>"
            }
            let before = try await expectedRow()
            #expect(try await client.get("/workspace").body.contains(before))
            _ = await workspace.harness.server.miles.advanceDay(changes: 60)
            _ = try await workspace.harness.sync(store: workspace.store).run(mode: .resume)
            let after = try await expectedRow()
            try #require(after != before, "the day's changes moved the aged debt")
            // The first dashboard after the sync starts the new computation and shows the figures
            // kept meanwhile; once it has finished, the dashboard shows the new ones.
            #expect(try await client.get("/workspace").body.contains(before))
            await workspace.workspace.agedDebt.settled()
            #expect(try await client.get("/workspace").body.contains(after), "the sync's changes reach the dashboard")

            let many = try await client.get("/workspace/contracts?q=C")
            #expect(many.body.contains("More than 50 found"))
            #expect(many.body.components(separatedBy: "<tr><td><a href=\"/workspace/contracts/").count - 1 == 50)
            let one = try await client.get("/workspace/contracts?q=C00000003")
            #expect(one.body.contains("1 found"))
        }
    }

    @Test("risky customers: every signed-in person sees the alerts; only the riskAlerts role is offered and may acknowledge, audited",
          arguments: StoreKind.available)
    func riskAlertsPage(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            var target: String?
            await workspace.harness.server.miles.forEachContract { contract in
                if target == nil, contract.currency == .gbp, contract.openBalance.minorUnits < 2_000_000 { target = contract.contractNumber }
            }
            let number = try #require(target)
            await workspace.harness.server.miles.modifyContract(number: number) { contract in
                let due = LocalDate.parse("2026-10-01")!
                contract.openInvoices = [Invoice(number: "INV-BIG", issueDate: due, dueDate: due, amount: Money(minorUnits: 9_000_000, currency: .gbp),
                                                 openAmount: Money(minorUnits: 9_000_000, currency: .gbp))]
            }
            _ = try await workspace.harness.sync(store: workspace.store).run(mode: .resume)
            let alert = try #require(try await workspace.store.riskAlerts(includeAcknowledged: false, limit: 50).first { $0.alert.contractNumber == number })

            let ann = WorkspaceClient(base: workspace.base)
            try await ann.signIn("ann", WorkspaceHarness.password("ann"))
            let seen = try await ann.get("/workspace/risk")
            #expect(seen.body.contains("open balance 90000.00 GBP"))
            #expect(!seen.body.contains("id=\"acknowledge-\(alert.id)\""), "an agent is not offered the acknowledgement")
            let refused = try await ann.post("/workspace/risk/\(alert.id)/acknowledge", ["csrf": seen.csrf ?? "", "comment": "seen"])
            #expect(refused.status == 403)
            #expect(try await workspace.store.riskAlert(id: alert.id)?.acknowledgedAt == nil)

            let bob = WorkspaceClient(base: workspace.base)
            try await bob.signIn("bob", WorkspaceHarness.password("bob"))
            let page = try await bob.get("/workspace/risk")
            #expect(page.body.contains("id=\"acknowledge-\(alert.id)\""))
            let done = try await bob.post("/workspace/risk/\(alert.id)/acknowledge", ["csrf": page.csrf ?? "", "comment": "new fleet, paying on time"])
            #expect(done.status == 303)
            #expect(try await workspace.store.riskAlert(id: alert.id)?.acknowledgedBy == "bob")
            #expect(try await workspace.store.auditEntries(subject: "risk:\(alert.id)", limit: 5).map(\.actor) == ["bob"])
            #expect(try await bob.get("/workspace/risk").body.contains("bob at"))
        }
    }

    @Test("a one-time password opens only the password page until it is changed",
          arguments: StoreKind.available)
    func oneTimePassword(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let people = PeopleDesk(store: workspace.store, mappings: workspace.harness.mappings, cost: 4)
            let carol = try await people.authenticate(name: "carol", password: WorkspaceHarness.password("carol"))
            let oneTime = try await people.resetPassword(name: "alice", by: carol)
            let alice = WorkspaceClient(base: workspace.base)
            #expect(try await alice.signIn("alice", oneTime).location == "/workspace/password")
            #expect(try await alice.get("/workspace").location == "/workspace/password")
            let form = try await alice.get("/workspace/password")
            #expect(form.body.contains("one-time password"))
            let short = try await alice.post("/workspace/password", ["csrf": form.csrf ?? "", "current": oneTime, "new": "short", "repeat": "short"])
            #expect(short.status == 422 && short.body.contains("at least 12 characters"))
            let changed = try await alice.post("/workspace/password", ["csrf": form.csrf ?? "", "current": oneTime,
                                                                       "new": "alice-new-long-password", "repeat": "alice-new-long-password"])
            #expect(changed.location == "/workspace")
            #expect(try await alice.get("/workspace").status == 200)
            #expect(try await workspace.store.user(named: "alice")?.mustChangePassword == false)
        }
    }

    @Test("with personalData set to teamLeader, an agent sees the contract's customer masked and no view is recorded",
          arguments: StoreKind.available)
    func personalDataByRole(kind: StoreKind) async throws {
        try await withWorkspace(kind) { workspace in
            let folder = temporaryDirectory("mappings-personal")
            try FileManager.default.removeItem(atPath: folder)
            try FileManager.default.copyItem(atPath: repositoryMappings, toPath: folder)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let matrix = folder + "/authority-matrix.yaml"
            try (try String(contentsOfFile: matrix, encoding: .utf8)).replacingOccurrences(of: "personalData: agent", with: "personalData: teamLeader")
                .write(toFile: matrix, atomically: true, encoding: .utf8)
            let mappings = try MappingSet.load(directory: folder)
            let server = try await AgentAPIServer.start(
                configuration: AgentAPIConfiguration(port: 0, tokenHashes: [:]), desk: workspace.harness.ingestDesk(workspace.store, inbox: folder + "/inbox"),
                monitored: workspace.store, routes: [try Workspace(store: workspace.store, mappings: mappings, passwordCost: 4, logger: Logger(label: "w"))],
                logger: Logger(label: "w"))
            let contract = try #require(try await workspace.store.contract(number: "C00000001"))
            let alice = WorkspaceClient(base: "http://127.0.0.1:\(server.port)")
            try await alice.signIn("alice", WorkspaceHarness.password("alice"))
            let page = try await alice.get("/workspace/contracts/C00000001")
            let bob = WorkspaceClient(base: "http://127.0.0.1:\(server.port)")
            try await bob.signIn("bob", WorkspaceHarness.password("bob"))
            let shown = try await bob.get("/workspace/contracts/C00000001")
            await server.stop()
            #expect(!page.body.contains(contract.customer.address.postcode) && page.body.contains("shown to teamLeader and above"))
            #expect(shown.body.contains(contract.customer.address.postcode))
            let views = try await workspace.store.auditEntries(subject: "contract:C00000001", limit: 20).filter { $0.action == "personal-data.viewed" }
            #expect(views.map(\.actor) == ["bob"])
        }
    }
}

extension String {
    /// The text as the pages write it.
    var htmlEscapedForTest: String {
        replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }
}

@Suite("The workspace's sessions (issue 13)")
struct WorkspaceSessionTests {
    @Test("anonymous sessions, which anyone can start, are capped: the oldest go first; signed-in ones stay")
    func anonymousCap() async throws {
        let sessions = WorkspaceSessions(idle: .seconds(60), maxAnonymous: 3)
        let first = await sessions.start()
        let signedIn = await sessions.signIn(replacing: await sessions.start().id, person: CollectionsUser(name: "bob", role: CollectionsRole(name: "teamLeader", rank: 1)),
                                             displayName: "Bob", mustChangePassword: false)
        for _ in 0..<10 { _ = await sessions.start() }
        #expect(await sessions.count == 4, "three anonymous and one signed in")
        #expect(await sessions.session(first.id) == nil)
        #expect(await sessions.session(signedIn.id)?.person?.name == "bob")
    }
}
