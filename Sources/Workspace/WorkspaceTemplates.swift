import Mustache

/// The workspace's pages, as Mustache templates: every `{{value}}` is HTML-escaped, so what MILES
/// or an agent sent (`O'Brien & Sons <Ltd>`) is shown as text. Kept in the binary, so an installed
/// `miles-adapter` needs no template folder.
enum WorkspaceTemplates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in templates { try library.register(text, named: name) }
        return library
    }

    static let templates: [String: String] = [
        "header": """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{title}} · MILES collections</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body{font-family:system-ui,sans-serif;margin:0;color:#1c2733;background:#f5f7fa}
            header{background:#1f3a5f;color:#fff;padding:.6rem 1.2rem;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:center}
            header a{color:#fff;text-decoration:none;font-weight:600} header .who{margin-left:auto;font-size:.9rem}
            main{padding:1.2rem;max-width:1100px;overflow-x:auto} h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:1.6rem}
            table{border-collapse:collapse;background:#fff;margin:.4rem 0} td,th{border:1px solid #d5dde6;padding:.3rem .6rem;text-align:left}
            th{background:#e8eef5} td.n{text-align:right} .error{background:#fde8e8;border:1px solid #e0a0a0;padding:.6rem}
            .note{background:#e8f4e8;border:1px solid #9c9;padding:.6rem} .warning{background:#fdf3e1;border:1px solid #d9b36c;padding:.6rem} .refusal{color:#8a1c1c} .hint{color:#555;font-size:.9rem}
            form.inline{display:inline} input,button,select,textarea{font:inherit;padding:.25rem .4rem} button{cursor:pointer}
            .cards{display:flex;gap:1rem;flex-wrap:wrap} .card{background:#fff;border:1px solid #d5dde6;padding:.8rem 1rem;min-width:12rem}
            .card b{font-size:1.4rem;display:block}
            </style></head><body>
            <header><a href="/workspace">MILES collections</a>
            {{#person}}<a href="/workspace/writeoffs">Write-offs</a><a href="/workspace/contracts">Contracts</a>
            <a href="/workspace/approvals">Approvals</a><a href="/workspace/agents">Agents</a><a href="/workspace/bank">Bank</a><a href="/workspace/outbox">Outbox</a><a href="/workspace/risk">Risk</a><a href="/workspace/password">Password</a><a href="/workspace/audit">Audit</a>
            <span class="who" id="who">{{displayName}} ({{role}})</span>
            <form class="inline" method="post" action="/workspace/sign-out"><input type="hidden" name="csrf" value="{{csrf}}">
            <button id="sign-out">Sign out</button></form>{{/person}}</header><main>
            {{#error}}<p class="error" id="error">{{error}}</p>{{/error}}{{#notice}}<p class="note" id="notice">{{notice}}</p>{{/notice}}
            """,
        "footer": "</main></body></html>\n",
        "sign-in": """
            {{> header}}<h1>Sign in</h1>
            <form method="post" action="/workspace/sign-in"><input type="hidden" name="csrf" value="{{csrf}}">
            <p><label>User name<br><input name="name" id="name" autocomplete="username" required></label></p>
            <p><label>Password<br><input name="password" id="password" type="password" autocomplete="current-password" required></label></p>
            <p><button id="sign-in">Sign in</button></p></form>{{> footer}}
            """,
        "password": """
            {{> header}}<h1>Change your password</h1>{{#oneTime}}<p class="note">You signed in with a one-time password: choose your own before anything else.</p>{{/oneTime}}
            <form method="post" action="/workspace/password"><input type="hidden" name="csrf" value="{{csrf}}">
            <p><label>Current password<br><input name="current" id="current" type="password" autocomplete="current-password" required></label></p>
            <p><label>New password (12 characters or more)<br><input name="new" id="new" type="password" autocomplete="new-password" required></label></p>
            <p><label>New password again<br><input name="repeat" id="repeat" type="password" autocomplete="new-password" required></label></p>
            <p><button id="change-password">Change it</button></p></form>{{> footer}}
            """,
        "dashboard": """
            {{> header}}<h1>Dashboard</h1>
            <div class="cards">
            <div class="card">Last contract sync<b>{{lastSync}}</b>{{lastSyncOutcome}}</div>
            <div class="card">Outbox waiting<b id="outbox-depth">{{outboxDepth}}</b>dead letters: <a href="/workspace/outbox" id="dead-letters">{{deadLetters}}</a></div>
            <div class="card">Write-offs awaiting you<b id="awaiting">{{awaitingCount}}</b><a href="/workspace/writeoffs?state=pendingApproval">approval queue</a></div>
            <div class="card">Credit notes, reversals and plans awaiting you<b id="approvals-awaiting">{{approvalsAwaiting}}</b><a href="/workspace/approvals">Approvals</a></div>
            </div>
            <h2>Aged debt as of {{asOf}}</h2><p class="hint">{{asOfSource}} · <a href="/workspace/aged-debt.csv">CSV</a> ·
            totals <a href="/workspace/aged-debt/customers" id="by-customer">by customer</a> or <a href="/workspace/aged-debt/contracts" id="by-contract">by contract</a></p>
            {{#charts}}<figure><figcaption>{{currency}}</figcaption>{{{svg}}}</figure>{{/charts}}
            <table id="aged-debt"><tr><th>currency</th>{{#buckets}}<th>{{.}}</th>{{/buckets}}<th>total</th></tr>
            {{#rows}}<tr><td>{{currency}}</td>{{#amounts}}<td class="n">{{.}}</td>{{/amounts}}<td class="n">{{total}}</td></tr>{{/rows}}</table>
            <h2>Write-offs</h2><table id="recent-writeoffs"><tr><th>request</th><th>contract</th><th>amount</th><th>state</th><th>requested by</th></tr>
            {{#recent}}<tr><td>{{id}}</td><td><a href="/workspace/contracts/{{contract}}">{{contract}}</a></td><td class="n">{{amount}}</td>
            <td class="state">{{state}}</td><td>{{requestedBy}}</td></tr>{{/recent}}</table>{{> footer}}
            """,
        "writeoffs": """
            {{> header}}<h1>Write-offs</h1>
            <h2>Raise from a file</h2>
            {{#offersWriteOffs}}<form method="post" action="/workspace/writeoffs/upload" enctype="multipart/form-data"><input type="hidden" name="csrf" value="{{csrf}}">
            <p class="hint">CSV: contract_number,amount,invoice_numbers,reason_code,comment</p>
            <input type="file" name="file" id="file" accept=".csv,text/csv" required> <button id="upload">Raise requests</button></form>{{/offersWriteOffs}}{{^offersWriteOffs}}<p class="refusal" id="upload-not-offered">{{missingWriteOffs}}</p>{{/offersWriteOffs}}
            {{#hasLines}}<table id="upload-result"><tr><th>line</th><th>result</th></tr>{{#lines}}<tr><td>{{line}}</td><td>{{text}}</td></tr>{{/lines}}</table>{{/hasLines}}
            <h2>Requests</h2><form method="get"><select name="state" id="state"><option value="">all</option>
            {{#states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/states}}</select> <button>Show</button></form>
            <table id="requests"><tr><th>request</th><th>contract</th><th>amount</th><th>reason</th><th>needs</th><th>matrix</th><th>state</th><th>by</th><th></th></tr>
            {{#requests}}<tr id="request-{{id}}"><td>{{id}}</td><td><a href="/workspace/contracts/{{contract}}">{{contract}}</a></td><td class="n">{{amount}}</td>
            <td>{{reason}}</td><td>{{needs}}</td><td>v{{matrix}}</td><td class="state">{{state}}</td><td>{{requestedBy}}</td><td>{{#pending}}
            {{#offersWriteOffs}}<form class="inline" method="post" action="/workspace/writeoffs/{{id}}/approve"><input type="hidden" name="csrf" value="{{csrf}}">
            <input name="comment" placeholder="comment"> <button id="approve-{{id}}">Approve</button></form>{{/offersWriteOffs}}
            <form class="inline" method="post" action="/workspace/writeoffs/{{id}}/reject"><input type="hidden" name="csrf" value="{{csrf}}">
            <input name="reason" placeholder="why" required> <button id="reject-{{id}}">Reject</button></form>{{/pending}}</td></tr>{{/requests}}</table>
            <p><a href="/workspace/writeoffs.csv">Export for the finance audit (CSV)</a></p>{{> footer}}
            """,
        "contracts": """
            {{> header}}<h1>Contracts</h1><form method="get"><input name="q" id="q" value="{{q}}" placeholder="contract number, customer name or postcode">
            <button id="search">Search</button></form>
            {{#firstLoad}}<p class="warning" id="first-load">The first load of contracts from MILES has not finished (it may be running
            now, or waiting for the next sync). Until it has, a search by a customer's name finds no one: search by contract number or
            postcode instead (slower than usual).</p>{{/firstLoad}}
            {{#q}}<p class="hint" id="found">{{count}} found{{#more}} ({{shown}} shown: add to the search to narrow it){{/more}};
            customers' details are masked here and shown on the contract's page (each view is recorded).</p>{{/q}}
            <table id="results"><tr><th>contract</th><th>customer</th><th>status</th><th>open</th><th>arrears</th></tr>
            {{#results}}<tr><td><a href="/workspace/contracts/{{number}}">{{number}}</a></td><td>{{customer}}</td><td>{{status}}</td>
            <td class="n">{{open}}</td><td class="n">{{arrears}}</td></tr>{{/results}}</table>{{> footer}}
            """,
        "contract": """
            {{> header}}<h1>Contract {{number}}</h1>
            <p>MILES status {{statusCode}} ({{status}}), version {{version}}; {{agreement}}; open {{open}}; arrears {{arrears}} ({{missed}} missed)</p>
            <h2>Customer {{partnerId}}</h2><p id="customer-name">{{customerName}}</p><p>{{address}}</p><p>{{contact}}</p>
            {{#vulnerable}}<p class="refusal">Flagged vulnerable in MILES: the flag is cleared on the customer's record in MILES.</p>{{/vulnerable}}
            <h2>Open invoices</h2><table><tr><th>invoice</th><th>due</th><th>open</th><th>of</th></tr>
            {{#invoices}}<tr><td>{{number}}</td><td>{{due}}</td><td class="n">{{open}}</td><td class="n">{{amount}}</td></tr>{{/invoices}}</table>
            <h2>Plans, credits and write-offs</h2><table id="money"><tr><th>what</th><th>id</th><th>amount</th><th>details</th><th>state</th><th>by</th></tr>
            {{#money}}<tr><td>{{what}}</td><td>{{id}}</td><td class="n">{{amount}}</td><td>{{details}}</td><td class="state">{{state}}</td><td>{{by}}</td></tr>{{/money}}</table>
            {{^money}}<p id="no-money">None asked for on this contract.</p>{{/money}}
            <h2>Holds and notices</h2><ul>{{#holds}}<li>{{.}}</li>{{/holds}}{{#notices}}<li>{{.}}</li>{{/notices}}{{#placedWith}}<li>placed with {{placedWith}}</li>{{/placedWith}}</ul>
            <h2>What each action needs</h2><table id="guards"><tr><th>action</th><th>now</th></tr>
            {{#guards}}<tr><td>{{action}}</td><td>{{#allowed}}allowed{{/allowed}}{{#refusals}}<div class="refusal">{{.}}</div>{{/refusals}}</td></tr>{{/guards}}</table>
            <h2>Act</h2>
            {{#offersStatusChange}}<form method="post" action="/workspace/contracts/{{number}}/status"><input type="hidden" name="csrf" value="{{csrf}}">
            Status change to <select name="to" id="status-to">{{#statuses}}<option value="{{.}}">{{.}}</option>{{/statuses}}</select>
            reason <select name="reason" id="status-reason" required><option value="">choose…</option>{{#statusReasons}}<option value="{{code}}">{{code}}: {{meaning}}</option>{{/statusReasons}}</select>
            {{#mayOverride}}<br>set aside <select name="overrideRule"><option value="">no guard</option>
            {{#overrides}}<option value="{{.}}">{{.}}</option>{{/overrides}}</select> because <input name="overrideReason" size="30">{{/mayOverride}}
            <br>CCA s.90 evidence: court order <input name="courtOrder" size="12"> consent <input name="customerConsent" size="20">
            abandoned <input name="abandoned" size="20"> <button id="status-change">Ask for the change</button></form>{{/offersStatusChange}}{{^offersStatusChange}}<p class="refusal" id="status-change-not-offered">{{missingStatusChange}}</p>{{/offersStatusChange}}
            <form method="post" action="/workspace/contracts/{{number}}/hold"><input type="hidden" name="csrf" value="{{csrf}}">
            Hold <select name="kind" id="hold-kind">{{#holdKinds}}<option value="{{.}}">{{.}}</option>{{/holdKinds}}</select>
            because <input name="reason" id="hold-reason" size="30" required> <label><input type="checkbox" name="lift" value="yes"> lift it instead</label>
            <button id="hold">Set or lift</button></form>
            <form method="post" action="/workspace/contracts/{{number}}/notice"><input type="hidden" name="csrf" value="{{csrf}}">
            Default notice served <input name="served" id="notice-served" placeholder="2026-10-01" size="10" required>
            remedy by <input name="remedy" id="notice-remedy" placeholder="2026-10-20" size="10" required> <button id="notice">Record the notice</button></form>
            <h2>Ask MILES for a letter</h2>{{#offersLetter}}<form method="post" action="/workspace/contracts/{{number}}/letter"><input type="hidden" name="csrf" value="{{csrf}}">
            <select name="letter" id="letter">{{#letterTypes}}<option value="{{.}}">{{.}}</option>{{/letterTypes}}</select> <button id="request-letter">Ask MILES</button></form>{{/offersLetter}}{{^offersLetter}}<p class="refusal" id="letter-not-offered">{{missingLetter}}</p>{{/offersLetter}}
            <h2>Raise a credit note</h2>{{#offersCredit}}<form method="post" action="/workspace/contracts/{{number}}/credit"><input type="hidden" name="csrf" value="{{csrf}}">
            amount <input name="amount" id="credit-amount" size="8" required> on invoice <input name="invoice" id="credit-invoice" size="14" placeholder="all open">
            reason <select name="reason" id="credit-reason">{{#creditReasons}}<option value="{{code}}">{{code}}: {{meaning}}</option>{{/creditReasons}}</select>
            because <input name="comment" id="credit-comment" size="30" required> <button id="raise-credit">Raise</button></form>{{/offersCredit}}{{^offersCredit}}<p class="refusal" id="credit-not-offered">{{missingCredit}}</p>{{/offersCredit}}
            <h2>Propose a payment arrangement</h2>{{#offersArrangement}}<form method="post" action="/workspace/contracts/{{number}}/arrangement"><input type="hidden" name="csrf" value="{{csrf}}">
            <select name="frequency" id="plan-frequency">{{#frequencies}}<option value="{{.}}">{{.}}</option>{{/frequencies}}</select>
            from <input name="first" id="plan-first" size="10" placeholder="2026-12-15" required> <input name="count" id="plan-count" size="3" required> instalments of
            <input name="amount" id="plan-amount" size="8" required> <label><input type="checkbox" name="settlement" value="yes"> in settlement</label>
            <br>the customer's monthly income <input name="income" id="plan-income" size="8" required> and expenditure
            <input name="expenditure" id="plan-expenditure" size="8" required> (CONC 7.3) <button id="propose-plan">Propose</button></form>{{/offersArrangement}}{{^offersArrangement}}<p class="refusal" id="arrangement-not-offered">{{missingArrangement}}</p>{{/offersArrangement}}
            <h2>Add a note for MILES</h2>{{#offersNote}}<form method="post" action="/workspace/contracts/{{number}}/note"><input type="hidden" name="csrf" value="{{csrf}}">
            <input name="category" value="COLL" size="6"> <input name="text" size="60" required> <button id="add-note">Queue note</button></form>{{/offersNote}}{{^offersNote}}<p class="refusal" id="note-not-offered">{{missingNote}}</p>{{/offersNote}}
            <h2>Audit trail</h2><p>Newest first; the last 200 entries.</p><table><tr><th>when</th><th>who</th><th>what</th><th>details</th></tr>
            {{#trail}}<tr><td>{{at}}</td><td>{{actor}}</td><td>{{action}}</td><td>{{details}}</td></tr>{{/trail}}</table>{{> footer}}
            """,
        "aged-debt-by": """
            {{> header}}<h1>Aged debt by {{group}}</h1><p class="hint">As of {{asOf}}; the {{limit}} largest open balances; customers' names masked.</p>
            <table id="aged-debt-by"><tr><th>{{group}}</th><th>currency</th>{{#buckets}}<th>{{.}}</th>{{/buckets}}<th>total</th></tr>
            {{#rows}}<tr><td>{{#link}}<a href="/workspace/contracts/{{link}}">{{name}}</a>{{/link}}{{^link}}{{name}}{{/link}}</td><td>{{currency}}</td>
            {{#amounts}}<td class="n">{{.}}</td>{{/amounts}}<td class="n">{{total}}</td></tr>{{/rows}}</table>{{> footer}}
            """,
        "agents": """
            {{> header}}<h1>Agents</h1>
            <table id="agents"><tr><th>agent</th><th>name</th><th>accounts placed</th></tr>
            {{#agents}}<tr><td>{{agent}}</td><td>{{name}}</td><td class="n">{{placed}}</td></tr>{{/agents}}</table>
            <h2>Place or recall accounts</h2>
            {{#offersPlacement}}<form method="post" action="/workspace/agents/place"><input type="hidden" name="csrf" value="{{csrf}}">
            <select name="agent" id="place-agent">{{#agents}}<option value="{{agent}}">{{agent}}</option>{{/agents}}</select>
            <select name="what" id="place-what"><option value="place">place</option><option value="recall">recall</option></select><br>
            <textarea name="contracts" id="place-contracts" rows="4" cols="40" placeholder="one contract number a line" required></textarea><br>
            <label><input type="checkbox" name="force" value="yes"> recall even with a plan or a payment in transit (audited)</label>
            <button id="place">Go</button></form>{{/offersPlacement}}{{^offersPlacement}}<p class="refusal" id="place-not-offered">{{missingPlacement}}</p>{{/offersPlacement}}
            {{#hasResult}}<table id="place-result"><tr><th>contract</th><th>result</th></tr>{{#result}}<tr><td>{{contract}}</td><td>{{text}}</td></tr>{{/result}}</table>{{/hasResult}}
            <h2>Deliveries</h2><table id="deliveries"><tr><th>id</th><th>agent</th><th>file</th><th>channel</th><th>state</th><th>applied</th><th>refused</th><th>rejected</th></tr>
            {{#deliveries}}<tr><td>{{id}}</td><td>{{agent}}</td><td>{{name}}</td><td>{{channel}}</td><td>{{state}}</td><td class="n">{{applied}}</td>
            <td class="n">{{refused}}</td><td class="n">{{rejected}}</td></tr>{{/deliveries}}</table>
            <h2>Updates a guard refused</h2><table id="refused"><tr><th>delivery</th><th>line</th><th>agent</th><th>contract</th><th>update</th><th>why</th></tr>
            {{#refusedUpdates}}<tr><td>{{delivery}}</td><td>{{line}}</td><td>{{agent}}</td><td>{{contract}}</td><td>{{details}}</td><td>{{refusal}}</td></tr>{{/refusedUpdates}}</table>{{> footer}}
            """,
        "bank": """
            {{> header}}<h1>Bank: payments waiting for a person</h1><p class="hint">From the imported statements, oldest first: why each waits
            and the contracts the rules found. Allocate to a contract's invoices (named, or all open ones oldest first); what is left is
            held in suspense. Queued for MILES with the next push.</p>
            {{^offersAllocation}}<p class="refusal" id="allocate-not-offered">{{missingAllocation}}</p>{{/offersAllocation}}
            <table id="waiting"><tr><th>entry</th><th>booked</th><th>amount</th><th>payer</th><th>reference</th><th>why it waits</th><th>candidates</th><th></th></tr>
            {{#waiting}}<tr><td>{{id}}</td><td>{{booked}}</td><td class="n">{{amount}}</td><td>{{payer}}</td><td>{{remittance}}</td><td>{{reason}}</td>
            <td>{{#candidates}}{{contract}} ({{confidence}}: {{why}})<br>{{/candidates}}</td>
            <td>{{#offersAllocation}}<form class="inline" method="post" action="/workspace/bank/{{id}}/allocate"><input type="hidden" name="csrf" value="{{csrf}}">
            <input id="bank-contract-{{id}}" name="contract" value="{{suggested}}" placeholder="contract" required>
            <input id="bank-invoices-{{id}}" name="invoices" placeholder="invoices (all open)"><input name="note" placeholder="why this contract">
            <button id="allocate-{{id}}">Allocate</button></form>{{/offersAllocation}}</td></tr>{{/waiting}}</table>
            {{#waitingMore}}<p class="hint" id="waiting-more">Only the oldest {{shown}} are shown; the others appear as these are allocated.</p>{{/waitingMore}}
            <h2>In suspense</h2><table id="suspense"><tr><th>entry</th><th>booked</th><th>amount</th><th>payer</th><th>reference</th><th>held</th></tr>
            {{#suspense}}<tr><td>{{id}}</td><td>{{booked}}</td><td class="n">{{amount}}</td><td>{{payer}}</td><td>{{remittance}}</td><td>{{suspense}}</td></tr>{{/suspense}}</table>
            {{#suspenseMore}}<p class="hint" id="suspense-more">Only the oldest {{shown}} are shown.</p>{{/suspenseMore}}{{> footer}}
            """,
        "outbox": """
            {{> header}}<h1>Outbox</h1><table id="entries"><tr><th>queue</th><th>reference</th><th>what</th><th>state</th><th>attempts</th><th>MILES</th><th>last error</th><th></th></tr>
            {{#entries}}<tr><td>{{id}}</td><td>{{reference}}</td><td>{{what}}</td><td>{{state}}</td><td>{{attempts}}</td><td>{{result}}</td><td>{{error}}</td>
            <td>{{#retryable}}<form class="inline" method="post" action="/workspace/outbox/{{id}}/retry"><input type="hidden" name="csrf" value="{{csrf}}"><button id="retry-{{id}}">Retry</button></form>{{/retryable}}
            {{#skippable}}<form class="inline" method="post" action="/workspace/outbox/{{id}}/skip"><input type="hidden" name="csrf" value="{{csrf}}"><input name="reason" placeholder="why" required> <button id="skip-{{id}}">Skip</button></form>{{/skippable}}</td></tr>{{/entries}}</table>{{> footer}}
            """,
        "risk": """
            {{> header}}<h1>Risky customers</h1><p class="hint">Raised by the contract syncs under mappings/risk-rules.yaml;
            {{role}} or above acknowledges each, having looked into it.</p>
            <table id="alerts"><tr><th>alert</th><th>contract</th><th>rule</th><th>facts</th><th>raised</th><th>acknowledged</th></tr>
            {{#alerts}}<tr><td>{{id}}</td><td><a href="/workspace/contracts/{{contract}}">{{contract}}</a></td><td>{{rule}}</td><td>{{facts}}</td><td>{{raised}}</td>
            <td>{{acknowledged}}{{#actionable}}<form class="inline" method="post" action="/workspace/risk/{{id}}/acknowledge"><input type="hidden" name="csrf" value="{{csrf}}">
            <input name="comment" id="comment-{{id}}" placeholder="what you found" required> <button id="acknowledge-{{id}}">Acknowledge</button></form>{{/actionable}}</td></tr>{{/alerts}}</table>{{> footer}}
            """,
        "approvals": """
            {{> header}}<h1>Approvals</h1><p class="hint">Credit notes, write-off reversals and payment arrangements waiting for a person who
            may approve them (never the one who raised them), and broken or paid plans waiting to be closed. Write-offs are on their own page.</p>
            <h2>Credit notes</h2><table id="credits"><tr><th>id</th><th>contract</th><th>amount</th><th>reason</th><th>raised by</th><th>needs</th><th></th></tr>
            {{#credits}}<tr><td>{{id}}</td><td><a href="/workspace/contracts/{{contract}}">{{contract}}</a></td><td class="n">{{amount}}</td><td>{{reason}}</td>
            <td>{{by}}</td><td>{{needs}}</td><td>{{#actionable}}{{> decide}}{{/actionable}}</td></tr>{{/credits}}</table>
            <h2>Write-off reversals</h2><table id="reversals"><tr><th>id</th><th>contract</th><th>amount</th><th>reason</th><th>raised by</th><th>needs</th><th></th></tr>
            {{#reversals}}<tr><td>{{id}}</td><td><a href="/workspace/contracts/{{contract}}">{{contract}}</a></td><td class="n">{{amount}}</td><td>{{reason}}</td>
            <td>{{by}}</td><td>{{needs}}</td><td>{{#actionable}}{{> decide}}{{/actionable}}</td></tr>{{/reversals}}</table>
            <h2>Payment arrangements</h2><table id="arrangements"><tr><th>id</th><th>contract</th><th>state</th><th>plan</th><th>proposed by</th><th>needs</th><th></th></tr>
            {{#arrangements}}<tr><td>{{id}}</td><td><a href="/workspace/contracts/{{contract}}">{{contract}}</a></td><td>{{state}}</td><td>{{plan}}{{#outcome}}<div class="hint">{{outcome}}</div>{{/outcome}}</td>
            <td>{{by}}</td><td>{{needs}}</td><td>{{#actionable}}{{> decide}}{{/actionable}}{{#closable}}{{#offersArrangementClose}}<form class="inline" method="post" action="/workspace/arrangements/{{id}}/close">
            <input type="hidden" name="csrf" value="{{csrf}}"><button id="close-{{id}}">Close it</button></form>{{/offersArrangementClose}}{{^offersArrangementClose}}{{missingArrangementClose}}{{/offersArrangementClose}}{{/closable}}</td></tr>{{/arrangements}}</table>
            <h2>Plans agents report</h2><p class="hint">Not a plan until someone proposes one from the contract's page, with the customer's income and expenditure.</p>
            <table id="reported"><tr><th>contract</th><th>agent</th><th>on</th><th>what they said</th><th>from</th></tr>
            {{#reported}}<tr><td><a href="/workspace/contracts/{{contract}}">{{contract}}</a></td><td>{{agent}}</td><td>{{on}}</td><td>{{details}}</td><td>{{source}}</td></tr>{{/reported}}</table>{{> footer}}
            """,
        "decide": """
            {{#approvable}}<form class="inline" method="post" action="/workspace/{{kind}}/{{id}}/approve"><input type="hidden" name="csrf" value="{{csrf}}">
            <input name="comment" placeholder="comment"> <button id="approve-{{kind}}-{{id}}">Approve</button></form>{{/approvable}}
            <form class="inline" method="post" action="/workspace/{{kind}}/{{id}}/reject"><input type="hidden" name="csrf" value="{{csrf}}">
            <input name="reason" placeholder="why not" required> <button id="reject-{{kind}}-{{id}}">Reject</button></form>
            """,
        "message": """
            {{> header}}<h1>{{title}}</h1><p>{{#back}}<a href="{{back}}" id="back">Back to {{backName}}</a>{{/back}}{{^back}}<a href="/workspace">Back to the dashboard</a>{{/back}}</p>{{> footer}}
            """,
        "audit": """
            {{> header}}<h1>Audit log</h1><p id="verification">{{verification}}</p>
            <table><tr><th>#</th><th>when</th><th>who</th><th>what</th><th>subject</th><th>details</th></tr>
            {{#entries}}<tr><td>{{sequence}}</td><td>{{at}}</td><td>{{actor}}</td><td>{{action}}</td><td>{{subject}}</td><td>{{details}}</td></tr>{{/entries}}</table>{{> footer}}
            """,
    ]
}
