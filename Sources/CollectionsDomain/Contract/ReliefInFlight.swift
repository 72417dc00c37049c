/// Money the adapter has asked MILES to take off a contract's invoices, or is about to, that the
/// contract as the store holds it does not show yet: a payment allocation, a credit note or a
/// write-off. Each desk that lets a person take money off a contract takes these off first, so
/// the desks do not relieve the same debt twice (a payment allocated in full to invoices a queued
/// write-off also covers).
///
/// ```swift
/// let relief = try await store.reliefInFlight(contractNumbers: [contract.contractNumber])
/// let open = ReliefInFlight.open(contract.openInvoices, less: relief[contract.contractNumber] ?? [])
/// ```
public enum ReliefInFlight: Hashable, Sendable {
    /// A payment allocation (by its bank entry's identity), with the amount it puts on each invoice.
    case allocation(identity: String, lines: [String: Int64])
    /// A credit note of `amount` minor units on `invoiceNumbers` (every open invoice when empty).
    case creditNote(id: Int64, invoiceNumbers: [String], amount: Int64)
    /// A write-off request of `amount` minor units on `invoiceNumbers` (every open invoice when empty).
    case writeOff(id: Int64, invoiceNumbers: [String], amount: Int64)

    /// How a refusal says that relief in flight was taken off what is open.
    public static let takenOff = " once the payments allocated, credit notes and write-offs MILES does not show yet are taken off"

    /// `invoices` with each relief taken off their open amounts, never below zero: an allocation's
    /// lines where they say, then credit notes and write-offs oldest due first over the invoices they
    /// name, as MILES applies them. A relief naming an invoice no longer open takes nothing off it.
    public static func open(_ invoices: [Invoice], less reliefs: [ReliefInFlight]) -> [Invoice] {
        var open = invoices
        for relief in reliefs {
            guard case let .allocation(_, lines) = relief else { continue }
            for index in open.indices {
                open[index].openAmount.minorUnits = max(0, open[index].openAmount.minorUnits - (lines[open[index].number] ?? 0))
            }
        }
        let oldestFirst = open.indices.sorted { (open[$0].dueDate, $0) < (open[$1].dueDate, $1) }
        for relief in reliefs {
            let named: [String], amount: Int64
            switch relief {
            case .allocation: continue
            case let .creditNote(_, invoiceNumbers, total), let .writeOff(_, invoiceNumbers, total): (named, amount) = (invoiceNumbers, total)
            }
            var remaining = amount
            for index in oldestFirst where remaining > 0 && (named.isEmpty || named.contains(open[index].number)) {
                let taken = min(remaining, open[index].openAmount.minorUnits)
                open[index].openAmount.minorUnits -= taken
                remaining -= taken
            }
        }
        return open
    }

    /// What is open on the invoices numbered `invoiceNumbers` of `contract` (all its invoices when none)
    /// once `reliefs` are taken off, and how much they took off those invoices.
    public static func open(on invoiceNumbers: [String], of contract: Contract, less reliefs: [ReliefInFlight]) -> (open: Money, takenOff: Money) {
        func total(_ invoices: [Invoice]) -> Int64 {
            invoices.reduce(0) { $0 + (invoiceNumbers.isEmpty || invoiceNumbers.contains($1.number) ? $1.openAmount.minorUnits : 0) }
        }
        let before = total(contract.openInvoices), after = total(open(contract.openInvoices, less: reliefs))
        return (Money(minorUnits: after, currency: contract.currency), Money(minorUnits: before - after, currency: contract.currency))
    }

    /// What a relief is, without what it carries: for a desk leaving out its own kind.
    public enum Kind: Sendable {
        case allocation, creditNote, writeOff
    }

    /// This relief's kind.
    public var kind: Kind {
        switch self {
        case .allocation: .allocation
        case .creditNote: .creditNote
        case .writeOff: .writeOff
        }
    }

    /// Whether this is the credit note or write-off (`kind`) numbered `id`.
    public func isRecord(_ kind: Kind, id: Int64) -> Bool {
        switch self {
        case .allocation: false
        case let .creditNote(recordId, _, _): kind == .creditNote && recordId == id
        case let .writeOff(recordId, _, _): kind == .writeOff && recordId == id
        }
    }

    /// Whether the credit note or write-off (`kind`) numbered `id`, of `amount` on `invoiceNumbers`, covers
    /// everything open there once the rest of `reliefs` is taken off (more, when relief came since): what asking
    /// for 'full' asked for. One for part of it does not.
    public static func isFull(_ kind: Kind, id: Int64, amount: Money, on invoiceNumbers: [String], of contract: Contract,
                              among reliefs: [ReliefInFlight]) -> Bool {
        amount.minorUnits >= open(on: invoiceNumbers, of: contract, less: reliefs.filter { !$0.isRecord(kind, id: id) }).open.minorUnits
    }

    /// The allocation's bank entry identity, for an allocation.
    public var allocationIdentity: String? {
        if case let .allocation(identity, _) = self { identity } else { nil }
    }
}
