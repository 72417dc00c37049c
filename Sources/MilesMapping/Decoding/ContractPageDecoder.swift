import CollectionsDomain
import MilesSOAP

/// Streams one FindContracts or GetContract answer into `Contract` values.
///
/// Hot path: elements are matched by interned-name pointer against the compiled tree, text is
/// gathered into one reused byte buffer, and numbers and dates are parsed from those bytes.
/// The tree, the element stack and the text buffer are raw buffers owned by the decoder, and
/// properties are `@exclusivity(unchecked)`: the decoder is used by one parse on one thread, and
/// array uniqueness checks, reference counting and runtime exclusivity checks on every event
/// would otherwise cost a large share of the time.
public final class ContractPageDecoder: SOAPPayloadDecoder {
    struct BoundNode {
        let role: CompiledContractDecoder.Role
        let firstChild: Int
        let childCount: Int
        /// Where the node's schema children start in `schemaNames`; `schemaCount` -1 when the schema says nothing.
        let firstSchemaName: Int
        let schemaCount: Int
    }

    private let nodes: UnsafeMutableBufferPointer<BoundNode>
    private let childNames: UnsafeMutableBufferPointer<XMLName>
    private let childIndexes: UnsafeMutableBufferPointer<Int>
    /// Per mapped child, its position among its parent's children in the schema.
    private let childSchemaPositions: UnsafeMutableBufferPointer<Int>
    private let schemaNames: UnsafeMutableBufferPointer<XMLName>
    /// Per node, the schema position of the last child seen under the element being read.
    private let lastSchemaPosition: UnsafeMutableBufferPointer<Int>
    private let paths: [String]
    private let validation: SchemaValidation
    private var deviations: [String: Int] = [:]
    /// Per node, the offset of the child expected next.
    private let expectedChild: UnsafeMutableBufferPointer<Int>
    private let rootName: XMLName
    private let compiled: CompiledContractDecoder
    // Code lists compared as bytes, so a code costs no String and no hashing.
    private let agreementTypes: [([UInt8], AgreementType)]
    private let customerKinds: [([UInt8], Customer.Kind)]
    private let booleans: [([UInt8], Bool)] = [(Array("true".utf8), true), (Array("false".utf8), false),
                                               (Array("1".utf8), true), (Array("0".utf8), false)]
    /// FindContracts answers must carry TotalCount, and AsOf where the mapping maps it; GetContract answers have neither.
    private let isPaged: Bool
    private let requiresAsOf: Bool
    /// Set when the mapping does not map the operation: any answer is refused, naming it.
    private let unmappedOperation: MilesOperation?
    /// With `elementNames: anyCase`, every name the decoder knows, lower-cased, to its interned spelling; nil otherwise.
    private let knownNamesIgnoringCase: [String: XMLName]?
    /// Each spelling met that matched no known name exactly, with the known name it stands for (itself if none).
    private var respellings: [XMLName: XMLName] = [:]

    @exclusivity(unchecked) private var stack = GrowableBuffer<Int>()
    @exclusivity(unchecked) private var text = GrowableBuffer<UInt8>()
    @exclusivity(unchecked) private var capturing = false
    @exclusivity(unchecked) private var draft = ContractDraft()
    @exclusivity(unchecked) private var invoice = InvoiceDraft()
    /// The record's invoices so far: one array for the whole page, emptied after each contract.
    @exclusivity(unchecked) private var invoices: [InvoiceDraft] = []
    @exclusivity(unchecked) private var contracts: [Contract] = []
    private static let largestReservedPage = 10_000
    private var asOf: Timestamp?
    private var totalCount: Int?
    private var nextCursor: String?
    /// Told the next page's cursor as soon as it is read, before the contracts that follow it in MILES's
    /// answer: a reader can ask for that page while this one is still arriving.
    private let nextCursorRead: (@Sendable (String) -> Void)?

