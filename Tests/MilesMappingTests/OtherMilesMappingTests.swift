import CollectionsDomain
import Foundation
import MilesMapping
import MilesSOAP
import Testing

/// The mapping of the tests' second MILES: one operation, lower-case names, no AsOf, no customer version.
let otherMilesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/other-miles").path

/// A FindContracts answer of the second MILES: its namespace, its names, contracts directly under the
/// response element, no AsOf. `rename` may respell elements, as a MILES that strays from its schema does.
private func otherMilesAnswer(rename: [String: String] = [:]) -> [UInt8] {
    func element(_ name: String, _ value: String) -> String {
        let spelt = rename[name] ?? name
        return "<m:\(spelt)>\(value)</m:\(spelt)>"
    }
    func open(_ name: String) -> String { "<m:\(rename[name] ?? name)>" }
    func close(_ name: String) -> String { "</m:\(rename[name] ?? name)>" }
    let contract = open("contract") + element("reference", "C00000042") + element("revision", "3") + element("state", "20")
        + element("product", "HIRE") + element("commenced", "2024-02-01") + element("currency", "GBP")
        + element("financedAmount", "18000.00") + element("amountPaid", "9000.00") + element("instalment", "375.00")
        + open("overdue") + element("amount", "750.00") + element("since", "2026-09-01") + element("instalmentsMissed", "2") + close("overdue")
        + open("lessee") + element("partyRef", "P42") + element("fullName", "Northwind Haulage Ltd") + element("segment", "C")
        + open("postal") + element("street", "1 Dock Road") + element("city", "Hull") + element("postCode", "HU1 1AA")
        + element("country", "GB") + close("postal")
        + element("phone", "01482 000000") + element("phone", "07700 900000") + element("vulnerable", "0") + close("lessee")
        + open("asset") + element("plate", "AB12 CDE") + element("vin", "WVWZZZ1JZXW000001") + element("make", "Ford")
        + element("model", "Transit") + close("asset")
        + open("openItem") + element("itemRef", "I-1") + element("raised", "2026-09-01") + element("due", "2026-09-15")
        + element("gross", "375.00") + element("outstanding", "375.00") + close("openItem")
        + element("changed", "2026-11-27T10:15:00Z") + close("contract")
    let body = open("findContractsResponse") + element("matches", "1") + contract + close("findContractsResponse")
    return Array(("<?xml version=\"1.0\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
                  + "xmlns:m=\"urn:fleetlease:miles:contracts:7\"><soapenv:Body>" + body + "</soapenv:Body></soapenv:Envelope>").utf8)
}

private func decodePage(_ bytes: [UInt8], _ mappings: MappingSet) throws -> ContractPage {
    try bytes.withUnsafeBytes { buffer in
        try SOAPResponseDecoding.decode(buffer, faultNames: mappings.contract.faultNames) {
            mappings.contractDecoder.findContractsDecoder(reader: $0)
        }
    }
}

/// A copy of the second MILES's mapping folder with one line of contract.yaml replaced (by one or more lines).
private func otherMilesCopy(replacing line: String, with replacement: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("other-miles-\(UUID().uuidString)").path
    try FileManager.default.copyItem(atPath: otherMilesDirectory, toPath: directory)
    let path = directory + "/contract.yaml"
    var lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
    let index = try #require(lines.firstIndex(of: line), "'\(line)' is not in the fixture's contract.yaml")
    lines[index] = replacement
    try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return directory
}

private func problems(loading directory: String) -> [MappingProblem] {
    defer { try? FileManager.default.removeItem(atPath: directory) }
    do {
        _ = try MappingSet.load(directory: directory)
        return []
    } catch {
        return error.problems
    }
}

