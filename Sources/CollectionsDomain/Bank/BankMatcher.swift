/// The matching rules applied to one payment in: which contracts it may pay, how sure the rules are
/// of each, and whether that is sure enough to allocate without a person.
///
/// ```swift
/// let lookup = rules.lookup(for: entry)               // the numbers and the payer to read, for a batch of entries
/// let data = try await store.bankMatchData(contractNumbers: …, invoiceNumbers: …, payerAccounts: …)
/// switch rules.decide(entry, data: data) {
/// case let .allocate(candidate, lines, suspense, transit): …
/// case let .toCheck(reason, candidates): …           // the to-check queue
/// }
/// ```
extension BankAccountRules {
    /// The contract and invoice numbers the entry quotes (remittance, then end-to-end id) and the account that paid.
    public func lookup(for entry: BankEntry) -> BankMatchLookup {
        var contracts: [String] = []
        var invoices: [String] = []
        func scan(_ text: String) {
            for pattern in contractPatterns { pattern.appendMatches(in: text, to: &contracts) }
            for pattern in invoicePatterns { pattern.appendMatches(in: text, to: &invoices) }
        }
        scan(entry.remittance)
        if let endToEndId = entry.endToEndId { scan(endToEndId) }
        return BankMatchLookup(contractNumbers: contracts, invoiceNumbers: invoices, payerAccount: entry.payerAccount)
    }

    /// Decides the entry on what the store found for its lookup.
    public func decide(_ entry: BankEntry, data: BankMatchData) -> BankMatchOutcome {
        decide(entry, lookup: lookup(for: entry), data: data)
    }

    /// Decides the entry on its lookup (`lookup(for:)`, when the caller kept it) and what the store found for it.
    ///
    /// The best contract is allocated when its confidence is at least `allocateAt` and its rules' sum
    /// (before the cap at 100) `margin` ahead of the next contract's; otherwise the entry is to check, with the reason and every candidate, best first.
    /// Also to check, whatever the confidence: a payment in another currency than the contract's, and
    /// a contract with nothing open (a person decides between a refund and a payment on account;
    /// suspense holds only what is left over after the invoices).
    public func decide(_ entry: BankEntry, lookup: BankMatchLookup, data: BankMatchData) -> BankMatchOutcome {
        guard entry.isPaymentIn else {
            return .toCheck(reason: entry.isReversal ? "a reversal undoes its allocation; it is not matched" : "a debit is not a payment to allocate",
                            candidates: [])
        }
        let scored = candidates(entry, lookup: lookup, data: data)
        guard let best = scored.first else { return .toCheck(reason: Self.unmatchedReason(lookup), candidates: []) }
        var candidates: [BankMatchCandidate] { scored.map(\.candidate) }
        let contract = best.contract
        guard contract.currency == entry.amount.currency else {
            return .toCheck(reason: "the payment is in \(entry.amount.currency.code) but \(contract.contractNumber) is in \(contract.currency.code)",
                            candidates: candidates)
        }
        let confidence = best.candidate.confidence
        guard confidence >= allocateAt else {
            return .toCheck(reason: "best match \(contract.contractNumber) at \(confidence) < \(allocateAt)", candidates: candidates)
        }
        // The margin is judged on the sums before the cap, so a quoted contract stays ahead of its
        // customer's other contracts that the softer rules also fit; equal sums are never split by
        // the contract numbers' order, whatever the margin.
        if scored.count > 1, best.sum - scored[1].sum < max(margin, 1) {
            let tied = scored.filter { $0.sum == best.sum }
            let reason = tied.count > 1
                ? "\(tied.count == 2 ? "two" : "\(tied.count)") contracts match equally at \(confidence): "
                    + tied.map(\.contract.contractNumber).joined(separator: ", ")
                : "\(contract.contractNumber) at \(confidence) is less than \(margin) ahead of "
                    + "\(scored[1].contract.contractNumber) at \(scored[1].candidate.confidence)"
            return .toCheck(reason: reason, candidates: candidates)
        }
        guard contract.openBalance.minorUnits > 0 else {
            return .toCheck(reason: "nothing open on \(contract.contractNumber): all \(entry.amount) would go to suspense", candidates: candidates)
        }
        let quoted = best.quotedInvoices
        let first = allocateOldestFirst(entry.amount, over: contract.openInvoices.filter { quoted.contains($0.number) })
        let rest = allocateOldestFirst(first.remainder, over: contract.openInvoices.filter { !quoted.contains($0.number) })
        return .allocate(best.candidate, lines: first.lines + rest.lines, suspense: rest.remainder, paymentInTransit: best.transit?.updateId)
    }

