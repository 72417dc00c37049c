import CollectionsDomain
import CollectionsStore
import Foundation
import Hummingbird
import MilesMapping
import MilesSync

/// The workspace's pages and the decisions taken on them.
extension Workspace {
    // MARK: Dashboard

    func dashboard(_ session: WorkspaceSessions.Session) async throws -> Response {
        let person = person(session)
        let (asOf, source) = try await ReportDesk.businessDate(from: store, today: now().date)
        let report = try await agedDebt.value(asOf: asOf)
        let currencies = report.totals.keys.sorted { $0.code < $1.code }
        let rows: [[String: Any]] = currencies.map { currency in
            let totals = report.totals[currency] ?? []
            return ["currency": currency.code, "amounts": totals.map { Money(minorUnits: $0, currency: currency).decimalString },
                    "total": Money(minorUnits: totals.reduce(0, +), currency: currency).decimalString]
        }
        let charts: [[String: Any]] = currencies.map { currency in
            ["currency": currency.code, "svg": AgedDebtChart.svg(labels: report.buckets.labels, minorUnits: report.totals[currency] ?? [], currency: currency)]
        }
        let lastRun = try await store.runs(job: ContractSync.Configuration().job, limit: 1).first
        let outbox = try await store.outboxCounts()
        let pending = outbox[.pending, default: 0]
        let dead = outbox[.deadLetter, default: 0]
        let awaiting = try await store.writeOffRequests(state: .pendingApproval).filter { mayApprove($0, person) }
        let recent: [[String: Any]] = try await store.latestWriteOffRequests(limit: 10).map(Self.requestRow)
        var data: [String: Any] = [
            "title": "Dashboard", "asOf": asOf.description, "asOfSource": source, "buckets": report.buckets.labels, "rows": rows, "charts": charts,
            "lastSync": lastRun.map { $0.startedAt.description } ?? "never", "lastSyncOutcome": lastRun.map { $0.outcome.rawValue } ?? "",
            "outboxDepth": pending, "deadLetters": dead, "awaitingCount": awaiting.count, "approvalsAwaiting": try await approvalsAwaiting(person),
            "recent": recent,
        ]
        data.merge(await takeFlash(session)) { $1 }
        return render("dashboard", data, session: session)
    }

    func agedDebtCSV() async throws -> Response {
        let (asOf, _) = try await ReportDesk.businessDate(from: store, today: now().date)
        let report = try await agedDebt.value(asOf: asOf)
        let rows = report.totals.keys.sorted { $0.code < $1.code }.map { currency in
            [currency.code] + (report.totals[currency] ?? []).map { Money(minorUnits: $0, currency: currency).decimalString }
        }
        return download(CSVText.render(header: ["currency"] + report.buckets.labels, rows: rows), name: "aged-debt-\(asOf).csv")
    }

    /// The aged debt summed per customer or per contract, largest open balance first.
    func agedDebtBy(customer: Bool, _ session: WorkspaceSessions.Session) async throws -> Response {
        let (asOf, _) = try await ReportDesk.businessDate(from: store, today: now().date)
        let largest = try await (customer ? largestByCustomer : largestByContract).value(asOf: asOf)
        let rows: [[String: Any]] = largest.map { row in
            let totals = row.report.totals[row.currency] ?? []
            return Self.present(["name": customer ? "\(row.key) \(Self.masked(row.customerName))" : row.key, "link": customer ? nil : row.key,
                                 "currency": row.currency.code,
                                 "amounts": totals.map { Money(minorUnits: $0, currency: row.currency).decimalString },
                                 "total": Money(minorUnits: totals.reduce(0, +), currency: row.currency).decimalString])
        }
        return render("aged-debt-by", ["title": "Aged debt by \(customer ? "customer" : "contract")", "group": customer ? "customer" : "contract",
                                       "asOf": asOf.description, "limit": AgedDebtRow.shown, "buckets": AgedDebtBuckets.standard.labels,
                                       "rows": rows], session: session)
    }

