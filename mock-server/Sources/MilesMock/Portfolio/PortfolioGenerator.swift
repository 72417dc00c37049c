import CollectionsDomain

/// Generates the mock's seeded portfolio: contract `i` is a pure function of the seed and `i`,
/// so a million contracts are served without holding them in memory.
///
/// The mix is meant to look like a leasing book: all agreement types, arrears across every
/// aged-debt bucket, 0-12 open invoices, some shared customers, a few vulnerable ones, and names
/// and addresses with non-ASCII and XML-special characters.
///
/// Public for the benchmarks: the storing floor inserts the very contracts the mock serves, generated
/// in its own process.
public struct PortfolioGenerator: Sendable {
    public let seed: UInt64
    /// The business "now" of the generated book; every base contract was last changed before it.
    public let baseTime: Timestamp

    public init(seed: UInt64, baseTime: Timestamp) {
        self.seed = seed
        self.baseTime = baseTime
    }

    private static let firstNames = ["Zoë", "Siân", "Łukasz", "José", "Aoife", "Björn", "Chloé", "Mohammed", "Priya",
                                     "Seán", "Oliver", "Amelia", "Nuno", "Ünal", "Grace", "Dafydd"]
    private static let lastNames = ["O'Brien", "Smith", "Jones", "Müller", "Nowak", "D'Souza", "Ní Bhriain", "Øvergaard",
                                    "Taylor", "Patel", "Şahin", "García", "MacLeòid", "Evans"]
    /// A business's name: the text before and after the family name it is built on.
    private static let businessPatterns = [("", " & Sons Ltd"), ("", " Haulage <Fleet> Ltd"), ("\"", "\" Couriers Ltd"), ("", " Logistics plc"),
                                           ("", " & Partners LLP")]
    private static let streets = ["High Street", "Church Lane", "Ffordd Glyndŵr", "Station Road", "Mill's Court",
                                  "Rue d'Église", "Victoria Road", "King's Parade"]
    private static let towns: [(String, String)] = [("Cardiff", "CF10"), ("Glasgow", "G1"), ("Edinburgh", "EH1"),
                                                    ("Belfast", "BT1"), ("Leeds", "LS1"), ("Bristol", "BS1"),
                                                    ("Aberdeen", "AB10"), ("Ashby-de-la-Zouch", "LE65"), ("London", "SW1A")]
    private static let vehicles: [(String, String)] = [("Škoda", "Octavia Estate"), ("Citroën", "ë-C4"), ("Ford", "Transit Custom"),
                                                       ("Mercedes-Benz", "Sprinter 314"), ("Volkswagen", "Golf"), ("Tesla", "Model 3"),
                                                       ("Vauxhall", "Corsa-e"), ("BMW", "320d M Sport")]
    // Built once: building them for every contract was a tenth of what serving a sync cost the mock.
    private static let postcodeLetters = Array("ABDEFGHJLNPQRSTUWXYZ")
    private static let registrationLetters = Array("ABCDEFGHJKLMNOPRSTUVWXY")
    private static let vinAlphabet = Array("ABCDEFGHJKLMNPRSTUVWXYZ0123456789".utf8)

    /// The last-modified time of base contract `index`, without generating the rest of it.
    func baseLastModified(_ index: Int) -> Timestamp {
        var random = SplitMix64(seed: seed, stream: 7, index: index)
        return baseTime.adding(seconds: -Int64(random.int(3_600...(730 * 86_400))))
    }

    static func contractNumber(_ index: Int) -> String { "C" + pad(index + 1, 8) }

    static func index(ofContractNumber number: String) -> Int? {
        guard number.count == 9, number.first == "C", let value = Int(number.dropFirst()), value >= 1 else { return nil }
        return value - 1
    }

    /// Every fifth contract belongs to the customer of the contract before it.
    public static func partnerIndex(ofContract index: Int) -> Int { index % 5 == 4 ? index - 1 : index }

    func customer(partnerIndex: Int) -> Customer {
        var random = SplitMix64(seed: seed, stream: 2, index: partnerIndex)
        let isBusiness = random.chance(perMille: 250)
        let first = random.pick(Self.firstNames)
        let last = random.pick(Self.lastNames)
        let name: String
        if isBusiness {
            let (before, after) = random.pick(Self.businessPatterns)
            name = before + last + after
        } else {
            name = "\(first) \(last)"
        }
        let (town, district) = random.pick(Self.towns)
        let letters = Self.postcodeLetters
        let postcode = "\(district) \(random.int(1...9))\(letters[random.int(0...letters.count - 1)])\(letters[random.int(0...letters.count - 1)])"
        let phones = (0..<random.int(0...2)).map { _ in "07700 9\(Self.pad(random.int(0...99_999), 5))" }
        let email: String? = random.chance(perMille: 800) ? "customer\(partnerIndex + 1)@example.org" : nil
        return Customer(
            partnerId: "BP" + Self.pad(partnerIndex + 1, 8), name: name, kind: isBusiness ? .business : .consumer,
            address: PostalAddress(
                line1: "\(random.int(1...240)) \(random.pick(Self.streets))",
                line2: random.chance(perMille: 300) ? "Flat \(random.int(1...40))" : nil,
                town: town, postcode: postcode, country: "GB"),
            phones: phones, email: email, vulnerable: random.chance(perMille: 30))
    }

