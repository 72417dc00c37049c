import CollectionsDomain

// What both stores do alike with bank entries: a batch's counts for its audit entry, an allocation's lines and a waiting
// entry's candidates in one column each, and the day report's assembly from its lines.

/// How a batch's entries were decided, for its audit entry and its result.
package struct BankBatchCounts: CustomStringConvertible {
    package var byState: [BankEntryState: Int] = [:]
    package var stored = 0
    package var alreadyStored = 0

    package init() {}

    package mutating func count(_ state: BankEntryState) {
        stored += 1
        byState[state, default: 0] += 1
    }

    package var description: String {
        "\(byState[.allocated] ?? 0) allocated, \(byState[.toCheck] ?? 0) to check, \(byState[.suspense] ?? 0) in suspense, "
            + "\(byState[.reversal] ?? 0) reversals, \(byState[.noAction] ?? 0) no action; \(alreadyStored) already stored"
    }
}

/// How the store keeps an allocation's lines and a waiting entry's candidates, one column each: fields
/// apart by U+001F, items by U+001E, a candidate's reasons by U+001D, characters no invoice or
/// contract number and no reason holds.
package enum StoredBankValues {
    package static func join(_ lines: [AllocationLine]) -> String {
        lines.map { "\($0.invoiceNumber)\u{1F}\($0.amount.minorUnits)" }.joined(separator: "\u{1E}")
    }

    package static func lines(_ column: String, of input: String) throws -> [(invoice: String, amount: Int64)] {
        try items(column).map { fields in
            guard fields.count == 2, let amount = Int64(fields[1]) else {
                throw StoreError(.corruptRecord, input: input, "\(input) has an unreadable allocation line in the store")
            }
            return (fields[0], amount)
        }
    }

    package static func join(_ candidates: [BankMatchCandidate]) -> String {
        candidates.map { "\($0.contractNumber)\u{1F}\($0.confidence)\u{1F}\($0.reasons.joined(separator: "\u{1D}"))" }.joined(separator: "\u{1E}")
    }

    package static func candidates(_ column: String, of input: String) throws -> [BankMatchCandidate] {
        try items(column).map { fields in
            guard fields.count == 3, let confidence = Int(fields[1]) else {
                throw StoreError(.corruptRecord, input: input, "\(input) has an unreadable candidate in the store")
            }
            let reasons = fields[2].isEmpty ? [] : fields[2].split(separator: "\u{1D}", omittingEmptySubsequences: false).map(String.init)
            return BankMatchCandidate(contractNumber: fields[0], confidence: confidence, reasons: reasons)
        }
    }

    private static func items(_ column: String) -> [[String]] {
        column.isEmpty ? [] : column.split(separator: "\u{1E}", omittingEmptySubsequences: false)
            .map { $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init) }
    }
}

extension BankDayReport {
    package static func empty(date: LocalDate, currency: CurrencyCode) -> BankDayReport {
        let none = Line(count: 0, minorUnits: 0)
        return BankDayReport(date: date, currency: currency, received: none, allocatedAutomatically: none, allocatedByHand: none, waiting: none,
                             inSuspense: none, overpaid: none, reversals: none, outgoing: none)
    }

    /// Adds the entries of one line of the day (as `bankDayReport` names them) and the overpayments among them. A payment
    /// returned before anyone allocated it is in no line but `reversals` (on the day of its return), so `received` is what the
    /// other four lines hold.
    package mutating func add(line: String, count: Int, minorUnits: Int64, overpaidCount: Int, overpaidMinorUnits: Int64) {
        let entries = Line(count: count, minorUnits: minorUnits)
        switch line {
        case "reversals": reversals = entries
        case "outgoing": outgoing = entries
        case "allocatedAutomatically": allocatedAutomatically = entries
        case "allocatedByHand": allocatedByHand = entries
        case "waiting": waiting = entries
        case "inSuspense": inSuspense = entries
        default: return
        }
        guard line != "reversals", line != "outgoing" else { return }
        received.count += count
        received.minorUnits += minorUnits
        overpaid.count += overpaidCount
        overpaid.minorUnits += overpaidMinorUnits
    }
}

extension BankEntryDecision {
    /// The entry's columns for what the desk decided: its state, why, the candidates, and the entry it undoes.
    package var storedColumns: (state: BankEntryState, reason: String?, candidates: String, reverses: Int64?) {
        switch self {
        case .allocate: (.allocated, nil, "", nil)
        case let .toCheck(reason, candidates): (.toCheck, reason, StoredBankValues.join(candidates), nil)
        case let .suspense(reason): (.suspense, reason, "", nil)
        case let .reverse(originalEntryId, reason): (.reversal, reason, "", originalEntryId)
        case let .noAction(reason): (.noAction, reason, "", nil)
        }
    }
}

extension NewBankStatement {
    /// What the audit log says of a stored statement.
    package var auditDescription: String {
        let continuity = switch continuity {
        case .first: "the first for the account"
        case .follows: "follows the last closing balance"
        case let .gap(lastClosing): "does NOT follow the last closing balance \(lastClosing)"
        }
        return "\(fileName) statement \(indexInFile) (\(header.format.rawValue) \(header.statementId) of \(header.account)): "
            + "\(entryCount) entries, opening \(header.opening), closing \(closing); \(continuity)"
    }
}

extension PaymentAllocation {
    /// What the audit log says of an allocation made by hand of an entry of `amount`.
    package func auditDescription(of amount: Money) -> String {
        let lines = lines.map { "\($0.amount) to \($0.invoiceNumber)" }.joined(separator: ", ")
        return "\(amount) to contract \(contractNumber)" + (lines.isEmpty ? "" : ": \(lines)")
            + (suspense.minorUnits > 0 ? ", \(suspense) in suspense" : "") + " (\(reason))"
    }
}