    // MARK: Write-offs

    /// The write-off page: the requests in `state` (all when nil), and the lines of a file just uploaded.
    func writeOffs(state: String?, _ session: WorkspaceSessions.Session, lines: [[String: Any]] = []) async throws -> Response {
        let person = person(session)
        let wanted = state.flatMap(WriteOffRequest.State.init(rawValue:))
        let requests = try await store.writeOffRequests(state: wanted).sorted { $0.id > $1.id }
        var data: [String: Any] = [
            "title": "Write-offs", "lines": lines, "hasLines": !lines.isEmpty,
            "states": WriteOffRequest.State.allCases.map { ["value": $0.rawValue, "selected": $0 == wanted] },
            "requests": requests.map { request -> [String: Any] in
                var row = Self.requestRow(request)
                if request.state == .pendingApproval, mayApprove(request, person) { row["pending"] = ["id": request.id, "csrf": session.csrf] }
                return row
            },
        ]
        data.merge(await takeFlash(session)) { $1 }
        return render("writeoffs", data, session: session)
    }

    func writeOffExport() async throws -> Response {
        download(WriteOffExport.csv(try await store.writeOffRequests(state: nil)), name: "writeoffs-audit.csv")
    }

    /// Raises a request for each good row of the uploaded file; each row's outcome is listed with its line.
    func upload(_ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        guard let file = form.files["file"], !file.bytes.isEmpty else {
            await flash(session, "Choose a write-off file to upload.", error: true)
            return redirect("/workspace/writeoffs")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("workspace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: folder) }
        let name = (file.name as NSString).lastPathComponent.isEmpty ? "upload.csv" : (file.name as NSString).lastPathComponent
        let path = folder.appendingPathComponent(name).path
        guard FileManager.default.createFile(atPath: path, contents: Data(file.bytes), attributes: [.posixPermissions: 0o600]) else {
            await flash(session, "The file could not be kept for reading; the adapter's temporary folder may be full.", error: true)
            return redirect("/workspace/writeoffs")
        }
        let uploaded: WriteOffFile
        do {
            uploaded = try WriteOffFile(path: path)
        } catch {
            // Named as the agent named it: the server's temporary folder means nothing to them.
            throw CSVFileError(path: name, message: error.message)
        }
        let report = try await WriteOffDesk(store: store, mappings: mappings, now: now).prepare(file: uploaded, by: person(session))
        var lines: [(Int, String)] = report.created.map { ($0.line, "request \($0.id) raised") }
        lines += report.alreadyRequested.map { ($0.line, "already requested as \($0.id) (\($0.state.rawValue)); nothing new") }
        lines += report.refused.map { ($0.line, "refused: \($0.reason)") }
        await flash(session, "\(report.created.count) raised, \(report.alreadyRequested.count) already requested, \(report.refused.count) refused",
                    error: !report.refused.isEmpty && report.created.isEmpty)
        return try await writeOffs(state: nil, session, lines: lines.sorted { $0.0 < $1.0 }.map { ["line": $0.0, "text": $0.1] })
    }

    func decide(writeOff id: Int64?, approve: Bool, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        guard let id else { return redirect("/workspace/writeoffs") }
        let desk = WriteOffDesk(store: store, mappings: mappings, now: now)
        if approve {
            let comment = form["comment"].isEmpty ? nil : form["comment"]
            switch await desk.approve(ids: [id], by: person(session), comment: comment).first?.result {
            case .success(true)?: await flash(session, "Request \(id) approved; queued for MILES.")
            case .success(false)?: await flash(session, "Request \(id) approved; it waits for a second approver.")
            case let .failure(error)?: await flash(session, "Request \(id) not approved: \(error)", error: true)
            case nil: break
            }
        } else {
            switch await desk.reject(ids: [id], by: person(session), reason: form["reason"]).first?.result {
            case .success?: await flash(session, "Request \(id) rejected.")
            case let .failure(error)?: await flash(session, "Request \(id) not rejected: \(error)", error: true)
            case nil: break
            }
        }
        return redirect("/workspace/writeoffs")
    }

    /// Whether the person may approve the request: not their own, not approved by them already, and
    /// their role at least the one it needs (the desk checks all of it again).
    func mayApprove(_ request: WriteOffRequest, _ person: CollectionsUser) -> Bool {
        guard request.requestedBy != person.name, !request.approvals.contains(where: { $0.approver == person.name }),
              let needed = mappings.authorityMatrix.role(named: request.requiredRole) else { return false }
        return person.role.rank >= needed.rank
    }

    static func requestRow(_ request: WriteOffRequest) -> [String: Any] {
        ["id": request.id, "contract": request.contractNumber, "amount": request.amount.description, "reason": request.reason.rawValue,
         "needs": "\(request.requiredRole), \(request.approvalsNeeded) approver(s)", "matrix": request.matrixVersion,
         "state": request.state.rawValue, "requestedBy": request.requestedBy]
    }

    // MARK: Contracts

    func contracts(_ request: Request, _ session: WorkspaceSessions.Session) async throws -> Response {
        let query = FormData(query: request.uri.query)["q"].trimmingCharacters(in: .whitespaces)
        let shown = 50
        let matches = query.isEmpty ? [] : try await store.searchContracts(matching: query, limit: shown + 1)
        let found = matches.prefix(shown)
        let results: [[String: Any]] = found.map { contract in
            ["number": contract.contractNumber, "customer": Self.masked(contract.customer.name),
             "status": mappings.statusCodes.internalStatus(forMilesCode: contract.statusCode)?.rawValue ?? contract.statusCode,
             "open": contract.openBalance.description, "arrears": contract.arrears.amount.description]
        }
        let count = matches.count > shown ? "More than \(shown)" : "\(found.count)"
        // An agent who finds no one by name while the first load is stored must not take it for "no such customer".
        let firstLoad = try await store.firstLoadUnderWay()
        return render("contracts", ["title": "Contracts", "q": query, "count": count, "more": matches.count > shown, "shown": shown, "results": results,
                                    "firstLoad": firstLoad],
                      session: session)
    }

    func contract(_ path: String, _ session: WorkspaceSessions.Session) async throws -> Response {
        // As a person types an address: with spaces or in small letters, it is still the contract.
        let number = (path.removingPercentEncoding ?? path).trimmingCharacters(in: .whitespaces)
        guard let view = try await ContractDesk(store: store, mappings: mappings, now: now).view(contractNumber: number) else {
            return render("contracts", ["title": "Contracts", "q": number, "count": 0, "results": [Any](),
                                        "error": "There is no contract \(number) in the store."], session: session, status: .notFound)
        }
        // One address per contract, the one its links use.
        if view.contract.contractNumber != path { return redirect("/workspace/contracts/\(view.contract.contractNumber)") }
        let contract = view.contract
        let person = person(session)
        let shown = person.role.rank >= mappings.authorityMatrix.personalDataRole.rank
        if shown { try await store.recordPersonalDataView(by: person.name, partnerId: contract.customer.partnerId, contractNumber: number, at: now()) }
        let address = contract.customer.address
        let masked = "‹shown to \(mappings.authorityMatrix.personalDataRole.name) and above›"
        var data: [String: Any] = [
            "title": number, "number": number, "statusCode": contract.statusCode,
            "status": mappings.statusCodes.internalStatus(forMilesCode: contract.statusCode)?.rawValue ?? "unknown to the mapping",
            "version": contract.version, "agreement": contract.agreementType.rawValue, "open": contract.openBalance.description,
            "arrears": contract.arrears.amount.description, "missed": contract.arrears.missedPayments,
            "partnerId": contract.customer.partnerId, "customerName": shown ? contract.customer.name : Self.masked(contract.customer.name),
            "address": shown ? [address.line1, address.line2, address.town, address.postcode].compactMap { $0 }.joined(separator: ", ") : masked,
            "contact": shown ? (contract.customer.phones + [contract.customer.email].compactMap { $0 }).joined(separator: " · ") : masked,
            "vulnerable": contract.customer.vulnerable,
            "invoices": contract.openInvoices.filter { $0.openAmount.minorUnits > 0 }.map {
                ["number": $0.number, "due": $0.dueDate.description, "open": $0.openAmount.description, "amount": $0.amount.description]
            },
            "holds": view.holds.filter { $0.liftedOn == nil }.map { "hold: \($0.kind.rawValue) since \($0.setOn) by \($0.setBy): \($0.reason)" },
            "notices": view.notices.arrearsNoticesSent.map { "arrears notice sent \($0)" }
                + (view.notices.defaultNotice.map { ["default notice served \($0.served), remedy by \($0.remedyDate)"] } ?? []),
            "guards": view.refusals.map { item -> [String: Any] in
                ["action": "\(item.action.rawValue) (to \(item.action.targetStatus.rawValue))", "allowed": item.refusals.isEmpty,
                 "refusals": item.refusals.map(\.description)]
            },
            "statuses": ContractStatus.allCases.map(\.rawValue),
            "letterTypes": LetterType.allCases.map(\.rawValue),
            "statusReasons": mappings.statusCodes.statusChangeReasons.sorted { $0.key < $1.key }.map { ["code": $0.key, "meaning": $0.value] },
            "creditReasons": mappings.statusCodes.creditReasons.sorted { $0.key < $1.key }.map { ["code": $0.key, "meaning": $0.value] },
            "frequencies": PaymentArrangement.Frequency.allCases.reversed().map(\.rawValue),
            "holdKinds": ContractHold.Kind.allCases.map(\.rawValue),
            // An override is offered only for the rules this person's role may set aside.
            "overrides": mappings.authorityMatrix.guardOverrideRoles.filter { person.role.rank >= $0.value.rank }.keys.sorted(),
            "mayOverride": mappings.authorityMatrix.guardOverrideRoles.contains { person.role.rank >= $0.value.rank },
            "money": try await moneyAskedFor(number),
            "trail": try await store.auditEntries(subject: "contract:\(number)", limit: 200).map {
                ["at": $0.at.description, "actor": $0.actor, "action": $0.action, "details": $0.details]
            },
        ]
        if let placedWith = view.placedWith { data["placedWith"] = placedWith }
        data.merge(await takeFlash(session)) { $1 }
        return render("contract", data, session: session)
    }

    /// The payment plans, credit notes, write-offs and their reversals asked for on the contract, in any state,
    /// newest first within each kind: an agent sees a plan or a credit already raised before raising another.
    func moneyAskedFor(_ number: String) async throws -> [[String: Any]] {
        var rows: [[String: Any]] = []
        for proposal in try await store.arrangements(contractNumber: number) {
            let plan = proposal.plan
            rows.append(["what": "payment plan", "id": proposal.id, "amount": plan.total.description, "details": Self.summary(of: plan),
                         "state": proposal.state.rawValue, "by": proposal.proposedBy])
        }
        for credit in try await store.creditNotes(contractNumber: number) {
            rows.append(["what": "credit note", "id": credit.id, "amount": credit.amount.description, "details": "\(credit.reasonCode): \(credit.comment)",
                         "state": credit.trail.state.rawValue, "by": credit.trail.requestedBy])
        }
        for request in try await store.writeOffRequests(contractNumber: number) {
            rows.append(["what": "write-off", "id": request.id, "amount": request.amount.description, "details": "\(request.reason.rawValue): \(request.comment)",
                         "state": request.state.rawValue, "by": request.requestedBy])
        }
        for reversal in try await store.writeOffReversals(contractNumber: number) {
            rows.append(["what": "write-off reversal", "id": reversal.id, "amount": reversal.amount.description,
                         "details": "\(reversal.reasonCode): \(reversal.comment) (write-off \(reversal.writeOffRequestId))",
                         "state": reversal.trail.state.rawValue, "by": reversal.trail.requestedBy])
        }
        return rows
    }

    func note(_ number: String, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        let text = form["text"].trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.count <= ContractNote.maxTextLength else {
            await flash(session, "A note has 1 to \(ContractNote.maxTextLength) characters.", error: true)
            return redirect("/workspace/contracts/\(number)")
        }
        let category = form["category"].trimmingCharacters(in: .whitespaces)
        do {
            let id = try await ContractDesk(store: store, mappings: mappings, now: now)
                .queueNote(contractNumber: number, category: category.isEmpty ? "COLL" : category, text: text, by: person(session).name)
            await flash(session, "Note \(id) queued for MILES.")
        } catch let error as ContractDeskError where error.code == .invalidNote {
            await flash(session, error.description, error: true)
        }
        return redirect("/workspace/contracts/\(number)")
    }

    /// A status change through the transition table and the guards, as the command line asks for it;
    /// a refusal comes back with its rules.
    func statusChange(_ number: String, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        guard let target = ContractStatus(rawValue: form["to"]) else {
            await flash(session, "Choose a status to change to.", error: true)
            return redirect("/workspace/contracts/\(number)")
        }
        func given(_ name: String) -> String? { form[name].trimmingCharacters(in: .whitespaces).isEmpty ? nil : form[name] }
        let overrides = given("overrideRule").map { [$0: form["overrideReason"]] } ?? [:]
        do {
            let id = try await ContractDesk(store: store, mappings: mappings, now: now).requestStatusChange(
                contractNumber: number, to: target, reasonCode: form["reason"], effectiveDate: now().date,
                evidence: CollectionsGuards.Evidence(courtOrderReference: given("courtOrder"), customerConsent: given("customerConsent"),
                                                     abandonment: given("abandoned")),
                by: person(session), overrides: overrides)
            await flash(session, "Status change \(id) to \(target.rawValue) queued for MILES.")
        } catch let error as ContractDeskError {
            await flash(session, "Status change refused: " + error.refusals.joined(separator: " · "), error: true)
        }
        return redirect("/workspace/contracts/\(number)")
    }

    func hold(_ number: String, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        guard let kind = ContractHold.Kind(rawValue: form["kind"]) else {
            await flash(session, "Choose a kind of hold.", error: true)
            return redirect("/workspace/contracts/\(number)")
        }
        let desk = ContractDesk(store: store, mappings: mappings, now: now)
        do {
            if form["lift"] == "yes" {
                try await desk.liftHold(contractNumber: number, kind: kind, by: person(session).name)
                await flash(session, "The \(kind.rawValue) hold is lifted.")
            } else {
                try await desk.setHold(contractNumber: number, kind: kind, reason: form["reason"], by: person(session).name)
                await flash(session, "A \(kind.rawValue) hold is set.")
            }
        } catch let error as ContractDeskError {
            await flash(session, error.description, error: true)
        } catch let error as StoreError {
            await flash(session, error.description, error: true)
        }
        return redirect("/workspace/contracts/\(number)")
    }

    func notice(_ number: String, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        guard let served = LocalDate.parse(form["served"]), let remedy = LocalDate.parse(form["remedy"]) else {
            // Said of the date given: 2026-02-30 is written right but is no day.
            let bad = [form["served"], form["remedy"]].first { LocalDate.parse($0) == nil } ?? ""
            await flash(session, bad.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}/) != nil
                ? "\(bad) is not a day of the calendar." : "'\(bad)' is not a date: dates are written like 2026-10-01.", error: true)
            return redirect("/workspace/contracts/\(number)")
        }
        do {
            try await ContractDesk(store: store, mappings: mappings, now: now).recordNotice(
                contractNumber: number, arrearsNoticeSentOn: nil, defaultNotice: .init(served: served, remedyDate: remedy), by: person(session).name)
            await flash(session, "The default notice is recorded.")
        } catch let error as ContractDeskError {
            await flash(session, error.description, error: true)
        }
        return redirect("/workspace/contracts/\(number)")
    }

