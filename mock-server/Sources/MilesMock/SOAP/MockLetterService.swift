import CollectionsDomain
import MilesSOAP

/// A letter the mock issued.
public struct MockLetter: Sendable, Equatable {
    public var letterId: String
    public var clientReference: String
    public var contractNumber: String
    public var letterType: String
    public var requestedBy: String
    public var serveDate: LocalDate
    public var remedyDate: LocalDate?
}

/// ContractService: RequestCustomerLetter, idempotent on its client reference. A letter is served
/// two days after the business date (posted second class); a default notice gives the customer
/// 14 days from service to put things right (CCA s.88).
extension MockMiles {
    static let letterTypes: Set<String> = ["ARRN", "DEFN", "WOFN", "ARRC"]
    static let postingDays = 2
    static let remedyDays = 14

    func requestCustomerLetter(_ request: MockSOAPRequest) throws -> [UInt8] {
        let reference = try request.required("ClientReference")
        let number = try request.required("ContractNumber")
        let type = try request.required("LetterType")
        if let earlier = letters.first(where: { $0.clientReference == reference }) {
            guard earlier.contractNumber == number, earlier.letterType == type else {
                throw MockFault(code: "DUPLICATE_REFERENCE", message: "client reference \(reference) was used for a different letter")
            }
            return try Self.letterResponse(earlier)
        }
        guard portfolio.contract(number: number) != nil else { throw MockFault(code: "UNKNOWN_CONTRACT", message: "no contract \(number)") }
        guard Self.letterTypes.contains(type) else {
            throw MockFault(code: "UNKNOWN_LETTER_TYPE", message: "letter type \(type) is not one MILES issues")
        }
        let serve = portfolio.clock.date.adding(days: Self.postingDays)
        let letter = MockLetter(
            letterId: "MLT" + PortfolioGenerator.pad(letters.count + 1, 8), clientReference: reference, contractNumber: number,
            letterType: type, requestedBy: request.value("RequestedBy") ?? "", serveDate: serve,
            remedyDate: type == "DEFN" ? serve.adding(days: Self.remedyDays) : nil)
        letters.append(letter)
        return try Self.letterResponse(letter)
    }

    private static func letterResponse(_ letter: MockLetter) throws -> [UInt8] {
        try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:RequestCustomerLetterResponse")
            writer.open("m:Letter")
            try writer.element("m:LetterId", letter.letterId)
            try writer.element("m:ClientReference", letter.clientReference)
            try writer.element("m:ContractNumber", letter.contractNumber)
            try writer.element("m:LetterType", letter.letterType)
            try writer.element("m:ServeDate", letter.serveDate.description)
            if let remedy = letter.remedyDate { try writer.element("m:RemedyDate", remedy.description) }
            writer.close("m:Letter")
            writer.close("m:RequestCustomerLetterResponse")
        }
    }
}
