import CollectionsDomain
import CollectionsStore
import Foundation
import HTTPServing
import HTTPTypes
import Hummingbird
import Logging
import MilesMapping
import MilesSync
import Mustache

/// The collections workspace, served by `miles-adapter serve` beside the agents' API under
/// `/workspace`: signed-in agents and team leaders see the aged debt, raise and approve write-offs,
/// look up contracts and act on them, and watch the outbox and the audit log. Pages are rendered
/// on the server and work without JavaScript.
///
/// Every page needs a session (else a redirect to sign-in); every form carries the session's CSRF
/// token, checked before anything changes; decisions go through the same desks as the command line,
/// as the signed-in person, and stop while the audit log is broken. Lists mask customers' names;
/// a contract's page shows them and records the view.
public struct Workspace: RouteGroup {
    /// What the pages read and write.
    public typealias Stores = WriteOffDesk.Stores & ContractDesk.Stores & ReportDesk.Stores & PlacementDesk.Stores & OutboxStore & AuditStore
        & PeopleStore & SyncStore & RiskStore & CreditDesk.Stores & ArrangementDesk.Stores & BankStore

    let store: any Stores
    let mappings: MappingSet
    let logger: Logger
    let secureCookies: Bool
    let sessions: WorkspaceSessions
    let library: MustacheLibrary
    let now: CollectionsClock
    let people: PeopleDesk
    /// The dashboard's aged debt, and its largest balances by contract and by customer, kept until
    /// a sync changes a contract or the date moves.
    let agedDebt: KeptFigures<AgedDebtReport>
    let largestByContract: KeptFigures<[AgedDebtRow]>
    let largestByCustomer: KeptFigures<[AgedDebtRow]>
    /// Where placement and recall files go.
    let placementsDirectory: String

    /// `secureCookies` when the workspace is reached over TLS (a proxy in front); `sessionIdle` signs
    /// out a session left alone that long.
    public init(store: any Stores, mappings: MappingSet, secureCookies: Bool = false, sessionIdle: Duration = .seconds(30 * 60),
                passwordCost: UInt8 = 12, placementsDirectory: String = "placements", logger: Logger, now: CollectionsClock = .system) throws {
        self.placementsDirectory = placementsDirectory
        self.store = store
        self.mappings = mappings
        self.logger = logger
        self.secureCookies = secureCookies
        sessions = WorkspaceSessions(idle: sessionIdle)
        library = try WorkspaceTemplates.library()
        self.now = now
        people = PeopleDesk(store: store, mappings: mappings, cost: passwordCost, now: now)
        agedDebt = .agedDebt(store: store)
        largestByContract = KeptFigures(store: store) { try await AgedDebtRow.largest(by: .contract, in: store, asOf: $0) }
        largestByCustomer = KeptFigures(store: store) { try await AgedDebtRow.largest(by: .customer, in: store, asOf: $0) }
    }

    static let cookie = "miles_session"

