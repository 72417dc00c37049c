import CollectionsDomain
import Foundation
import HTTPServing
import Hummingbird
import Logging
import MilesMock
import MilesSOAP
import NIOCore
import Synchronization

/// The second MILES of the tests (`Tests/Fixtures/other-miles`), served in this process on a free
/// port: the same contracts as a mock MILES with the same configuration holds, in that MILES's own
/// shape (its namespace, lower-case names, contracts directly under the response element, no AsOf,
/// no customer version, its own codes), and its one operation, findContracts. Written apart from the
/// adapter's mapping files, so a mistake in the fixture's mapping shows up as a test failure.
final class OtherMilesServer: Sendable {
    static let namespace = "urn:fleetlease:miles:contracts:7"
    /// The mapping folder that describes this MILES.
    static let mappings = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/other-miles").path

    /// One findContracts call as received.
    struct Call: Sendable, Equatable {
        var service: String
        var modifiedAfter: String?
        var pageToken: String?
        var maxResults: String?
    }

    /// A SOAP fault with only `faultcode` and `faultstring`, as this MILES sends them.
    struct Fault: Sendable {
        var faultCode: String
        var faultString: String
    }

    /// The contracts: the mock's book, changed as the mock changes it.
    let miles: MockMiles
    private let server: InProcessServer
    private let journal: Journal

    var endpoint: String { "http://127.0.0.1:\(server.port)/services" }

    /// The calls received, and the faults the next calls get.
    private final class Journal: Sendable {
        let state = Mutex<(calls: [Call], faults: [Fault])>(([], []))
    }

    private init(miles: MockMiles, server: InProcessServer, journal: Journal) {
        self.miles = miles
        self.server = server
        self.journal = journal
    }