    init(operation: MilesOperation, tree mappedTree: [CompiledContractDecoder.TreeNode]?, reader: XMLStreamReader,
         compiled: CompiledContractDecoder, isPaged: Bool, validation: SchemaValidation, expectedContracts: Int = 0,
         nextCursorRead: (@Sendable (String) -> Void)? = nil) {
        self.nextCursorRead = nextCursorRead
        // Growing the array as contracts arrive copied each page about twice over. Capped, as the count is
        // the caller's request: a shorter last page keeps that room until it is stored.
        contracts.reserveCapacity(min(max(0, expectedContracts), Self.largestReservedPage))
        unmappedOperation = mappedTree == nil ? operation : nil
        let tree = mappedTree ?? [CompiledContractDecoder.TreeNode(name: operation.name, role: .container, children: [], path: "")]
        var nodes: [BoundNode] = []
        var childNames: [XMLName] = []
        var childIndexes: [Int] = []
        var childSchemaPositions: [Int] = []
        var schemaNames: [XMLName] = []
        for node in tree {
            nodes.append(BoundNode(role: node.role, firstChild: childNames.count, childCount: node.children.count,
                                   firstSchemaName: schemaNames.count, schemaCount: node.schemaChildren?.count ?? -1))
            schemaNames.append(contentsOf: (node.schemaChildren ?? []).map(reader.intern))
            // In the schema's order, which MILES sends, so that `mappedChild` finds the next element at the
            // first look; children the schema does not place keep the mapping's order, after the others.
            let positioned = node.children.enumerated().map { offset, child in
                (child: child, schema: node.schemaChildren?.firstIndex(of: tree[child].name), offset: offset)
            }
            for entry in positioned.sorted(by: { ($0.schema ?? Int.max, $0.offset) < ($1.schema ?? Int.max, $1.offset) }) {
                childNames.append(reader.intern(tree[entry.child].name))
                childIndexes.append(entry.child)
                childSchemaPositions.append(entry.schema ?? -1)
            }
        }
        self.childSchemaPositions = .allocate(capacity: childSchemaPositions.count)
        _ = self.childSchemaPositions.initialize(from: childSchemaPositions)
        self.schemaNames = .allocate(capacity: max(1, schemaNames.count))
        _ = self.schemaNames.initialize(from: schemaNames)
        lastSchemaPosition = .allocate(capacity: nodes.count)
        lastSchemaPosition.initialize(repeating: -1)
        paths = tree.map { $0.path.isEmpty ? $0.name : tree[0].name + "/" + $0.path }
        self.validation = validation
        self.nodes = .allocate(capacity: nodes.count)
        _ = self.nodes.initialize(from: nodes)
        self.childNames = .allocate(capacity: childNames.count)
        _ = self.childNames.initialize(from: childNames)
        self.childIndexes = .allocate(capacity: childIndexes.count)
        _ = self.childIndexes.initialize(from: childIndexes)
        expectedChild = .allocate(capacity: nodes.count)
        expectedChild.initialize(repeating: 0)
        self.rootName = reader.intern(tree[0].name)
        self.compiled = compiled
        agreementTypes = compiled.statusCodes.agreementTypes.map { (Array($0.key.utf8), $0.value) }
        customerKinds = compiled.statusCodes.customerKinds.map { (Array($0.key.utf8), $0.value) }
        self.isPaged = isPaged
        requiresAsOf = isPaged && tree.contains { $0.role == .asOf }
        if compiled.elementNames == .anyCase {
            var known: [String: XMLName] = [:]
            for name in tree.map(\.name) + tree.flatMap({ $0.schemaChildren ?? [] }) where known[name.lowercased()] == nil {
                known[name.lowercased()] = reader.intern(name)
            }
            knownNamesIgnoringCase = known
        } else {
            knownNamesIgnoringCase = nil
        }
    }

    deinit {
        nodes.deallocate()
        childNames.deallocate()
        childIndexes.deallocate()
        expectedChild.deallocate()
        childSchemaPositions.deallocate()
        schemaNames.deallocate()
        lastSchemaPosition.deallocate()
        stack.deallocate()
        text.deallocate()
    }