    /// Base contract `index`, as it stood before any day was advanced.
    public func contract(_ index: Int) -> Contract {
        let customer = self.customer(partnerIndex: Self.partnerIndex(ofContract: index))
        var random = SplitMix64(seed: seed, stream: 1, index: index)
        let agreementType: AgreementType = customer.kind == .business
            ? (random.chance(perMille: 800) ? .businessContractHire : .hirePurchase)
            : random.pick([.personalContractPurchase, .personalContractPurchase, .hirePurchase, .personalContractHire,
                           .conditionalSale])
        let currency: CurrencyCode = customer.kind == .business && random.chance(perMille: 50) ? .eur : .gbp
        let today = baseTime.date
        let termMonths = random.pick([24, 36, 48, 60])
        let monthsElapsed = random.int(2...(termMonths - 1))
        let startDate = today.adding(months: -monthsElapsed).adding(days: -random.int(0...27))
        let monthly = Int64(random.int(150...900)) * 100 + Int64(random.int(0...99))
        let deposit = Int64(random.int(0...4000)) * 100
        // Missed payments spread the arrears over every aged-debt bucket; most customers are up to date.
        let drawnMissed: Int
        switch random.int(0...99) {
        case 0..<55: drawnMissed = 0
        case 55..<70: drawnMissed = 1
        case 70..<80: drawnMissed = 2
        case 80..<88: drawnMissed = 3
        case 88..<94: drawnMissed = 4
        default: drawnMissed = random.int(5...11)
        }
        let missed = min(drawnMissed, monthsElapsed)
        let paidMonths = max(0, monthsElapsed - missed)
        var invoices: [Invoice] = []
        if missed > 0 {
            for month in (monthsElapsed - missed + 1)...monthsElapsed {
                invoices.append(invoice(index: index, month: month, startDate: startDate, monthly: monthly, currency: currency))
            }
        }
        if missed > 0, random.chance(perMille: 300), !invoices.isEmpty {
            // A part payment against the oldest unpaid invoice.
            invoices[0].openAmount.minorUnits = monthly / Int64(random.int(2...4))
        }
        let arrears = invoices.reduce(Int64(0)) { $0 + $1.openAmount.minorUnits }
        // The next month's invoice, issued but not yet due, for about half the book.
        if random.chance(perMille: 500), monthsElapsed + 1 < termMonths {
            var next = invoice(index: index, month: monthsElapsed + 1, startDate: startDate, monthly: monthly, currency: currency)
            next.issueDate = min(next.issueDate, today)
            invoices.append(next)
        }
        let statusCode: String
        switch missed {
        case 0: statusCode = random.chance(perMille: 30) ? "CLS" : "ACT"
        case 1...2: statusCode = random.chance(perMille: 200) ? "PPL" : "ARR"
        case 3...5: statusCode = random.pick(["ARR", "PPL", "DEF"])
        default: statusCode = random.pick(["DEF", "DCA", "LEG", "REP"])
        }
        let letters = Self.registrationLetters
        let registration = "\(letters[random.int(0...22)])\(letters[random.int(0...22)])\(Self.pad(random.int(10...74), 2)) "
            + "\(letters[random.int(0...22)])\(letters[random.int(0...22)])\(letters[random.int(0...22)])"
        let vinAlphabet = Self.vinAlphabet
        let vin = String(decoding: (0..<17).map { _ in vinAlphabet[random.int(0...vinAlphabet.count - 1)] }, as: UTF8.self)
        let (make, model) = random.pick(Self.vehicles)
        return Contract(
            contractNumber: Self.contractNumber(index), version: Int64(random.int(1...6)), statusCode: statusCode,
            agreementType: agreementType, startDate: startDate,
            endDate: random.chance(perMille: 950) ? startDate.adding(months: termMonths) : nil,
            currency: currency,
            totalPrice: Money(minorUnits: monthly * Int64(termMonths) + deposit, currency: currency),
            paidToDate: Money(minorUnits: monthly * Int64(paidMonths) + deposit, currency: currency),
            monthlyPayment: Money(minorUnits: monthly, currency: currency),
            arrears: Arrears(amount: Money(minorUnits: arrears, currency: currency),
                             oldestUnpaidDueDate: missed > 0 ? invoices.first?.dueDate : nil, missedPayments: missed),
            customer: customer,
            vehicle: Vehicle(registration: registration, vin: vin, make: make, model: model),
            openInvoices: invoices,
            lastModified: baseLastModified(index),
            // The last month paid in full, when any was.
            lastPaymentDate: paidMonths > 0 ? startDate.adding(months: paidMonths) : nil)
    }

    func invoice(index: Int, month: Int, startDate: LocalDate, monthly: Int64, currency: CurrencyCode) -> Invoice {
        let due = startDate.adding(months: month)
        return Invoice(
            number: "INV-\(Self.pad(index + 1, 8))-\(Self.pad(month, 3))", issueDate: due.adding(days: -14), dueDate: due,
            amount: Money(minorUnits: monthly, currency: currency), openAmount: Money(minorUnits: monthly, currency: currency))
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