    static func start(configuration: MockMilesConfiguration) async throws -> OtherMilesServer {
        let miles = MockMiles(configuration: configuration)
        let journal = Journal()
        let router = Router()
        router.post("services/:service") { request, context -> Response in
            let service = try context.parameters.require("service")
            let body = try await request.body.collect(upTo: 1 << 20)
            let values = try RequestValues.read(Array(buffer: body))
            let call = Call(service: service, modifiedAfter: values["modifiedAfter"], pageToken: values["pageToken"],
                            maxResults: values["maxResults"])
            let fault = journal.state.withLock { state in
                state.calls.append(call)
                return state.faults.isEmpty ? nil : state.faults.removeFirst()
            }
            if let fault {
                return Self.xml(500, SOAPEnvelope.fault(SOAPFault(faultCode: fault.faultCode, faultString: fault.faultString, code: nil),
                                                        messageNamespace: namespace, detailElement: "", codeElement: "", messageElement: ""))
            }
            guard service == "LeaseQueryService", let pageSize = call.maxResults.flatMap(Int.init), pageSize > 0 else {
                return Self.xml(500, SOAPEnvelope.fault(SOAPFault(faultCode: "soap:Client", faultString: "unknown operation or bad maxResults",
                                                                  code: nil),
                                                        messageNamespace: namespace, detailElement: "", codeElement: "", messageElement: ""))
            }
            return Self.xml(200, try await page(miles, call: call, pageSize: pageSize))
        }
        let server = try await InProcessServer.start(name: "the other MILES", logger: Logger(label: "other-miles")) { onListening in
            Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                        onServerRunning: { onListening($0.localAddress?.port ?? 0) })
        }
        return OtherMilesServer(miles: miles, server: server, journal: journal)
    }

    func stop() async {
        await server.stop()
    }

    var calls: [Call] { journal.state.withLock { $0.calls } }

    /// The next calls are answered with these faults, one each, before any is answered normally.
    func fail(with faults: [Fault]) {
        journal.state.withLock { $0.faults.append(contentsOf: faults) }
    }

    private static func xml(_ status: Int, _ bytes: [UInt8]) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "text/xml; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// One page of the contracts changed after `modifiedAfter`, in contract-number order. The page token
    /// is the offset of the next page in that list; the list holds still while the tests read it.
    private static func page(_ miles: MockMiles, call: Call, pageSize: Int) async throws -> [UInt8] {
        let since = call.modifiedAfter.flatMap(Timestamp.parse)
        var matching: [Contract] = []
        await miles.forEachContract { contract in
            if since.map({ contract.lastModified > $0 }) ?? true { matching.append(contract) }
        }
        let start = call.pageToken.flatMap(Int.init) ?? 0
        let end = min(start + pageSize, matching.count)
        return try SOAPEnvelope.response(messageNamespace: namespace) { writer in
            writer.open("m:findContractsResponse")
            try writer.element("m:matches", String(matching.count))
            if end < matching.count { try writer.element("m:pageToken", String(end)) }
            for contract in matching[start..<end] { try write(contract, into: &writer) }
            writer.close("m:findContractsResponse")
        }
    }

    /// This MILES's codes for what the mock's codes mean.
    static let statusCodes = ["ACT": "10", "ARR": "20", "PPL": "25", "DEF": "30", "DCA": "35", "REP": "40", "LEG": "45", "WOF": "50",
                              "TER": "60", "CLS": "90"]
    static let products: [AgreementType: String] = [
        .hirePurchase: "HIRE", .conditionalSale: "COND", .personalContractPurchase: "OPTN", .personalContractHire: "LEAS",
        .businessContractHire: "BLEA",
    ]

    private static func write(_ contract: Contract, into writer: inout XMLWriter) throws {
        func optional(_ name: String, _ value: String?) throws {
            if let value { try writer.element(name, value) }
        }
        writer.open("m:contract")
        try writer.element("m:reference", contract.contractNumber)
        try writer.element("m:revision", String(contract.version))
        try writer.element("m:state", statusCodes[contract.statusCode] ?? contract.statusCode)
        try writer.element("m:product", products[contract.agreementType] ?? "")
        try writer.element("m:commenced", contract.startDate.description)
        try optional("m:matures", contract.endDate?.description)
        try writer.element("m:currency", contract.currency.code)
        try writer.element("m:financedAmount", contract.totalPrice.decimalString)
        try writer.element("m:amountPaid", contract.paidToDate.decimalString)
        try writer.element("m:instalment", contract.monthlyPayment.decimalString)
        try optional("m:lastReceipt", contract.lastPaymentDate?.description)
        writer.open("m:overdue")
        try writer.element("m:amount", contract.arrears.amount.decimalString)
        try optional("m:since", contract.arrears.oldestUnpaidDueDate?.description)
        try writer.element("m:instalmentsMissed", String(contract.arrears.missedPayments))
        writer.close("m:overdue")
        let customer = contract.customer
        writer.open("m:lessee")
        try writer.element("m:partyRef", customer.partnerId)
        try writer.element("m:fullName", customer.name)
        try writer.element("m:segment", customer.kind == .business ? "C" : "P")
        writer.open("m:postal")
        try writer.element("m:street", customer.address.line1)
        try optional("m:street2", customer.address.line2)
        try writer.element("m:city", customer.address.town)
        try writer.element("m:postCode", customer.address.postcode)
        try writer.element("m:country", customer.address.country)
        writer.close("m:postal")
        for phone in customer.phones { try writer.element("m:phone", phone) }
        try optional("m:email", customer.email)
        try writer.element("m:vulnerable", customer.vulnerable ? "1" : "0")
        writer.close("m:lessee")
        writer.open("m:asset")
        try writer.element("m:plate", contract.vehicle.registration)
        try writer.element("m:vin", contract.vehicle.vin)
        try writer.element("m:make", contract.vehicle.make)
        try writer.element("m:model", contract.vehicle.model)
        writer.close("m:asset")
        for invoice in contract.openInvoices {
            writer.open("m:openItem")
            try writer.element("m:itemRef", invoice.number)
            try writer.element("m:raised", invoice.issueDate.description)
            try writer.element("m:due", invoice.dueDate.description)
            try writer.element("m:gross", invoice.amount.decimalString)
            try writer.element("m:outstanding", invoice.openAmount.decimalString)
            writer.close("m:openItem")
        }
        try writer.element("m:changed", contract.lastModified.description)
        writer.close("m:contract")
    }
}

/// The text of each element of a request, by local name (the request's few parameters).
private final class RequestValues: XMLEventHandler {
    private var values: [String: String] = [:]
    private var text: [UInt8] = []

    static func read(_ body: [UInt8]) throws -> [String: String] {
        let handler = RequestValues()
        try XMLStreamReader().parse(body, handler: handler)
        return handler.values
    }

    func startElement(_ name: XMLName, attributes: XMLAttributes) throws { text.removeAll() }
    func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws { text.append(contentsOf: bytes) }
    func endElement(_ name: XMLName) throws {
        if !text.isEmpty { values[name.string] = String(decoding: text, as: UTF8.self) }
        text.removeAll()
    }
}
