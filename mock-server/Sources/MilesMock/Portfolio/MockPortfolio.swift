import CollectionsDomain

/// MILES's book as the mock holds it: the seeded base contracts plus an overlay of every
/// contract that changed since, and the business clock that stamps those changes.
struct MockPortfolio: Sendable {
    let generator: PortfolioGenerator
    let contractCount: Int
    private(set) var overlay: [Int: Contract] = [:]
    /// Changed contract indexes in ascending order, for incremental queries.
    private(set) var changedIndexes: [Int] = []
    private(set) var clock: Timestamp
    private(set) var daysAdvanced = 0
    /// FindContracts pages already rendered from the book as it stands; `record` empties it.
    var renderedPages = RenderedPages()

    init(seed: UInt64, contractCount: Int, baseTime: Timestamp) {
        generator = PortfolioGenerator(seed: seed, baseTime: baseTime)
        self.contractCount = contractCount
        clock = baseTime
    }

    func contract(_ index: Int) -> Contract { overlay[index] ?? generator.contract(index) }

    func lastModified(_ index: Int) -> Timestamp { overlay[index]?.lastModified ?? generator.baseLastModified(index) }

    func contract(number: String) -> Contract? {
        guard let index = PortfolioGenerator.index(ofContractNumber: number), index < contractCount else { return nil }
        return contract(index)
    }

    /// The indexes after `start` whose contracts changed after `since`, up to `limit` of them, and whether more remain.
    func changed(since: Timestamp?, after start: Int, limit: Int, asOf: Timestamp) -> (indexes: [Int], more: Bool) {
        var result: [Int] = []
        let matches: (Int) -> Bool = { index in
            let modified = lastModified(index)
            return (since.map { modified > $0 } ?? true) && modified <= asOf
        }
        if let since, since >= generator.baseTime {
            // Only overlay contracts can have changed after the base time: skip the scan of the whole book.
            var position = lowerBound(changedIndexes, start + 1)
            while position < changedIndexes.count {
                let index = changedIndexes[position]
                if matches(index) {
                    if result.count == limit { return (result, true) }
                    result.append(index)
                }
                position += 1
            }
            return (result, false)
        }
        var index = start + 1
        while index < contractCount {
            if matches(index) {
                if result.count == limit { return (result, true) }
                result.append(index)
            }
            index += 1
        }
        return (result, false)
    }

    /// How many contracts changed after `since` (all of them when `since` is nil).
    func count(since: Timestamp?, asOf: Timestamp) -> Int {
        guard let since else { return contractCount }
        if since >= generator.baseTime {
            return changedIndexes.reduce(0) { $0 + (lastModified($1) > since && lastModified($1) <= asOf ? 1 : 0) }
        }
        var total = 0
        for index in 0..<contractCount where lastModified(index) > since && lastModified(index) <= asOf { total += 1 }
        return total
    }

    /// Changes one contract as `change` says, as MILES would record it (a new version); false if
    /// there is no such contract.
    mutating func modify(number: String, _ change: (inout Contract) -> Void) -> Bool {
        guard let index = PortfolioGenerator.index(ofContractNumber: number), index < contractCount else { return false }
        var contract = self.contract(index)
        change(&contract)
        record(index, contract)
        return true
    }

    /// Moves the business clock a day on and changes `changes` contracts as a day of business would:
    /// payments against the oldest arrears, new invoices, status changes. Returns the contract numbers changed.
    mutating func advanceDay(changes: Int) -> [String] {
        daysAdvanced += 1
        clock = clock.adding(seconds: 86_400)
        var random = SplitMix64(seed: generator.seed, stream: 11, index: daysAdvanced)
        var chosen: Set<Int> = []
        let wanted = min(changes, contractCount)
        while chosen.count < wanted { chosen.insert(Int(random.next() % UInt64(contractCount))) }
        var numbers: [String] = []
        for index in chosen.sorted() {
            var contract = self.contract(index)
            switch random.int(0...2) {
            case 0: applyPayment(&contract)
            case 1: addInvoice(&contract, index: index)
            default: changeStatus(&contract)
            }
            record(index, contract)
            numbers.append(contract.contractNumber)
        }
        return numbers
    }

    /// Stores a changed contract: a new version, stamped with the business clock, which moves on a
    /// millisecond first so that every change is later than any query that began before it.
    mutating func record(_ index: Int, _ changed: Contract) {
        clock = clock.adding(milliseconds: 1)
        renderedPages.removeAll()
        var contract = changed
        contract.version += 1
        contract.lastModified = clock
        if overlay.updateValue(contract, forKey: index) == nil {
            changedIndexes.insert(index, at: lowerBound(changedIndexes, index))
        }
    }

    private func applyPayment(_ contract: inout Contract) {
        let today = clock.date
        guard let position = contract.openInvoices.firstIndex(where: { $0.dueDate < today }) else {
            addInvoice(&contract, index: PortfolioGenerator.index(ofContractNumber: contract.contractNumber) ?? 0)
            return
        }
        let paid = contract.openInvoices.remove(at: position)
        contract.paidToDate.minorUnits += paid.openAmount.minorUnits
        contract.lastPaymentDate = today
        contract.arrears.amount.minorUnits = max(0, contract.arrears.amount.minorUnits - paid.openAmount.minorUnits)
        contract.arrears.missedPayments = max(0, contract.arrears.missedPayments - 1)
        contract.arrears.oldestUnpaidDueDate = contract.openInvoices.first(where: { $0.dueDate < today })?.dueDate
        if contract.arrears.amount.minorUnits == 0, contract.statusCode == "ARR" { contract.statusCode = "ACT" }
    }

    private func addInvoice(_ contract: inout Contract, index: Int) {
        guard contract.openInvoices.count < 12 else { return }
        let today = clock.date
        let month = (contract.openInvoices.compactMap { Int($0.number.suffix(3)) }.max() ?? 0) + 1
        contract.openInvoices.append(Invoice(
            number: "INV-\(PortfolioGenerator.pad(index + 1, 8))-\(PortfolioGenerator.pad(month, 3))",
            issueDate: today, dueDate: today.adding(days: 14),
            amount: contract.monthlyPayment, openAmount: contract.monthlyPayment))
    }

    private func changeStatus(_ contract: inout Contract) {
        switch contract.statusCode {
        case "ACT": contract.statusCode = contract.arrears.amount.minorUnits > 0 ? "ARR" : "ACT"
        case "ARR": contract.statusCode = "PPL"
        case "PPL": contract.statusCode = "ARR"
        case "DEF": contract.statusCode = "DCA"
        default: break
        }
    }

    private func lowerBound(_ array: [Int], _ value: Int) -> Int {
        var low = 0
        var high = array.count
        while low < high {
            let mid = (low + high) / 2
            if array[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