    // MARK: Agents

    func agents(_ session: WorkspaceSessions.Session, result: [[String: Any]] = []) async throws -> Response {
        var rows: [[String: Any]] = []
        for agent in mappings.agents.values.sorted(by: { $0.agent < $1.agent }) {
            rows.append(["agent": agent.agent, "name": agent.name, "placed": try await store.placedContracts(agent: agent.agent).count])
        }
        var data: [String: Any] = [
            "title": "Agents", "agents": rows, "result": result, "hasResult": !result.isEmpty,
            "deliveries": try await store.inboxFiles(agent: nil, state: nil, limit: 50).map {
                ["id": $0.id, "agent": $0.agent, "name": $0.originalName, "channel": $0.channel, "state": $0.state.rawValue, "applied": $0.applied,
                 "refused": $0.refused, "rejected": $0.rejected]
            },
            "refusedUpdates": try await store.refusedUpdates(limit: 50).map {
                ["delivery": $0.inboxFileId, "line": $0.line, "agent": $0.agent, "contract": $0.contractNumber, "details": $0.details, "refusal": $0.refusal ?? ""]
            },
        ]
        data.merge(await takeFlash(session)) { $1 }
        return render("agents", data, session: session)
    }

    /// Places accounts with an agent (a placement file and the status changes) or recalls them,
    /// through the same desk as the command line; each account's outcome is listed.
    func place(_ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        let numbers = form["contracts"].split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let recall = form["what"] == "recall"
        guard let reason = mappings.statusCodes.defaultReasons[recall ? .defaulted : .placedWithAgent] else {
            await flash(session, "status-codes.yaml defaultReasons has no reason code for this move.", error: true)
            return redirect("/workspace/agents")
        }
        let desk = PlacementDesk(store: store, mappings: mappings, now: now)
        let result = recall
            ? try await desk.recall(agent: form["agent"], contractNumbers: numbers, force: form["force"] == "yes", by: person(session), reasonCode: reason,
                                    directory: placementsDirectory)
            : try await desk.create(agent: form["agent"], contractNumbers: numbers, by: person(session), reasonCode: reason, directory: placementsDirectory)
        let rows: [[String: Any]] = result.placed.map { ["contract": $0, "text": recall ? "recalled" : "placed"] }
            + result.alreadyPlaced.map { ["contract": $0, "text": "already placed with \(form["agent"])"] }
            + result.refused.map { ["contract": $0.contractNumber, "text": "refused: \($0.reason)"] }
        await flash(session, (result.file.map { "\($0): " } ?? "") + "\(result.placed.count) \(recall ? "recalled" : "placed"), \(result.refused.count) refused",
                    error: result.placed.isEmpty && !result.refused.isEmpty)
        return try await agents(session, result: rows)
    }

