import CollectionsDomain
import MilesSOAP

/// ContractService writes: UpdateContractStatus (versioned, with MILES's own transition table,
/// idempotent on the client reference) and AddContractNote.
extension MockMiles {
    /// MILES's transition table, in its own codes: independent of the adapter's, as a real MILES would be.
    static let statusTransitions: [String: Set<String>] = [
        "ACT": ["ARR", "PPL", "CLS"], "ARR": ["ACT", "PPL", "DEF"], "PPL": ["ACT", "ARR", "DEF"],
        "DEF": ["PPL", "DCA", "REP", "LEG", "TER", "WOF"], "DCA": ["DEF", "PPL", "LEG", "REP", "WOF"],
        "REP": ["DEF", "TER", "WOF", "CLS"], "LEG": ["PPL", "REP", "TER", "WOF"], "TER": ["LEG", "WOF", "CLS"],
        "WOF": ["CLS"], "CLS": [],
    ]

    func updateContractStatus(_ request: MockSOAPRequest) throws -> [UInt8] {
        guard let reference = request.value("ClientReference"), let number = request.value("ContractNumber"),
              let status = request.value("Status"), let expectedText = request.value("ExpectedVersion"),
              let expected = Int64(expectedText), request.value("ReasonCode") != nil,
              request.value("EffectiveDate").flatMap(LocalDate.parse) != nil else {
            throw MockFault(code: "INVALID_REQUEST", message: "UpdateContractStatus needs ContractNumber, ExpectedVersion, Status, "
                + "ReasonCode, EffectiveDate and ClientReference")
        }
        if let earlier = statusUpdates[reference] { return try Self.statusResponse(earlier) }
        guard let index = PortfolioGenerator.index(ofContractNumber: number), index < portfolio.contractCount else {
            throw MockFault(code: "UNKNOWN_CONTRACT", message: "no contract \(number)")
        }
        let contract = portfolio.contract(index)
        guard contract.version == expected else {
            throw MockFault(code: "VERSION_CONFLICT", message: "contract \(number) is at version \(contract.version), not \(expected)")
        }
        guard Self.statusTransitions[contract.statusCode]?.contains(status) == true else {
            throw MockFault(code: "INVALID_TRANSITION", message: "contract \(number) cannot go from \(contract.statusCode) to \(status)")
        }
        var changed = contract
        changed.statusCode = status
        portfolio.record(index, changed)
        let result = (number, portfolio.contract(index).version, status)
        statusUpdates[reference] = result
        return try Self.statusResponse(result)
    }

