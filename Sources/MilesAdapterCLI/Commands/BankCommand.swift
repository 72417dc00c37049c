import ArgumentParser
import CollectionsDomain
import CollectionsStore
import Foundation
import MilesMapping
import MilesSync

extension BankStatementFormat: ExpressibleByArgument {}

/// `miles-adapter bank …`: the bank's statements in, payments allocated to contracts in MILES.
struct BankCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bank", abstract: "Import bank statements (camt.053, MT940) and allocate the payments in them to contracts.",
        discussion: """
            Each file is first kept whole (configuration 'statements', default ./statements), named by its SHA-256, and
            read through once: a malformed statement, one that does not add up, or one for an account no file in
            mappings/bank configures refuses the whole file, and nothing is stored. Entries are then matched by the
            account's rules and stored in batches with the statement's progress, so an interrupted import resumes where
            it stopped; an entry stored before (the same statement again, in the other format, or overlapping) is not
            counted twice. Allocations are queued as AllocatePayment for 'miles-adapter push'; entries the rules are
            not sure of wait in 'bank queue' for a person.
            """,
        subcommands: [Import.self, BankWatchCommand.self, Queue.self, Allocate.self, Suspense.self, Report.self], defaultSubcommand: Import.self)

    static func describe(_ stored: StoredBankEntry) -> String {
        let entry = stored.entry
        var text = "\(stored.id)  \(entry.bookingDate)  \(entry.amount)  \(entry.counterpartyName ?? "(no name)")"
            + (entry.counterpartyAccount.map { " \($0)" } ?? "") + "  \"\(entry.remittance)\""
        if let reason = stored.reason { text += "\n    \(reason)" }
        for candidate in stored.candidates {
            text += "\n    candidate \(candidate.contractNumber) at \(candidate.confidence): \(candidate.reasons.joined(separator: "; "))"
        }
        if let allocation = stored.allocation {
            text += "\n    allocated to \(allocation.contractNumber) by \(allocation.allocatedBy) (\(allocation.state.rawValue))"
            if allocation.suspense.minorUnits > 0 { text += ", \(allocation.suspense) in suspense" }
        }
        return text
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import one statement file (the default: 'miles-adapter bank import FILE').")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The statement file.") var path: String
        @Option(help: "camt053 or mt940; by default told by the file's first bytes.") var format: BankStatementFormat?
        @Option(help: "Entries committed per transaction.") var batchSize = BankDesk.defaultBatchSize

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.allocatePayment), .outbox(.reverseAllocation)])
                let outcome = try await session.bankDesk(batchSize: batchSize).importStatement(path: path, format: format)
                if outcome.duplicate {
                    print("\(path) was imported before (kept as \(outcome.keptAt)): nothing changed")
                    return
                }
                for statement in outcome.statements {
                    let header = statement.statement.header
                    var line = "statement \(statement.id) (\(header.account) \(header.statementId)"
                        + (header.sequenceNumber.map { " no. \($0)" } ?? "") + "): \(statement.statement.entryCount) entries, "
                        + "closing \(statement.statement.closing), \(statement.state.rawValue)"
                    if case let .gap(last) = statement.statement.continuity {
                        line += "; FLAGGED: opens with \(header.opening), but the account's last statement closed with \(last)"
                    }
                    print(line)
                }
                let counts = outcome.counts
                print("\(counts.allocated) allocated, \(counts.toCheck) to check, \(counts.suspense) in suspense, "
                      + "\(counts.reversals) reversals, \(counts.noAction) with nothing to do, \(counts.alreadyStored) already stored")
                if counts.allocated + counts.reversals > 0 { print("MILES calls queued; run 'miles-adapter push'") }
                if counts.toCheck > 0 { print("entries to check: 'miles-adapter bank queue'") }
                if let peak = SyncCommand.peakResidentMemoryKilobytes() { print("peak memory: \(peak / 1024) MB") }
            }
        }
    }

    struct Queue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Entries waiting for a person, with the candidates and the reason, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "At most this many.") var limit = 100

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                let entries = try await session.bankDesk().queue(limit: limit)
                if entries.isEmpty { print("no bank entry waits for a person") }
                for entry in entries { print(BankCommand.describe(entry)) }
            }
        }
    }

    struct Allocate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Allocate a waiting entry to a contract: to the invoices named, or to its open invoices oldest first.",
            discussion: "What is left over is held in suspense. The allocation is audited with you, and queued for 'miles-adapter push'.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The bank entry's id ('bank queue' lists them).") var entry: Int64
        @Option(help: "The contract the payment is for.") var contract: String
        @Option(name: .customLong("invoice"), help: "An invoice to allocate to (repeat for several); by default all open invoices.")
        var invoices: [String] = []
        @Option(help: "Why this contract, for the audit log.") var note: String?

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global, requiring: [.outbox(.allocatePayment)])
                try await session.requireIntactAudit()
                let person = try await session.person()
                let allocation = try await session.bankDesk().allocate(entryId: entry, contractNumber: contract, invoiceNumbers: invoices,
                                                                       note: note, by: person.name)
                print("bank entry \(entry) allocated to \(allocation.contractNumber): "
                      + allocation.lines.map { "\($0.invoiceNumber) \($0.amount)" }.joined(separator: ", ")
                      + (allocation.suspense.minorUnits > 0 ? "; \(allocation.suspense) in suspense" : "")
                      + "; queued as \(allocation.clientReference), run 'miles-adapter push'")
            }
        }
    }

    struct Suspense: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Entries holding money in suspense: unallocated, or overpaid; oldest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "At most this many.") var limit = 100

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                let entries = try await session.bankDesk().suspense(limit: limit)
                if entries.isEmpty { print("nothing is held in suspense") }
                for entry in entries { print(BankCommand.describe(entry)) }
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A day's payments by booking date: received, allocated automatically and by hand, waiting, in suspense.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The booking date, like 2026-12-01; by default today.") var date: String?

        func run() async throws {
            try await reportingFailures {
                let day = try date.map { try ContractCommand.parseDate($0, option: "--date") } ?? ContractCommand.today()
                let session = try await CommandSession(global)
                let reports = try await session.bankDesk().report(date: day)
                if reports.isEmpty { print("no bank entries booked on \(day)") }
                for report in reports {
                    func line(_ name: String, _ figures: BankDayReport.Line) -> String {
                        let amount = Money(minorUnits: figures.minorUnits, currency: report.currency)
                        return "  \(name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(String(figures.count).leftPadded(8))  \(amount)"
                    }
                    print("\(day) \(report.currency)")
                    print(line("received", report.received))
                    print(line("allocated automatically", report.allocatedAutomatically))
                    print(line("allocated by hand", report.allocatedByHand))
                    print(line("waiting", report.waiting))
                    print(line("in suspense", report.inSuspense))
                    print(line("of allocated: overpaid", report.overpaid))
                    print(line("returns and reversals", report.reversals))
                    print(line("money out", report.outgoing))
                }
            }
        }
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