    // MARK: Outbox and audit

    func outbox(_ session: WorkspaceSessions.Session) async throws -> Response {
        let mayDecide = person(session).role.rank >= mappings.authorityMatrix.outboxDecisionRole.rank
        let entries = try await store.outboxEntries(state: nil).sorted { ($0.state == .deadLetter ? 0 : 1, -$0.id) < ($1.state == .deadLetter ? 0 : 1, -$1.id) }
        var data: [String: Any] = ["title": "Outbox", "entries": entries.prefix(500).map { entry -> [String: Any] in
            var row: [String: Any] = ["id": entry.id, "reference": entry.clientReference, "what": "\(entry.kind.recordName) (\(entry.kind.operation))",
                                      "state": entry.state.rawValue, "attempts": entry.attempts, "result": entry.resultReference ?? "",
                                      "error": entry.lastError ?? ""]
            // Only what the desk would do: a retry of what was refused or skipped, a skip of what is waiting or refused.
            if mayDecide, entry.state == .deadLetter || entry.state == .skipped { row["retryable"] = ["id": entry.id, "csrf": session.csrf] }
            if mayDecide, entry.state == .deadLetter || entry.state == .pending { row["skippable"] = ["id": entry.id, "csrf": session.csrf] }
            return row
        }]
        data.merge(await takeFlash(session)) { $1 }
        return render("outbox", data, session: session)
    }