    func addContractNote(_ request: MockSOAPRequest) throws -> [UInt8] {
        guard let reference = request.value("ClientReference"), let number = request.value("ContractNumber"),
              let text = request.value("Text"), !text.isEmpty else {
            throw MockFault(code: "INVALID_REQUEST", message: "AddContractNote needs ContractNumber, Text and ClientReference")
        }
        guard PortfolioGenerator.index(ofContractNumber: number).map({ $0 < portfolio.contractCount }) == true else {
            throw MockFault(code: "UNKNOWN_CONTRACT", message: "no contract \(number)")
        }
        let noteId = notes[reference]?.noteId ?? "N" + PortfolioGenerator.pad(notes.count + 1, 8)
        if notes[reference] == nil {
            notes[reference] = MockNote(noteId: noteId, contractNumber: number, category: request.value("Category") ?? "",
                                        text: text, source: request.value("Source") ?? "")
        }
        return try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:AddContractNoteResponse")
            try writer.element("m:NoteId", noteId)
            writer.close("m:AddContractNoteResponse")
        }
    }

    func updateContactDetails(_ request: MockSOAPRequest) throws -> [UInt8] {
        guard let reference = request.value("ClientReference"), let partnerId = request.value("PartnerId"),
              let expected = request.value("ExpectedPartnerVersion").flatMap({ Int64($0) }), request.value("Source") != nil else {
            throw MockFault(code: "INVALID_REQUEST", message: "UpdateContactDetails needs PartnerId, ExpectedPartnerVersion, Source and ClientReference")
        }
        if let earlier = contactUpdates[reference] { return try Self.contactResponse(earlier) }
        let contracts = contractIndices(ofPartner: partnerId)
        guard let first = contracts.first else { throw MockFault(code: "UNKNOWN_PARTNER", message: "no partner \(partnerId)") }
        let current = portfolio.contract(first).customer
        guard current.version == expected else {
            throw MockFault(code: "VERSION_CONFLICT", message: "partner \(partnerId) is at version \(current.version), not \(expected)")
        }
        var customer = current
        if let line1 = request.value("Address/Line1") {
            guard let town = request.value("Address/Town"), let postcode = request.value("Address/Postcode") else {
                throw MockFault(code: "INVALID_REQUEST", message: "an address needs Line1, Town and Postcode")
            }
            customer.address = PostalAddress(line1: line1, line2: request.value("Address/Line2"), town: town, postcode: postcode,
                                             country: request.value("Address/Country") ?? "GB")
        }
        if let phone = request.value("Phone") { customer.phones = [phone] + customer.phones.filter { $0 != phone } }
        if let email = request.value("Email") { customer.email = email }
        customer.version += 1
        for index in contracts {
            var contract = portfolio.contract(index)
            contract.customer = customer
            portfolio.record(index, contract)
        }
        contactUpdates[reference] = (partnerId, customer.version)
        return try Self.contactResponse((partnerId, customer.version))
    }

    /// The contracts a partner holds: its own, and the next one when that belongs to the same customer.
    private func contractIndices(ofPartner partnerId: String) -> [Int] {
        guard partnerId.hasPrefix("BP"), let number = Int(partnerId.dropFirst(2)), number >= 1, number - 1 < portfolio.contractCount,
              PortfolioGenerator.partnerIndex(ofContract: number - 1) == number - 1 else { return [] }
        let index = number - 1
        let next = index + 1
        return next < portfolio.contractCount && PortfolioGenerator.partnerIndex(ofContract: next) == index ? [index, next] : [index]
    }

    /// The customer as the mock holds it now, by partner id.
    public func customer(partnerId: String) -> Customer? { contractIndices(ofPartner: partnerId).first.map { portfolio.contract($0).customer } }

    private static func contactResponse(_ result: (String, Int64)) throws -> [UInt8] {
        try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:UpdateContactDetailsResponse")
            try writer.element("m:PartnerId", result.0)
            try writer.element("m:PartnerVersion", String(result.1))
            writer.close("m:UpdateContactDetailsResponse")
        }
    }

    private static func statusResponse(_ result: (String, Int64, String)) throws -> [UInt8] {
        try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:UpdateContractStatusResponse")
            try writer.element("m:ContractNumber", result.0)
            try writer.element("m:Version", String(result.1))
            try writer.element("m:Status", result.2)
            writer.close("m:UpdateContractStatusResponse")
        }
    }

    /// Changes a contract behind the adapter's back, as another MILES user would: a new version,
    /// optionally with the customer (re)flagged vulnerable, renamed or given a new first address line,
    /// which is a new partner version too.
    public func changeBehindTheAdaptersBack(contractNumber: String, customerVulnerable: Bool? = nil,
                                            customerAddressLine1: String? = nil, customerName: String? = nil) -> Int64? {
        guard let index = PortfolioGenerator.index(ofContractNumber: contractNumber), index < portfolio.contractCount else { return nil }
        var contract = portfolio.contract(index)
        if customerVulnerable != nil || customerAddressLine1 != nil || customerName != nil {
            var customer = contract.customer
            customer.name = customerName ?? customer.name
            customer.vulnerable = customerVulnerable ?? customer.vulnerable
            customer.address.line1 = customerAddressLine1 ?? customer.address.line1
            customer.version += 1
            for other in contractIndices(ofPartner: customer.partnerId) where other != index {
                var shared = portfolio.contract(other)
                shared.customer = customer
                portfolio.record(other, shared)
            }
            contract.customer = customer
        }
        portfolio.record(index, contract)
        return portfolio.contract(index).version
    }

    /// Sets a contract's MILES status code directly (test set-up).
    public func setStatusCode(contractNumber: String, to code: String) {
        guard let index = PortfolioGenerator.index(ofContractNumber: contractNumber), index < portfolio.contractCount else { return }
        var contract = portfolio.contract(index)
        contract.statusCode = code
        portfolio.record(index, contract)
    }
}

/// A note on a contract file, as the mock filed it.
public struct MockNote: Sendable, Equatable {
    public var noteId: String
    public var contractNumber: String
    public var category: String
    public var text: String
    public var source: String
}