    /// A contract the rules found, with what the allocation needs to know of it.
    private struct Scored {
        var candidate: BankMatchCandidate
        /// The weights of the rules that held, before the cap at 100.
        var sum: Int
        var contract: BankMatchContract
        var quotedInvoices: [String]
        var transit: PaymentInTransit?
    }

    /// Every contract the entry names (by contract or invoice number) or its payer paid before, scored
    /// by every rule, best sum first (ties by contract number, so the order never depends on the store's).
    private func candidates(_ entry: BankEntry, lookup: BankMatchLookup, data: BankMatchData) -> [Scored] {
        var numbers = lookup.contractNumbers
        for invoice in lookup.invoiceNumbers {
            if let owner = data.invoiceOwners[invoice], !numbers.contains(owner) { numbers.append(owner) }
        }
        let payerContracts = lookup.payerAccount.flatMap { data.payerContracts[$0] } ?? []
        for number in payerContracts where !numbers.contains(number) { numbers.append(number) }
        let payerName = entry.counterpartyName.map(PersonName.init)
        var scored: [Scored] = []
        for number in numbers {
            guard let contract = data.contracts[number] else { continue }
            var confidence = 0
            var reasons: [String] = []
            func add(_ weight: Int, _ reason: String) {
                guard weight > 0 else { return }
                confidence += weight
                reasons.append(reason)
            }
            // Reasons are fixed texts where they can be (no allocation): the candidate names the contract.
            if lookup.contractNumbers.contains(number) { add(weights.contractNumber, "contract number in the remittance") }
            let quoted = lookup.invoiceNumbers.filter { data.invoiceOwners[$0] == number }
            if !quoted.isEmpty { add(weights.invoiceNumber, quoted.count == 1 ? "invoice number in the remittance" : "invoice numbers in the remittance") }
            if let payer = lookup.payerAccount, contract.knownPayerAccounts.contains(payer) || payerContracts.contains(number) {
                add(weights.payerAccount, "payer's account known for the customer")
            }
            if weights.amount > 0, let what = amountMatch(entry.amount, contract) { add(weights.amount, what) }
            if weights.name > 0, let payerName {
                let similarity = payerName.similarity(to: PersonName(contract.customerName))
                if similarity >= nameSimilarity { add(weights.name, "payer's name \(similarity)% like the customer's") }
            }
            let transit = weights.paymentInTransit > 0 ? paymentInTransit(entry, contract) : nil
            if let transit { add(weights.paymentInTransit, "\(transit.agent)'s payment in transit (update \(transit.updateId))") }
            scored.append(Scored(candidate: BankMatchCandidate(contractNumber: number, confidence: min(confidence, 100), reasons: reasons),
                                 sum: confidence, contract: contract, quotedInvoices: quoted, transit: transit))
        }
        return scored.sorted { ($0.sum, $1.candidate.contractNumber) > ($1.sum, $0.candidate.contractNumber) }
    }

    /// What of the contract the amount is exactly, as the reason names it.
    private func amountMatch(_ amount: Money, _ contract: BankMatchContract) -> String? {
        guard amount.currency == contract.currency, amount.minorUnits > 0 else { return nil }
        if contract.openInvoices.contains(where: { $0.openAmount == amount }) { return "amount equals an open invoice" }
        if contract.monthlyPayment == amount { return "amount equals the monthly instalment" }
        if contract.arrears == amount { return "amount equals the arrears" }
        if contract.openBalance == amount { return "amount equals the whole open balance" }
        return nil
    }

