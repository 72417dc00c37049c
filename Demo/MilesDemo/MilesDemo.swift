import ArgumentParser
import CollectionsDomain
import Foundation
import Logging
import MilesMock

/// `make demo`: the nightly job end to end. A mock MILES runs in this process; every step is the
/// `miles-adapter` command an operator would type, run as its own process against the mock, so
/// the production binary never carries the mock.
@main
struct MilesDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miles-demo",
        abstract: "Start a mock MILES, sync it into a fresh SQLite file, advance a day, sync again, show the aged debt, action a write-off.",
        discussion: "Runs the miles-adapter built beside this executable; its output goes to demo-output/.")

    @Option(help: "Contracts in the mock's portfolio.")
    var contracts = 5_000

    @Option(help: "The mock portfolio's seed.")
    var seed: UInt64 = 42

    @Option(help: "Contracts the mock changes when it advances a day.")
    var changes = 250

    @Option(help: "The folder for the demo's store, configuration and files; the demo's own files in it are replaced on every run.")
    var output = "demo-output"

    @Option(help: "The mappings folder; the mock serves the WSDL in its wsdl/ folder.")
    var mappings = "mappings"

    @Option(help: "miles-adapter's log level for every step (trace, debug, info, notice, warning, error).")
    var logLevel: String?

    @Flag(help: "Let miles-adapter log customers' personal data (for a debugging session only).")
    var logPersonalData = false

    func run() async throws {
        let adapter = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("miles-adapter").path
        guard FileManager.default.isExecutableFile(atPath: adapter) else {
            throw ValidationError("miles-adapter is not built beside miles-demo (\(adapter)); run 'swift build --product miles-adapter'")
        }
        try recreate(output)
        let server = try await MockMilesServer.start(
            configuration: MockMilesConfiguration(contractCount: contracts, seed: seed, contractDirectory: mappings + "/wsdl"),
            logger: Logger(label: "miles-mock", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            try await tell(server: server, adapter: adapter)
            await server.stop()
        } catch {
            await server.stop()
            throw error
        }
    }

    private func tell(server: MockMilesServer, adapter: String) async throws {
        print("Mock MILES listening at \(server.endpoint) with \(contracts) contracts (seed \(seed)); WSDL at \(server.endpoint)/ContractService?wsdl")
        let configuration = output + "/miles-adapter.yaml"
        try """
            # Written by miles-demo: the adapter pointed at the demo's mock MILES.
            miles:
              endpoint: \(server.endpoint)
              username: \(MockMilesConfiguration.defaultUsername)
            sync:
              pageSize: 500
            database: \(output)/demo.sqlite
            statements: \(output)/demo-statements
            mappings: \(URL(fileURLWithPath: mappings).standardizedFileURL.path)

            """.write(toFile: configuration, atomically: true, encoding: .utf8)
        print("Store: \(output)/demo.sqlite; configuration: \(configuration)\n")
        let logging = (logLevel.map { ["--log-level", $0] } ?? []) + (logPersonalData ? ["--log-personal-data"] : [])
        let run = AdapterRunner(executable: adapter, configuration: configuration, options: logging,
                                password: MockMilesConfiguration.defaultPassword)

        print("1. First night: full sync\n$ miles-adapter sync contracts")
        try run(["sync", "contracts"])

        let changed = await server.miles.advanceDay(changes: changes)
        let businessDate = await server.miles.businessClock.date
        print("\n2. A day of business in MILES: \(changed.count) contracts changed (payments, new invoices, status changes); MILES date \(businessDate)")

        print("\n3. Second night: incremental sync\n$ miles-adapter sync contracts")
        try run(["sync", "contracts"])
        print("\n$ miles-adapter report aged-debt --as-of \(businessDate)")
        try run(["report", "aged-debt", "--as-of", businessDate.description])

        print("\n4. The team, in the store: a head of credit first (she manages the others), an agent and a team leader,")
        print("   each with a personal token for the command line (made with their password)")
        var tokens: [String: String] = [:]
        for (name, role) in [("hana", "headOfCredit"), ("ann", "agent"), ("tom", "teamLeader")] {
            let password = "\(name)-demo-password"
            print("$ printf '\(password)\\n' | miles-adapter users add \(name) --role \(role) --password-stdin")
            try run(["users", "add", name, "--role", role, "--password-stdin"], token: tokens["hana"], input: password + "\n")
            print("$ printf '\(password)\\n' | miles-adapter users token \(name) --password-stdin   # kept as $\(name.uppercased())_TOKEN")
            tokens[name] = try run(["users", "token", name, "--password-stdin"], input: password + "\n", shown: false)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        print("\n5. A write-off: raised by an agent, approved by a team leader (maker-checker), pushed to MILES")
        // In pounds, the shipped authority matrix's currency: a decision in another is above every limit.
        var target: Contract?
        await server.miles.forEachContract { contract in
            if target == nil, contract.currency == .gbp, contract.openBalance.minorUnits >= 5_000, contract.statusCode != "WOF" { target = contract }
        }
        guard let contract = target else { return }
        let file = output + "/demo-writeoffs.csv"
        try "contract_number,amount,invoice_numbers,reason_code,comment\n\(contract.contractNumber),50.00,,UNEC,demo: below cost of recovery\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        print("$ MILES_ADAPTER_TOKEN=$ANN_TOKEN miles-adapter writeoff prepare \(file)")
        let prepared = try run(["writeoff", "prepare", file], token: tokens["ann"])
        guard let id = prepared.split(separator: " ").drop(while: { $0 != "request" }).dropFirst().first.map(String.init) else { return }
        print("$ MILES_ADAPTER_TOKEN=$ANN_TOKEN miles-adapter writeoff approve \(id)   # her own request: maker-checker refuses it")
        try run(["writeoff", "approve", id], token: tokens["ann"], allowFailure: true)
        print("$ MILES_ADAPTER_TOKEN=$TOM_TOKEN miles-adapter writeoff approve \(id) --comment checked")
        try run(["writeoff", "approve", id, "--comment", "checked"], token: tokens["tom"])
        print("$ miles-adapter push")
        try run(["push"])
        print("$ miles-adapter writeoff show \(id)")
        try run(["writeoff", "show", id])

        print("\n6. The rest of the money work: a credit note and a payment arrangement, each approved by someone else, pushed once")
        var behind: Contract?
        await server.miles.forEachContract { contract in
            if behind == nil, contract.currency == .gbp, contract.statusCode == "ARR", contract.arrears.amount.minorUnits > 0,
               contract.openBalance.minorUnits >= 5_000 {
                behind = contract
            }
        }
        if let behind {
            let number = behind.contractNumber
            print("$ MILES_ADAPTER_TOKEN=$ANN_TOKEN miles-adapter credit raise \(number) --amount 20.00 --reason BILL --comment 'charged twice'")
            try run(["credit", "raise", number, "--amount", "20.00", "--reason", "BILL", "--comment", "demo: charged twice"], token: tokens["ann"])
            print("$ MILES_ADAPTER_TOKEN=$TOM_TOKEN miles-adapter credit approve 1")
            try run(["credit", "approve", "1"], token: tokens["tom"])
            let first = CollectionsClock.system().date.adding(days: 7).description
            let income = behind.monthlyPayment.minorUnits * 3
            print("$ MILES_ADAPTER_TOKEN=$ANN_TOKEN miles-adapter arrangement propose \(number) --first \(first) --count 6 "
                  + "--amount \(behind.monthlyPayment.decimalString) --income ... --expenditure ...")
            try run(["arrangement", "propose", number, "--first", first, "--count", "6", "--amount", behind.monthlyPayment.decimalString,
                     "--income", Money(minorUnits: income, currency: behind.currency).decimalString,
                     "--expenditure", Money(minorUnits: income / 2, currency: behind.currency).decimalString], token: tokens["ann"])
            print("$ MILES_ADAPTER_TOKEN=$TOM_TOKEN miles-adapter arrangement approve 1 --comment affordable")
            try run(["arrangement", "approve", "1", "--comment", "affordable"], token: tokens["tom"])
            print("$ miles-adapter push")
            try run(["push"])
            print("$ miles-adapter arrangement show 1")
            try run(["arrangement", "show", "1"])
        }
        // The bank's payments are for other contracts: the store has not seen today's credit note yet, so
        // a payment of the invoice it reduced would rightly be refused by MILES.
        try await bankStep(server: server, run: run, tokens: tokens, sparing: [contract.contractNumber, behind?.contractNumber].compactMap { $0 })
        print("\n$ miles-adapter audit verify")
        try run(["audit", "verify"])
        print("\nThe workspace: 'make workspace' serves this store at http://127.0.0.1:8081/workspace; sign in as ann (agent)")
        print("or tom (team leader) with the password NAME-demo-password.")
    }

    /// This morning's bank statement: a payment quoting its contract and invoice is allocated by the
    /// rules; one quoting nothing waits for a person, who allocates it; both go to MILES on push.
    private func bankStep(server: MockMilesServer, run: AdapterRunner, tokens: [String: String], sparing: [String]) async throws {
        var owing: [Contract] = []
        await server.miles.forEachContract { contract in
            if owing.count < 2, !sparing.contains(contract.contractNumber), contract.statusCode != "WOF", contract.openInvoices.contains(where: { $0.openAmount.minorUnits > 0 }) {
                owing.append(contract)
            }
        }
        guard owing.count == 2, let invoice = owing[0].openInvoices.first(where: { $0.openAmount.minorUnits > 0 }) else {
            print("\n7. (no bank statement: the portfolio has fewer than two other contracts with an open invoice)")
            return
        }
        print("\n7. This morning's bank statement (camt.053): one payment quotes its contract and invoice, one quotes nothing")
        let today = CollectionsClock.system().date.description
        let file = output + "/demo-statement.xml"
        try MockBankStatement(statementId: "DEMO-\(today)", date: today, payments: [
            .init(minorUnits: invoice.openAmount.minorUnits, remittance: "\(owing[0].contractNumber) \(invoice.number)", reference: "DEMO-1",
                  payer: "A Customer"),
            .init(minorUnits: owing[1].monthlyPayment.minorUnits, remittance: "PAYMENT THANK YOU", reference: "DEMO-2", payer: "J Bloggs"),
        ]).write(.camt053, toFile: file)
        print("$ miles-adapter bank import \(file)")
        try run(["bank", "import", file])
        print("$ miles-adapter bank queue")
        let queue = try run(["bank", "queue"])
        guard let entry = queue.split(separator: " ").first.map(String.init), Int(entry) != nil else {
            print("(nothing waits in the queue: the rules allocated both payments)")
            return
        }
        print("$ MILES_ADAPTER_TOKEN=$ANN_TOKEN miles-adapter bank allocate \(entry) --contract \(owing[1].contractNumber) --note 'demo: phoned, J Bloggs pays for them'")
        try run(["bank", "allocate", entry, "--contract", owing[1].contractNumber, "--note", "demo: phoned, J Bloggs pays for them"],
                token: tokens["ann"])
        print("$ miles-adapter push")
        try run(["push"])
        print("$ miles-adapter bank report --date \(today)")
        try run(["bank", "report", "--date", today])
    }

    /// Removes what an earlier demo left in `directory` (its store, configuration and file), and
    /// nothing else: `--output` may name a folder that holds other files.
    private func recreate(_ directory: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in ["demo.sqlite", "demo.sqlite-wal", "demo.sqlite-shm", "miles-adapter.yaml", "demo-writeoffs.csv", "demo-statement.xml", "demo-statements"]
        where manager.fileExists(atPath: directory + "/" + name) {
            try manager.removeItem(atPath: directory + "/" + name)
        }
    }
}
