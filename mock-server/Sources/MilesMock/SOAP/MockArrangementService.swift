import CollectionsDomain
import MilesSOAP

/// A payment arrangement as the mock holds it.
public struct MockArrangement: Sendable, Equatable {
    public var arrangementId: String
    public var clientReference: String
    public var contractNumber: String
    public var frequency: String
    public var instalments: [(dueDate: LocalDate, amount: Money)]
    public var paidBefore: Money
    public var cancelled: Bool
    public var contractVersion: Int64

    public static func == (lhs: MockArrangement, rhs: MockArrangement) -> Bool {
        lhs.arrangementId == rhs.arrangementId && lhs.cancelled == rhs.cancelled
    }
}

/// ContractService: CreatePaymentArrangement and CancelPaymentArrangement, idempotent on their
/// client references. MILES's own rules: at most one active arrangement a contract, instalments
/// that add up to the total, known frequencies. An arrangement moves the contract to PPL; a
/// cancellation back to ARR.
extension MockMiles {
    static let arrangementFrequencies: Set<String> = ["WEEK", "FORT", "MNTH"]

    func createPaymentArrangement(_ request: MockSOAPRequest) throws -> [UInt8] {
        let reference = try request.required("ClientReference")
        let number = try request.required("ContractNumber")
        if let earlier = arrangements.first(where: { $0.clientReference == reference }) {
            guard earlier.contractNumber == number else {
                throw MockFault(code: "DUPLICATE_REFERENCE", message: "client reference \(reference) was used for another contract's arrangement")
            }
            return try Self.arrangementResponse(earlier, contract: portfolio.contract(number: number))
        }
        guard let index = PortfolioGenerator.index(ofContractNumber: number), index < portfolio.contractCount else {
            throw MockFault(code: "UNKNOWN_CONTRACT", message: "no contract \(number)")
        }
        let frequency = try request.required("Frequency")
        guard Self.arrangementFrequencies.contains(frequency) else {
            throw MockFault(code: "INVALID_REQUEST", message: "frequency \(frequency) is not one MILES knows")
        }
        if let active = arrangements.first(where: { $0.contractNumber == number && !$0.cancelled }) {
            throw MockFault(code: "ARRANGEMENT_EXISTS", message: "contract \(number) already has active arrangement \(active.arrangementId)")
        }
        var contract = portfolio.contract(index)
        let currency = contract.currency
        guard try request.required("Currency") == currency.code else {
            throw MockFault(code: "INVALID_REQUEST", message: "the arrangement is not in the contract's currency \(currency.code)")
        }
        let dates = request.parameters["Instalments/Instalment/DueDate"] ?? []
        let amounts = request.parameters["Instalments/Instalment/Amount"] ?? []
        var instalments: [(dueDate: LocalDate, amount: Money)] = []
        for (date, amount) in zip(dates, amounts) {
            guard let due = LocalDate.parse(date), let money = DecimalAmount.parse(amount)?.money(in: currency), money.minorUnits > 0 else {
                throw MockFault(code: "INVALID_REQUEST", message: "instalment \(date) \(amount) is not a date and a positive amount")
            }
            instalments.append((due, money))
        }
        guard !instalments.isEmpty, dates.count == amounts.count,
              let total = DecimalAmount.parse(try request.required("Total"))?.money(in: currency),
              instalments.reduce(0, { $0 + $1.amount.minorUnits }) == total.minorUnits else {
            throw MockFault(code: "INSTALMENTS_DO_NOT_ADD_UP",
                            message: "the \(instalments.count) instalments do not add up to the total \(request.value("Total") ?? "")")
        }
        contract.statusCode = "PPL"
        portfolio.record(index, contract)
        let arrangement = MockArrangement(
            arrangementId: "MPA" + PortfolioGenerator.pad(arrangements.count + 1, 8), clientReference: reference, contractNumber: number,
            frequency: frequency, instalments: instalments, paidBefore: contract.paidToDate, cancelled: false,
            contractVersion: portfolio.contract(index).version)
        arrangements.append(arrangement)
        return try Self.arrangementResponse(arrangement, contract: portfolio.contract(index))
    }

    func cancelPaymentArrangement(_ request: MockSOAPRequest) throws -> [UInt8] {
        let id = try request.required("ArrangementId")
        _ = try request.required("ClientReference")
        guard let position = arrangements.firstIndex(where: { $0.arrangementId == id }) else {
            throw MockFault(code: "UNKNOWN_ARRANGEMENT", message: "no arrangement \(id)")
        }
        if !arrangements[position].cancelled {
            arrangements[position].cancelled = true
            if let index = PortfolioGenerator.index(ofContractNumber: arrangements[position].contractNumber) {
                var contract = portfolio.contract(index)
                if contract.statusCode == "PPL" {
                    contract.statusCode = "ARR"
                    portfolio.record(index, contract)
                }
            }
        }
        return try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:CancelPaymentArrangementResponse")
            try writer.element("m:ArrangementId", id)
            try writer.element("m:Status", "CANCELLED")
            writer.close("m:CancelPaymentArrangementResponse")
        }
    }

    private static func arrangementResponse(_ arrangement: MockArrangement, contract: Contract?) throws -> [UInt8] {
        try SOAPEnvelope.response(messageNamespace: MockMilesServer.namespace) { writer in
            writer.open("m:CreatePaymentArrangementResponse")
            try writer.element("m:ArrangementId", arrangement.arrangementId)
            try writer.element("m:ContractNumber", arrangement.contractNumber)
            try writer.element("m:Status", arrangement.cancelled ? "CANCELLED" : "ACTIVE")
            try writer.element("m:PaidToDate", arrangement.paidBefore.decimalString)
            try writer.element("m:ContractVersion", String(arrangement.contractVersion))
            writer.close("m:CreatePaymentArrangementResponse")
        }
    }
}