    /// The agent's reported payment of the same amount made at most `transitDays` before the money
    /// arrived; of several, the most recent (then the lowest update), so a repeat import picks the same one.
    private func paymentInTransit(_ entry: BankEntry, _ contract: BankMatchContract) -> PaymentInTransit? {
        contract.paymentsInTransit
            .filter { $0.amount == entry.amount && (0...transitDays).contains(entry.valueDate.days(since: $0.paidOn)) }
            .min { ($1.paidOn, $0.updateId) < ($0.paidOn, $1.updateId) }
    }

    private static func unmatchedReason(_ lookup: BankMatchLookup) -> String {
        let quoted = lookup.contractNumbers + lookup.invoiceNumbers
        let payer = lookup.payerAccount.map { "the payer's account \($0) is unknown" } ?? "the bank gives no payer's account"
        guard !quoted.isEmpty else { return "no contract or invoice number and \(payer)" }
        return "\(quoted.joined(separator: ", ")) quoted in the remittance but not known, and \(payer)"
    }
}

/// A person's or company's name reduced to what identifies it, for comparing the payer's name the
/// bank gives with the customer's in MILES: case, accents ("José" is "Jose"), punctuation, word
/// order, and titles and legal forms ("Mr", "Mrs", "Ltd", "GmbH") make no difference.
///
/// ```swift
/// PersonName("MR JOSE GARCIA").similarity(to: PersonName("García, José"))   // 100
/// ```
public struct PersonName: Sendable {
    /// The words kept, folded to lower case without accents, one after another: two arrays for the
    /// whole name rather than one a word, as a name is folded for every candidate of every entry.
    private var scalars: [Unicode.Scalar] = []
    private var bounds: [Range<Int>] = []

    /// Titles, legal forms and joining words, in the languages of the banks' statements, which
    /// banks and MILES write differently or leave out.
    public static let ignoredWords: Set<String> = [
        "mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame", "herr", "frau", "mme", "mlle", "sr", "sra",
        "ltd", "limited", "plc", "llp", "lp", "inc", "corp", "co", "company", "gmbh", "ag", "kg", "bv", "nv", "sa", "sarl", "srl", "spa",
        "the", "and", "und", "et",
    ]

    private static let ignored = Set(ignoredWords.map { ArraySlice($0.unicodeScalars) })
    private static let longestIgnored = ignoredWords.map(\.unicodeScalars.count).max() ?? 0