    public func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
        guard let parent = stack.last else {
            if let unmappedOperation {
                throw XMLReaderError.rejected("\(unmappedOperation.name) is not mapped in contract.yaml, so its answer cannot be read")
            }
            guard name == rootName || (knownNamesIgnoringCase != nil && knownSpelling(of: name) == rootName) else {
                throw XMLReaderError.rejected("expected \(rootName.string) in the SOAP body, found \(name.string)")
            }
            stack.append(0)
            lastSchemaPosition[0] = -1
            return
        }
        var found = -1
        if parent >= 0 {
            let node = nodes[parent]
            var name = name
            var (child, schemaPosition) = mappedChild(named: name, of: parent, node)
            // Only a name with no exact match is looked at again, so the default mapping never comes here.
            if child < 0, knownNamesIgnoringCase != nil {
                let known = knownSpelling(of: name)
                if known != name {
                    name = known
                    (child, schemaPosition) = mappedChild(named: known, of: parent, node)
                }
            }
            found = child
            if node.schemaCount >= 0 {
                if found < 0 {
                    // Not mapped: skipped, but it must still be an element the schema allows here.
                    for position in 0..<node.schemaCount where schemaNames[node.firstSchemaName + position] == name {
                        schemaPosition = position
                        break
                    }
                }
                if schemaPosition < 0 {
                    try deviation(parent, name, "is not an element the MILES schema allows here")
                } else if schemaPosition < lastSchemaPosition[parent] {
                    try deviation(parent, name, "comes after an element the MILES schema puts after it")
                } else {
                    lastSchemaPosition[parent] = schemaPosition
                }
            }
        }
        stack.append(found)
        guard found >= 0 else { return }
        lastSchemaPosition[found] = -1
        switch nodes[found].role {
        case .contractRecord, .invoiceRecord, .container:
            // Records start from fresh drafts: each finished one is swapped out at its end.
            break
        default:
            text.removeAll()
            capturing = true
        }
    }

    public func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        if capturing { text.append(bytes) }
    }

    public func endElement(_ name: XMLName) throws {
        let index = stack.removeLast()
        guard index >= 0 else { return }
        capturing = false
        switch nodes[index].role {
        case .container:
            break
        case .contractRecord:
            // Swapped out and consumed, so the record's strings move into the contract (its invoices' are
            // copied from the page's invoice array). `consume`: without it the draft is copied (each string
            // retained) to be passed as owned.
            var finished = ContractDraft()
            swap(&finished, &draft)
            defer { invoices.removeAll(keepingCapacity: true) }
            contracts.append(try (consume finished).build(invoices: invoices, compiled: compiled))
        case .invoiceRecord:
            var finished = InvoiceDraft()
            swap(&finished, &invoice)
            invoices.append(consume finished)
        case .asOf:
            asOf = try text.withElements { bytes in
                guard let value = Timestamp.parse(bytes) else { throw pageError("AsOf", "is not a date-time with a zone") }
                return value
            }
        case .totalCount:
            totalCount = try text.withElements { bytes in
                guard let value = DecimalAmount.parse(bytes), value.scale == 0, value.mantissa >= 0 else {
                    throw pageError("TotalCount", "is not a whole number")
                }
                return Int(value.mantissa)
            }
        case .nextCursor:
            let value = String(decoding: text.elements, as: UTF8.self).trimmingXMLWhitespace
            nextCursor = value.isEmpty ? nil : value
            if let nextCursor { nextCursorRead?(nextCursor) }
        case let .field(field):
            try text.withElements { bytes in try assign(field, bytes) }
        }
    }

    /// The mapped child of `parent` named `name` and its schema position, or -1 for each. MILES sends
    /// children in schema order: the search starts just after the child found last time under this
    /// parent, which is usually the next one.
    @inline(__always)
    private func mappedChild(named name: XMLName, of parent: Int, _ node: BoundNode) -> (index: Int, schemaPosition: Int) {
        var offset = expectedChild[parent]
        for _ in 0..<node.childCount {
            if offset >= node.childCount { offset = 0 }
            if childNames[node.firstChild + offset] == name {
                expectedChild[parent] = offset + 1
                return (childIndexes[node.firstChild + offset], childSchemaPositions[node.firstChild + offset])
            }
            offset += 1
        }
        return (-1, -1)
    }

    /// With `elementNames: anyCase`: the known name `name` is a spelling of, or `name` itself; worked out
    /// once per spelling in an answer.
    @inline(never)
    private func knownSpelling(of name: XMLName) -> XMLName {
        if let known = respellings[name] { return known }
        let known = knownNamesIgnoringCase?[name.string.lowercased()] ?? name
        respellings[name] = known
        return known
    }

    public func result() throws -> ContractPage {
        guard stack.count == 0 else { throw XMLReaderError.rejected("the contract page ended early") }
        if isPaged, (requiresAsOf && asOf == nil) || totalCount == nil {
            throw XMLReaderError.rejected("the FindContracts answer has no \(totalCount == nil ? "TotalCount" : "AsOf")")
        }
        return ContractPage(asOf: asOf, totalCount: totalCount ?? contracts.count,
                            nextCursor: nextCursor, contracts: contracts, schemaDeviations: deviations)
    }

    /// An answer that breaks the schema: an error when reading strictly; counted when leniently.
    private func deviation(_ parent: Int, _ name: XMLName, _ problem: String) throws {
        let path = paths[parent] + "/" + name.string
        switch validation {
        case .strict:
            throw ContractDecodingError(contractNumber: draft.contractNumber, elementPath: path, value: nil,
                                        problem: problem + " (read strictly; 'validation: lenient' on the operation in contract.yaml accepts and counts it)")
        case .lenient:
            deviations[path + " " + problem, default: 0] += 1
        }
    }

    private func pageError(_ element: String, _ problem: String) -> ContractDecodingError {
        ContractDecodingError(contractNumber: nil, elementPath: element, value: String(decoding: text.elements, as: UTF8.self), problem: problem)
    }

    private func fieldError(_ field: ModelField, _ bytes: UnsafeBufferPointer<UInt8>, _ problem: String) -> ContractDecodingError {
        ContractDecodingError(contractNumber: draft.contractNumber, elementPath: compiled.paths[field] ?? field.rawValue,
                              value: String(decoding: bytes, as: UTF8.self), problem: problem)
    }

    @inline(__always)
    private func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start].isSpace { start += 1 }
        while end > start, bytes[end - 1].isSpace { end -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    private func amount(_ field: ModelField, _ bytes: UnsafeBufferPointer<UInt8>) throws -> DecimalAmount {
        guard let value = DecimalAmount.parse(bytes) else { throw fieldError(field, bytes, "is not a decimal amount") }
        return value
    }

    private func date(_ field: ModelField, _ bytes: UnsafeBufferPointer<UInt8>) throws -> LocalDate {
        guard let value = LocalDate.parse(bytes) else { throw fieldError(field, bytes, "is not a date (YYYY-MM-DD)") }
        return value
    }

    private func integer(_ field: ModelField, _ bytes: UnsafeBufferPointer<UInt8>) throws -> Int64 {
        guard let value = DecimalAmount.parse(bytes), value.scale == 0 else { throw fieldError(field, bytes, "is not a whole number") }
        return value.mantissa
    }

    private func assign(_ field: ModelField, _ bytes: UnsafeBufferPointer<UInt8>) throws {
        switch field {
        case .contractNumber: draft.contractNumber = string(bytes)
        case .version: draft.version = try integer(field, bytes)
        case .statusCode: draft.statusCode = string(bytes)
        case .agreementType:
            guard let type = CodeTable.lookup(agreementTypes, bytes) else {
                throw fieldError(field, bytes, "is not an agreement type listed in status-codes.yaml")
            }
            draft.agreementType = type
        case .startDate: draft.startDate = try date(field, bytes)
        case .endDate: draft.endDate = try date(field, bytes)
        case .currency:
            do {
                draft.currency = try CurrencyCode(string(bytes))
            } catch {
                throw fieldError(field, bytes, "is not an ISO 4217 currency code")
            }
        case .totalPrice: draft.totalPrice = try amount(field, bytes)
        case .paidToDate: draft.paidToDate = try amount(field, bytes)
        case .monthlyPayment: draft.monthlyPayment = try amount(field, bytes)
        case .lastPaymentDate: draft.lastPaymentDate = try date(field, bytes)
        case .arrearsAmount: draft.arrearsAmount = try amount(field, bytes)
        case .arrearsOldestUnpaidDueDate: draft.oldestUnpaidDueDate = try date(field, bytes)
        case .arrearsMissedPayments: draft.missedPayments = Int(try integer(field, bytes))
        case .customerPartnerId: draft.partnerId = string(bytes)
        case .customerVersion: draft.partnerVersion = try integer(field, bytes)
        case .customerName: draft.name = string(bytes)
        case .customerKind:
            guard let kind = CodeTable.lookup(customerKinds, bytes) else {
                throw fieldError(field, bytes, "is not a customer kind listed in status-codes.yaml")
            }
            draft.kind = kind
        case .customerAddressLine1: draft.line1 = string(bytes)
        case .customerAddressLine2: draft.line2 = string(bytes)
        case .customerAddressTown: draft.town = string(bytes)
        case .customerAddressPostcode: draft.postcode = string(bytes)
        case .customerAddressCountry: draft.country = string(bytes)
        case .customerPhones: draft.phones.append(string(bytes))
        case .customerEmail: draft.email = string(bytes)
        case .customerVulnerable:
            guard let value = CodeTable.lookup(booleans, bytes) else {
                throw fieldError(field, bytes, "is not a boolean (true or false)")
            }
            draft.vulnerable = value
        case .vehicleRegistration: draft.registration = string(bytes)
        case .vehicleVIN: draft.vin = string(bytes)
        case .vehicleMake: draft.make = string(bytes)
        case .vehicleModel: draft.model = string(bytes)
        case .lastModified:
            guard let value = Timestamp.parse(bytes) else { throw fieldError(field, bytes, "is not a date-time with a zone") }
            draft.lastModified = value
        case .invoices:
            break
        case .invoiceNumber: invoice.number = string(bytes)
        case .invoiceIssueDate: invoice.issueDate = try date(field, bytes)
        case .invoiceDueDate: invoice.dueDate = try date(field, bytes)
        case .invoiceAmount: invoice.amount = try amount(field, bytes)
        case .invoiceOpenAmount: invoice.openAmount = try amount(field, bytes)
        }
    }
}

/// Finds a code in a short list by its bytes, ignoring surrounding XML white space.
enum CodeTable {
    static func lookup<Value>(_ table: [([UInt8], Value)], _ bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start].isSpace { start += 1 }
        while end > start, bytes[end - 1].isSpace { end -= 1 }
        let code = UnsafeBufferPointer(rebasing: bytes[start..<end])
        for (key, value) in table where key.count == code.count && key.elementsEqual(code) {
            return value
        }
        return nil
    }
}

private extension UInt8 {
    var isSpace: Bool { self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D }
}