@Suite("A MILES that differs from ours, as mapped")
struct OtherMilesMappingTests {
    @Test("a mapping of FindContracts alone loads and enables only the contract sync; the shipped one enables every job")
    func enabledJobs() throws {
        let other = try MappingSet.load(directory: otherMilesDirectory).contract
        #expect(other.enabledJobs == [.contractSync])
        #expect(other.refusal(for: .outbox(.postWriteOff))?.missingOperations == [.postWriteOff, .findWriteOffs])
        #expect(other.refusal(for: .outbox(.updateContractStatus))?.missingOperations == [.updateContractStatus, .getContract])
        let contactChanges = try #require(other.refusal(for: .outbox(.updateContactDetails)))
        #expect(contactChanges.missingFields == [.customerVersion])
        #expect(contactChanges.description.hasPrefix(
            "'contact changes' needs MILES operations UpdateContactDetails, GetContract and the contract field customer.version, not mapped"))
        #expect(throws: UnmappedOperationError(job: nil, missingOperations: [.addContractNote])) { try other.mapped(.addContractNote) }
        #expect(other.incrementalStart == .highWaterMark(overlap: .seconds(15 * 60)))

        let shipped = try MappingSet.load(directory: mappingsDirectory).contract
        #expect(shipped.enabledJobs == MilesJob.allCases)
        #expect(shipped.incrementalStart == .asOf)
    }

    @Test("status-codes.yaml without the sections of jobs the contract mapping leaves out loads; each job mapped needs its sections, named")
    func sectionsOfJobsLeftOut() throws {
        let statusCodes = try MappingSet.load(directory: otherMilesDirectory).statusCodes
        #expect(statusCodes.letterTypes.isEmpty && statusCodes.defaultReasons.isEmpty && statusCodes.writeOffReasons.isEmpty)
        #expect(statusCodes.internalStatus(forMilesCode: "45") == .legal)

        // The same codes beside the shipped contract.yaml, which maps every job: their sections are missing.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("other-codes-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: mappingsDirectory, toPath: directory)
        try FileManager.default.removeItem(atPath: directory + "/status-codes.yaml")
        try FileManager.default.copyItem(atPath: otherMilesDirectory + "/status-codes.yaml", toPath: directory + "/status-codes.yaml")
        let found = problems(loading: directory).filter { $0.file.hasSuffix("status-codes.yaml") }.map(\.message)
        #expect(found.contains { $0.hasPrefix("section 'letterTypes' is missing: letters need it, as contract.yaml maps RequestCustomerLetter") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("section 'noteCategories' is missing: notes need it") })
        #expect(found.count == 8, "one for each section a job needs: \(found)")
    }

    @Test("an answer with contracts directly under the response element, no AsOf and no customer version decodes; the codes are the mapping's")
    func decodesOtherShape() throws {
        let mappings = try MappingSet.load(directory: otherMilesDirectory)
        let page = try decodePage(otherMilesAnswer(), mappings)
        #expect(page.asOf == nil)
        #expect(page.totalCount == 1 && page.nextCursor == nil)
        let contract = try #require(page.contracts.first)
        #expect(contract.contractNumber == "C00000042" && contract.version == 3)
        #expect(contract.statusCode == "20" && mappings.statusCodes.internalStatus(forMilesCode: "20") == .inArrears)
        #expect(contract.agreementType == .hirePurchase)
        #expect(contract.customer.kind == .business && contract.customer.vulnerable == false)
        #expect(contract.customer.phones == ["01482 000000", "07700 900000"])
        #expect(contract.customer.version == 0)
        #expect(contract.arrears.missedPayments == 2)
        #expect(contract.openInvoices.map(\.number) == ["I-1"])
        #expect(contract.lastModified == Timestamp.parse("2026-11-27T10:15:00Z"))
    }

    @Test("a contract without a required element is refused naming the contract, the element and the model field")
    func missingElementNamesTheContract() throws {
        let mappings = try MappingSet.load(directory: otherMilesDirectory)
        // The revision comes second and the change time last: the contract number is read before either.
        for (element, field) in [("revision", "version"), ("changed", "lastModified")] {
            let answer = String(decoding: otherMilesAnswer(), as: UTF8.self)
            let without = try #require(answer.range(of: #"<m:\#(element)>[^<]*</m:\#(element)>"#, options: .regularExpression))
            var stripped = answer
            stripped.removeSubrange(without)
            let error = try #require(throws: (any Error).self) { try decodePage(Array(stripped.utf8), mappings) }
            #expect("\(error)".contains("contract C00000042: element \(element): is required (model field \(field)) but missing"), "\(error)")
        }
    }

    @Test("names spelt in another case are read with 'elementNames: anyCase', and refused as not in the schema without it")
    func elementNamesInAnyCase() throws {
        let respelt = otherMilesAnswer(rename: ["contract": "Contract", "reference": "REFERENCE", "lessee": "Lessee", "fullName": "FullName",
                                                "openItem": "OpenItem", "findContractsResponse": "FindContractsResponse"])
        let exact = try MappingSet.load(directory: otherMilesDirectory)
        #expect(throws: (any Error).self) { try decodePage(respelt, exact) }

        let directory = try otherMilesCopy(replacing: "schema: other-miles.xsd", with: "schema: other-miles.xsd\nelementNames: anyCase")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let anyCase = try MappingSet.load(directory: directory)
        let page = try decodePage(respelt, anyCase)
        #expect(page.contracts == (try decodePage(otherMilesAnswer(), exact)).contracts)
        #expect(page.contracts.first?.customer.name == "Northwind Haulage Ltd")

        // A schema with two children of one element named alike but for case cannot be read ignoring case.
        let schema = directory + "/wsdl/other-miles.xsd"
        let xsd = try String(contentsOfFile: schema, encoding: .utf8)
        let fullName = "<xs:element name=\"fullName\" type=\"xs:string\"/>"
        #expect(xsd.contains(fullName))
        try xsd.replacingOccurrences(of: fullName, with: fullName + "<xs:element name=\"FullName\" type=\"xs:string\" minOccurs=\"0\"/>")
            .write(toFile: schema, atomically: true, encoding: .utf8)
        let collisions = problems(loading: directory).filter { $0.message.contains("cannot tell") }
        #expect(collisions.count == 1, "\(collisions)")
        #expect(collisions.first?.message.hasPrefix("elementNames: anyCase cannot tell 'fullName' from 'FullName' apart in ") == true, "\(collisions)")
    }

    @Test("a fault without a detail is sorted by the mapping's faultcode and message rules; one no rule matches is a business rejection")
    func faultsWithoutDetail() throws {
        let mappings = try MappingSet.load(directory: otherMilesDirectory)
        let other = mappings.contract
        func disposition(_ faultCode: String, _ faultString: String) throws -> FaultDisposition {
            let envelope = SOAPEnvelope.fault(SOAPFault(faultCode: faultCode, faultString: faultString, code: nil),
                                              messageNamespace: "urn:fleetlease:miles:contracts:7", detailElement: "", codeElement: "", messageElement: "")
            do {
                _ = try envelope.withUnsafeBytes { buffer in
                    try SOAPResponseDecoding.decode(buffer, faultNames: other.faultNames) { reader in
                        mappings.contractDecoder.findContractsDecoder(reader: reader)
                    }
                }
            } catch let fault as SOAPFault {
                #expect(fault.code == nil)
                return other.faultClassifier.disposition(of: fault)
            }
            Issue.record("no fault was read")
            return .unknownOutcome
        }
        #expect(try disposition("soapenv:Server", "The service is BUSY, try again later") == .retryable)
        #expect(try disposition("soapenv:Server.Overload", "overloaded") == .retryable)
        #expect(try disposition("soapenv:Client", "Invalid credentials for collections-adapter") == .authentication)
        #expect(try disposition("soapenv:Client", "The service is busy") == .businessRejection)
        #expect(try disposition("soapenv:Server", "disk full") == .businessRejection)

        // Our MILES's coded faults are sorted by their code, as before.
        let shipped = try MappingSet.load(directory: mappingsDirectory).contract
        #expect(shipped.faultClassifier.disposition(of: SOAPFault(faultCode: "soapenv:Server", faultString: "", code: "SERVER_BUSY")) == .retryable)
        #expect(shipped.faultClassifier.disposition(of: SOAPFault(faultCode: "soapenv:Server", faultString: "busy", code: nil)) == .businessRejection)
    }

    @Test("mapping problems at their lines: an overlap with AsOf mapped or unreadable, a pattern that is no regular expression, fault codes without a detail")
    func problemsAtTheirLines() throws {
        let unreadable = problems(loading: try otherMilesCopy(replacing: "    changedSinceOverlap: 15m", with: "    changedSinceOverlap: a while"))
        #expect(unreadable.contains { $0.kind == .invalidValue && $0.message.contains("changedSinceOverlap") && $0.line > 0 })

        let withAsOf = problems(loading: try otherMilesCopy(replacing: "      totalCount: matches", with: "      asOf: matches\n      totalCount: matches"))
        #expect(withAsOf.contains { $0.message.contains("changedSinceOverlap is for a MILES that sends no AsOf") })

        let pattern = problems(loading: try otherMilesCopy(replacing: "      message: busy|overloaded|try again later", with: "      message: busy("))
        #expect(pattern.contains { $0.kind == .invalidValue && $0.message.contains("not a regular expression") && $0.line > 0 })

        let codes = problems(loading: try otherMilesCopy(replacing: "  withoutDetail:                         # the first rule that matches decides; none matching is a business rejection",
                                                          with: "  dispositions:\n    BUSY: retryable\n  withoutDetail:"))
        #expect(codes.contains { $0.kind == .missingField && $0.message.contains("'dispositions' belongs to the codes in a fault's detail") })
    }

    @Test("the next incremental query starts at the high-water mark less the overlap; at AsOf when MILES sends it")
    func nextChangedSince() throws {
        let mark = try #require(Timestamp.parse("2026-11-28T10:00:00Z"))
        let asOf = try #require(Timestamp.parse("2026-11-28T22:00:00Z"))
        let since = try #require(Timestamp.parse("2026-11-01T00:00:00Z"))
        let highWaterMark = IncrementalStart.highWaterMark(overlap: .seconds(900))
        #expect(highWaterMark.nextChangedSince(asOf: asOf, highWaterMark: mark, since: since) == Timestamp.parse("2026-11-28T09:45:00Z"))
        #expect(highWaterMark.nextChangedSince(asOf: asOf, highWaterMark: nil, since: since) == since)
        #expect(IncrementalStart.asOf.nextChangedSince(asOf: asOf, highWaterMark: mark, since: since) == asOf)
    }
}