    public init(_ text: String) {
        scalars.reserveCapacity(text.utf8.count)
        bounds.reserveCapacity(4)
        var start = 0
        func endWord() {
            guard scalars.count > start else { return }
            if scalars.count - start <= Self.longestIgnored, Self.ignored.contains(scalars[start...]) {
                scalars.removeSubrange(start...)
            } else {
                bounds.append(start..<scalars.count)
                start = scalars.count
            }
        }
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x41...0x5A: scalars.append(Unicode.Scalar(UInt8(scalar.value + 32)))
            case 0x61...0x7A, 0x30...0x39: scalars.append(scalar)
            case 0x27, 0x2019: continue
            case 0..<0x80: endWord()
            case UInt32(Self.latinStart)..<UInt32(Self.latinStart + Self.latinFolds.count):
                let folded = Self.latinFolds[Int(scalar.value) - Self.latinStart]
                if let folded { scalars.append(contentsOf: folded) } else { endWord() }
            default:
                if let folded = Self.fold(scalar) { scalars.append(contentsOf: folded) } else { endWord() }
            }
        }
        endWord()
    }

    /// The words kept, as compared.
    public var words: [String] { bounds.map { String(String.UnicodeScalarView(scalars[$0])) } }

    /// The accented letters of the Latin-1 Supplement and Latin Extended-A and -B, folded once.
    private static let latinStart = 0xC0
    private static let latinFolds: [[Unicode.Scalar]?] = (latinStart..<0x250).map { fold(Unicode.Scalar(UInt32($0))!) }

    /// A Latin letter with marks becomes its base letter, read from its Unicode name ("LATIN SMALL
    /// LETTER E WITH ACUTE" is e, "LATIN SMALL LIGATURE OE" is oe), so every accented Latin letter is
    /// covered without a table to keep; other letters are only lower-cased; combining marks vanish
    /// (empty); anything else separates words (nil).
    private static func fold(_ scalar: Unicode.Scalar) -> [Unicode.Scalar]? {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return []
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .otherLetter, .modifierLetter, .decimalNumber: break
        default: return nil
        }
        if let name = properties.name, name.hasPrefix("LATIN ") {
            let parts = name.split(separator: " ")
            if let kind = parts.firstIndex(where: { $0 == "LETTER" || $0 == "LIGATURE" }), kind + 1 < parts.count {
                let base = parts[kind + 1]
                if base == "SHARP", kind + 2 < parts.count, parts[kind + 2] == "S" { return ["s", "s"] }
                if base == "DOTLESS" { return ["i"] }
                if base.count <= 2, base.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) {
                    return base.unicodeScalars.map { Unicode.Scalar(UInt8($0.value + 32)) }
                }
            }
        }
        return Array(properties.lowercaseMapping.unicodeScalars)
    }

    /// 0...100: the share of both names' words that pair up, a word counting fully when equal, 80% when
    /// one is the other's initial ("J" and "Jose"), and by its spelling when one or two letters differ
    /// ("Smyth" and "Smith"). No words on either side is 0; words after the 64th are not compared.
    public func similarity(to other: PersonName) -> Int {
        let left = bounds.prefix(64)
        let right = other.bounds.prefix(64)
        guard !left.isEmpty, !right.isEmpty else { return 0 }
        var leftUsed: UInt64 = 0
        var rightUsed: UInt64 = 0
        var score = 0
        // Equal words pair first, so a near spelling never takes a word that has its exact match.
        for (i, one) in left.enumerated() {
            for (j, two) in right.enumerated() where rightUsed & (1 << j) == 0 && scalars[one] == other.scalars[two] {
                score += 1000
                leftUsed |= 1 << i
                rightUsed |= 1 << j
                break
            }
        }
        for (i, one) in left.enumerated() where leftUsed & (1 << i) == 0 {
            var best = (index: -1, points: 0)
            for (j, two) in right.enumerated() where rightUsed & (1 << j) == 0 {
                let points = Self.likeness(scalars[one], other.scalars[two])
                if points > best.points { best = (j, points) }
            }
            guard best.index >= 0 else { continue }
            score += best.points
            rightUsed |= 1 << best.index
        }
        return score * 2 / (left.count + right.count) / 10
    }

    /// Per mille, for two different words.
    private static func likeness(_ one: ArraySlice<Unicode.Scalar>, _ two: ArraySlice<Unicode.Scalar>) -> Int {
        if (one.count == 1 && two.first == one.first) || (two.count == 1 && one.first == two.first) { return 800 }
        let longest = max(one.count, two.count)
        guard longest >= 4, abs(one.count - two.count) <= 2 else { return 0 }
        let distance = editDistance(one, two)
        return distance <= 2 && distance * 4 <= longest ? 1000 - distance * 1000 / longest : 0
    }

    /// Levenshtein distance; names are short, so one row of it is enough memory.
    private static func editDistance(_ one: ArraySlice<Unicode.Scalar>, _ two: ArraySlice<Unicode.Scalar>) -> Int {
        var row = Array(0...two.count)
        for (i, a) in one.enumerated() {
            var diagonal = row[0]
            row[0] = i + 1
            for (j, b) in two.enumerated() {
                let above = row[j + 1]
                row[j + 1] = min(above + 1, row[j] + 1, diagonal + (a == b ? 0 : 1))
                diagonal = above
            }
        }
        return row[two.count]
    }
}