    func outboxDecision(_ id: Int64?, skip: Bool, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        guard let id else { return redirect("/workspace/outbox") }
        let desk = OutboxDesk(store: store, decisionRole: mappings.authorityMatrix.outboxDecisionRole, contract: mappings.contract, now: now)
        if skip {
            try await desk.skip(entryId: id, by: person(session), reason: form["reason"])
            await flash(session, "Entry \(id) skipped.")
        } else {
            try await desk.retry(entryId: id, by: person(session))
            await flash(session, "Entry \(id) re-queued; the next push sends it.")
        }
        return redirect("/workspace/outbox")
    }

    // MARK: Risky customers

    /// The alerts the syncs raised, open ones first; the matrix's `riskAlerts` role acknowledges them.
    func riskAlerts(_ session: WorkspaceSessions.Session) async throws -> Response {
        let mayAcknowledge = person(session).role.rank >= mappings.authorityMatrix.riskAlertRole.rank
        let alerts = try await RiskDesk(store: store, mappings: mappings, now: now).alerts(includeAcknowledged: true, limit: 500)
        let rows: [[String: Any]] = alerts.sorted { ($0.acknowledgedAt == nil ? 0 : 1, -$0.id) < ($1.acknowledgedAt == nil ? 0 : 1, -$1.id) }.map { stored in
            Self.present(["id": stored.id, "contract": stored.alert.contractNumber, "rule": stored.alert.rule, "facts": stored.alert.facts,
                          "raised": stored.raisedAt.description,
                          "acknowledged": stored.acknowledgedAt.map { "\(stored.acknowledgedBy ?? "") at \($0): \(stored.comment ?? "")" },
                          "actionable": mayAcknowledge && stored.acknowledgedAt == nil ? ["id": stored.id, "csrf": session.csrf] : nil])
        }
        var data: [String: Any] = ["title": "Risky customers", "alerts": rows, "role": mappings.authorityMatrix.riskAlertRole.name]
        data.merge(await takeFlash(session)) { $1 }
        return render("risk", data, session: session)
    }

    func acknowledgeRisk(_ id: Int64?, _ session: WorkspaceSessions.Session, _ form: FormData) async throws -> Response {
        guard let id else { return redirect("/workspace/risk") }
        try await RiskDesk(store: store, mappings: mappings, now: now).acknowledge(id: id, by: person(session), comment: form["comment"])
        await flash(session, "Alert \(id) acknowledged.")
        return redirect("/workspace/risk")
    }

    func audit(_ session: WorkspaceSessions.Session) async throws -> Response {
        let entries = try await store.recentAuditEntries(limit: 200)
        return render("audit", ["title": "Audit log", "verification": try await store.verifyAudit().description,
                                "entries": entries.map { ["sequence": $0.sequence, "at": $0.at.description, "actor": $0.actor, "action": $0.action,
                                                          "subject": $0.subject, "details": $0.details] }], session: session)
    }

    func download(_ text: String, name: String) -> Response {
        var headers = Self.pageHeaders(type: "text/csv; charset=utf-8")
        headers[.contentDisposition] = "attachment; filename=\"\(name)\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