    /// Keeps the dashboard's aged debt ready: computes it now, and again whenever a sync has written
    /// contracts since, looking every `interval` until cancelled; so the first person in after the
    /// night's sync does not wait seconds for it.
    public func keepFiguresCurrent(every interval: Duration = .seconds(60)) async {
        while !Task.isCancelled {
            do {
                let (asOf, _) = try await ReportDesk.businessDate(from: store, today: now().date)
                _ = try await agedDebt.value(asOf: asOf)
            } catch {
                logger.warning("the aged debt could not be computed ahead of the dashboard", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    public func register(on router: Router<ClientRequestContext>) {
        router.get("workspace/sign-in") { request, _ in await signInForm(request) }
        router.post("workspace/sign-in") { request, context in await signIn(request, source: context.source) }
        router.post("workspace/sign-out") { request, _ in await signOut(request) }
        router.get("workspace/password") { request, _ in await passwordForm(request) }
        router.post("workspace/password") { request, _ in await changePassword(request) }
        router.get("workspace") { request, _ in await page(request) { try await dashboard($0) } }
        router.get("workspace/aged-debt.csv") { request, _ in await page(request) { _ in try await agedDebtCSV() } }
        router.get("workspace/aged-debt/:group") { request, context in
            await page(request) { try await agedDebtBy(customer: context.parameters.get("group") == "customers", $0) }
        }
        router.get("workspace/writeoffs") { request, _ in
            await page(request) { try await writeOffs(state: FormData(query: request.uri.query).fields["state"], $0) }
        }
        router.get("workspace/writeoffs.csv") { request, _ in await page(request) { _ in try await writeOffExport() } }
        router.post("workspace/writeoffs/upload") { request, _ in await action(request, sending: .writeOffs) { try await upload($0, $1) } }
        router.post("workspace/writeoffs/:id/approve") { request, context in
            await action(request, sending: .writeOffs) { try await decide(writeOff: context.parameters.get("id", as: Int64.self), approve: true, $0, $1) }
        }
        router.post("workspace/writeoffs/:id/reject") { request, context in
            await action(request) { try await decide(writeOff: context.parameters.get("id", as: Int64.self), approve: false, $0, $1) }
        }
        router.get("workspace/contracts") { request, _ in await page(request) { try await contracts(request, $0) } }
        router.get("workspace/contracts/:number") { request, context in
            await page(request) { try await contract(context.parameters.get("number") ?? "", $0) }
        }
        router.post("workspace/contracts/:number/note") { request, context in
            await action(request, sending: .note) { try await note(context.parameters.get("number") ?? "", $0, $1) }
        }
        router.post("workspace/contracts/:number/status") { request, context in
            await action(request, sending: .statusChange) { try await statusChange(context.parameters.get("number") ?? "", $0, $1) }
        }
        router.post("workspace/contracts/:number/hold") { request, context in
            await action(request) { try await hold(context.parameters.get("number") ?? "", $0, $1) }
        }
        router.post("workspace/contracts/:number/notice") { request, context in
            await action(request) { try await notice(context.parameters.get("number") ?? "", $0, $1) }
        }
        router.post("workspace/contracts/:number/credit") { request, context in
            await action(request, sending: .credit) { try await raiseCredit(context.parameters.get("number") ?? "", $0, $1) }
        }
        router.post("workspace/contracts/:number/letter") { request, context in
            await action(request, sending: .letter) { try await requestLetter(context.parameters.get("number") ?? "", $0, $1) }
        }
        router.post("workspace/contracts/:number/arrangement") { request, context in
            await action(request, sending: .arrangement) { try await proposeArrangement(context.parameters.get("number") ?? "", $0, $1) }
        }
        router.get("workspace/approvals") { request, _ in await page(request) { try await approvals($0) } }
        let approvalDecisions: [String: PageDecision] = ["credits": .credit, "reversals": .writeOffReversal, "arrangements": .arrangement]
        for (kind, decision) in approvalDecisions {
            router.post("workspace/\(kind)/:id/approve") { request, context in
                await action(request, sending: decision) { try await decide(kind, id: context.parameters.get("id", as: Int64.self), approve: true, $0, $1) }
            }
            router.post("workspace/\(kind)/:id/reject") { request, context in
                await action(request) { try await decide(kind, id: context.parameters.get("id", as: Int64.self), approve: false, $0, $1) }
            }
        }
        router.post("workspace/arrangements/:id/close") { request, context in
            await action(request, sending: .arrangementClose) { session, _ in try await closeArrangement(context.parameters.get("id", as: Int64.self), session) }
        }
        router.get("workspace/agents") { request, _ in await page(request) { try await agents($0) } }
        router.post("workspace/agents/place") { request, _ in
            await action(request, sending: .placement) { try await place($0, $1) }
        }
        router.get("workspace/outbox") { request, _ in await page(request) { try await outbox($0) } }
        router.post("workspace/outbox/:id/retry") { request, context in
            await action(request) { try await outboxDecision(context.parameters.get("id", as: Int64.self), skip: false, $0, $1) }
        }
        router.post("workspace/outbox/:id/skip") { request, context in
            await action(request) { try await outboxDecision(context.parameters.get("id", as: Int64.self), skip: true, $0, $1) }
        }
        router.get("workspace/bank") { request, _ in await page(request) { try await bankQueue($0) } }
        router.post("workspace/bank/:id/allocate") { request, context in
            await action(request, sending: .allocation) {
                try await allocateBankEntry(context.parameters.get("id", as: Int64.self), $0, $1)
            }
        }
        router.get("workspace/audit") { request, _ in await page(request) { try await audit($0) } }
        router.get("workspace/risk") { request, _ in await page(request) { try await riskAlerts($0) } }
        router.post("workspace/risk/:id/acknowledge") { request, context in
            await action(request) { try await acknowledgeRisk(context.parameters.get("id", as: Int64.self), $0, $1) }
        }
    }

    // MARK: Sessions

    private func sessionId(_ request: Request) -> String? {
        guard let header = request.headers[.cookie] else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == Self.cookie { return String(pair[1]) }
        }
        return nil
    }

    private func cookie(_ id: String, expire: Bool = false) -> String {
        "\(Self.cookie)=\(expire ? "" : id); Path=/workspace; HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")
            + (expire ? "; Max-Age=0" : "")
    }

    private func signInForm(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async -> Response {
        let existing = await sessions.session(sessionId(request))
        let session: WorkspaceSessions.Session
        if let existing { session = existing } else { session = await sessions.start() }
        if session.person != nil, error == nil { return redirect("/workspace") }
        var response = render("sign-in", Self.present(["title": "Sign in", "error": error]), session: session, status: status)
        response.headers[.setCookie] = cookie(session.id)
        return response
    }

    private func signIn(_ request: Request, source: String) async -> Response {
        guard let session = await sessions.session(sessionId(request)), let form = await readForm(request),
              Self.same(form["csrf"], session.csrf) else {
            return await signInForm(request, error: "The sign-in form had expired; please sign in again.", status: .forbidden)
        }
        do {
            let person = try await people.authenticate(name: form["name"], password: form["password"])
            let stored = try await store.user(named: person.name)
            let mustChange = stored?.mustChangePassword ?? false
            let signedIn = await sessions.signIn(replacing: session.id, person: person, displayName: stored?.displayName ?? person.name,
                                                 mustChangePassword: mustChange)
            logger.info("workspace sign-in", metadata: ["user": "\(person.name)", "source": "\(source)"])
            var response = redirect(mustChange ? "/workspace/password" : "/workspace")
            response.headers[.setCookie] = cookie(signedIn.id)
            return response
        } catch let error as IdentityError {
            logger.warning("workspace sign-in refused", metadata: ["user": "\(form["name"])", "source": "\(source)", "why": "\(error.code)"])
            return await signInForm(request, error: error.description, status: .unauthorized)
        } catch {
            return failure(error, session: session)
        }
    }

    private func signOut(_ request: Request) async -> Response {
        guard let session = await sessions.session(sessionId(request)), let form = await readForm(request),
              Self.same(form["csrf"], session.csrf) else {
            return redirect("/workspace/sign-in")
        }
        await sessions.signOut(session.id)
        var response = redirect("/workspace/sign-in")
        response.headers[.setCookie] = cookie("", expire: true)
        return response
    }

    private func passwordForm(_ request: Request, error: String? = nil) async -> Response {
        guard let session = await sessions.session(sessionId(request)), session.person != nil else { return redirect("/workspace/sign-in") }
        return render("password", Self.present(["title": "Change your password", "error": error, "oneTime": session.mustChangePassword]),
                      session: session, status: error == nil ? .ok : .unprocessableContent)
    }

    private func changePassword(_ request: Request) async -> Response {
        guard let session = await sessions.session(sessionId(request)), let person = session.person else { return redirect("/workspace/sign-in") }
        guard let form = await readForm(request), Self.same(form["csrf"], session.csrf) else { return await passwordForm(request, error: "The form had expired.") }
        guard form["new"] == form["repeat"] else { return await passwordForm(request, error: "The two new passwords differ.") }
        do {
            try await people.changePassword(name: person.name, current: form["current"], new: form["new"])
        } catch let error as IdentityError {
            return await passwordForm(request, error: error.description)
        } catch {
            return failure(error, session: session)
        }
        await sessions.passwordChanged(session.id)
        await flash(session, "Your password is changed.")
        return redirect("/workspace")
    }

    /// A page for a signed-in person; anyone else is sent to sign in, and someone with a one-time
    /// password to change it.
    private func page(_ request: Request, _ body: (WorkspaceSessions.Session) async throws -> Response) async -> Response {
        guard let session = await live(sessions.session(sessionId(request))) else { return redirect("/workspace/sign-in") }
        if session.mustChangePassword { return redirect("/workspace/password") }
        do { return try await body(session) } catch { return failure(error, session: session) }
    }

    /// A decision sent from a page: the signed-in person's, from this session's form (CSRF), refused with
    /// nothing changed when the audit log is broken or the mapping lacks what MILES needs for the work it
    /// would queue (`decision`'s jobs, as the command line's): queued, it would wait in the outbox for ever
    /// and stop every push.
    private func action(_ request: Request, sending decision: PageDecision? = nil,
                        _ body: (WorkspaceSessions.Session, FormData) async throws -> Response) async -> Response {
        guard let session = await live(sessions.session(sessionId(request))) else { return redirect("/workspace/sign-in") }
        if session.mustChangePassword { return redirect("/workspace/password") }
        guard let form = await readForm(request), Self.same(form["csrf"], session.csrf) else {
            return render("message", ["title": "Refused", "error": "The form was not sent from this session's page (a missing or wrong CSRF token): "
                                      + "nothing was changed. Reload the page and try again."], session: session, status: .forbidden)
        }
        do {
            if let refusal = decision?.refusals(in: mappings.contract).first { throw refusal }
            try await AuditDesk(store: store, mappings: mappings, now: now).requireIntact()
            return try await body(session, form)
        } catch {
            return failure(error, session: session, back: Self.formPage(of: request.uri.path))
        }
    }

    /// The page a decision's form is on, for the refusal's way back: a contract's own page for the forms on
    /// it, the Approvals page for credit notes, reversals and plans, otherwise the section's page.
    static func formPage(of path: String) -> (path: String, name: String) {
        let parts = path.split(separator: "/").map(String.init)
        guard parts.count >= 2, parts[0] == "workspace" else { return ("/workspace", "the dashboard") }
        switch parts[1] {
        case "contracts" where parts.count >= 3: return ("/workspace/contracts/\(parts[2])", "contract \(parts[2])")
        case "credits", "reversals", "arrangements": return ("/workspace/approvals", "Approvals")
        case "writeoffs", "agents", "outbox", "bank", "risk": return ("/workspace/\(parts[1])", "the \(parts[1] == "writeoffs" ? "write-offs" : parts[1]) page")
        default: return ("/workspace", "the dashboard")
        }
    }

    /// The session's person as the store has them now, with their current role: someone disabled,
    /// locked or removed since signing in is signed out, and a reset password must be changed.
    private func live(_ session: WorkspaceSessions.Session?) async -> WorkspaceSessions.Session? {
        guard let session, let person = session.person else { return nil }
        guard let stored = try? await store.user(named: person.name), stored.enabled, !stored.locked,
              let role = mappings.authorityMatrix.role(named: stored.role) else {
            await sessions.signOut(session.id)
            return nil
        }
        var current = session
        current.person = CollectionsUser(name: stored.name, role: role)
        current.mustChangePassword = current.mustChangePassword || stored.mustChangePassword
        return current
    }

    private func readForm(_ request: Request) async -> FormData? {
        guard let body = try? await request.body.collect(upTo: 4 << 20) else { return nil }
        return try? FormData(contentType: request.headers[.contentType], body: Array(buffer: body))
    }

    /// Compares without an early exit, so timing says nothing of how much of a token matched.
    private static func same(_ given: String, _ expected: String) -> Bool {
        let (a, b) = (Array(given.utf8), Array(expected.utf8))
        guard a.count == b.count, !a.isEmpty else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    // MARK: Rendering

    func render(_ template: String, _ data: [String: Any], session: WorkspaceSessions.Session, status: HTTPResponse.Status = .ok) -> Response {
        var context = data
        context["csrf"] = session.csrf
        context.merge(PageDecision.offers(in: mappings.contract)) { page, _ in page }
        if let person = session.person {
            context["person"] = ["displayName": session.displayName ?? person.name, "role": person.role.name, "csrf": session.csrf]
        }
        let html = library.render(context, withTemplate: template) ?? "template \(template) is missing"
        return Response(status: status, headers: Self.pageHeaders(type: "text/html; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The values that are there: a missing one (nil) must leave its section out, not print "nil".
    static func present(_ values: [String: Any?]) -> [String: Any] {
        values.compactMapValues { $0 }
    }

    static func pageHeaders(type: String) -> HTTPFields {
        [.contentType: type, .cacheControl: "no-store", .contentSecurityPolicy: "default-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
         HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("Referrer-Policy")!: "no-referrer", HTTPField.Name("X-Content-Type-Options")!: "nosniff"]
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// A refusal or failure in our words on the page, with the way back to the page it came from (the
    /// browser's Back keeps what was typed); an unexpected one is logged with a reference.
    private func failure(_ error: any Error, session: WorkspaceSessions.Session,
                         back: (path: String, name: String) = ("/workspace", "the dashboard")) -> Response {
        let message: String
        let status: HTTPResponse.Status
        switch error {
        case let error as WriteOffDeskError: (message, status) = (error.description, .unprocessableContent)
        case let error as ContractDeskError: (message, status) = (error.description, .unprocessableContent)
        case let error as CreditDeskError: (message, status) = (error.description, .unprocessableContent)
        case let error as ArrangementDeskError:
            (message, status) = (error.description, error.code == .approvalRefused ? .forbidden : .unprocessableContent)
        case let error as ArrangementError: (message, status) = (error.description, .unprocessableContent)
        case let error as IdentityError: (message, status) = (error.description, .forbidden)
        case let error as AuditDeskError: (message, status) = (error.description, .conflict)
        case let error as RiskDeskError: (message, status) = (error.description, error.code == .notAuthorised ? .forbidden : .unprocessableContent)
        case let error as StoreError: (message, status) = (error.description, .unprocessableContent)
        case let error as OutboxDeskError: (message, status) = (error.description, .unprocessableContent)
        case let error as PlacementError: (message, status) = (error.description, .unprocessableContent)
        case let error as CSVFileError: (message, status) = (error.description, .unprocessableContent)
        case let error as UnmappedOperationError:
            (message, status) = ("This MILES cannot take it: \(error.description) (contract.yaml). Nothing was changed.", .conflict)
        default:
            let reference = UUID().uuidString.prefix(8).lowercased()
            logger.error("workspace: unexpected failure", metadata: ["reference": "\(reference)", "error": "\(error)"])
            (message, status) = ("Something went wrong; the adapter's log has the cause (reference \(reference)).", .internalServerError)
        }
        return render("message", ["title": "Refused", "error": message, "back": back.path, "backName": back.name], session: session, status: status)
    }

    func person(_ session: WorkspaceSessions.Session) -> CollectionsUser { session.person! }

    static func masked(_ name: String) -> String {
        name.split(separator: " ").map { word in word.count <= 1 ? String(word) : String(word.prefix(1)) + "…" }.joined(separator: " ")
    }

    func flash(_ session: WorkspaceSessions.Session, _ text: String, error: Bool = false) async {
        await sessions.setFlash(session.id, text, error: error)
    }

    func takeFlash(_ session: WorkspaceSessions.Session) async -> [String: Any] {
        guard let (text, isError) = await sessions.takeFlash(session.id) else { return [:] }
        return [isError ? "error" : "notice": text]
    }
}
