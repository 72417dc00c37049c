import Yams
import MilesSOAP

/// One MILES operation as `mappings/contract.yaml` describes it: where to send it, the
/// request's wrapper element and parameters, and where the answer keeps its values.
public struct OperationMapping: Sendable {
    public var service: String
    public var soapAction: String
    public var requestElement: String
    /// Adapter parameter name to element path below the request element, e.g. `pageSize: [PageSize]`.
    public var requestFields: [String: [String]]
    public var responseElement: String
    /// Adapter value name to element path below the response element, e.g. `nextCursor: [NextCursor]`.
    public var responseFields: [String: [String]]
    /// Path from the response element to each contract record.
    public var recordsPath: [String]
    /// Each element of the answer that has element children (the response element as ""), with its
    /// children in schema order, by path: what strict reading checks answers against.
    public var schemaChildOrder: [String: [String]]
    public var validation: SchemaValidation
}

/// How an answer that breaks the schema (an unknown element, elements out of order) is read.
public enum SchemaValidation: String, Sendable, CaseIterable {
    /// The default: the answer is an error naming the element's path.
    case strict
    /// Accepted; each deviation is counted and logged.
    case lenient
}

/// `mappings/contract.yaml`: where every field of a contract, its customer and its invoices
/// lives in MILES's messages, and the operations that carry them. A MILES that offers only some
/// operations (read-only, or early in an integration) is mapped with only those: the jobs that need
/// the others are refused (`refusal(for:)`), and `mappings check` lists the ones it enables.
public struct ContractMapping: Sendable {
    public var namespace: String
    public var schemaFile: String
    public var faultNames: FaultDetailNames
    public var faultClassifier: FaultClassifier
    /// The operations this MILES offers, as mapped.
    public var operations: [MilesOperation: OperationMapping]
    /// How the element names of answers are matched (`elementNames:`; exact unless it says otherwise).
    public var elementNames: ElementNameMatching
    /// Where the next incremental query starts: MILES's AsOf, or the high-water mark when it sends none.
    public var incrementalStart: IncrementalStart
    /// Write-off value name to element path below a write-off record (`reversals`: the path to its reversal records).
    public var writeOffFields: [String: [String]]
    /// Reversal value name to element path below a reversal record.
    public var reversalFields: [String: [String]]
    /// Credit note value name to element path below a credit note record.
    public var creditNoteFields: [String: [String]]
    /// Model field to element path below the contract record (`invoices` is the invoice record path).
    public var contractFields: [ModelField: [String]]
    /// Model field to element path below the invoice record.
    public var invoiceFields: [ModelField: [String]]

    /// How much before the high-water mark the next query starts when the mapping maps no `asOf`
    /// and says nothing (`changedSinceOverlap`).
    public static let defaultChangedSinceOverlap = Duration.seconds(3600)

    /// The operation as mapped; throws, naming it, when this MILES does not offer it.
    public func mapped(_ operation: MilesOperation) throws(UnmappedOperationError) -> OperationMapping {
        guard let mapping = operations[operation] else { throw UnmappedOperationError(job: nil, missingOperations: [operation]) }
        return mapping
    }

    /// Why `job` cannot run against this MILES (the operations and fields it needs that are not
    /// mapped), or nil when it can.
    public func refusal(for job: MilesJob) -> UnmappedOperationError? {
        let operations = job.operations.filter { self.operations[$0] == nil }
        let fields = job.contractFields.filter { contractFields[$0] == nil }
        guard !operations.isEmpty || !fields.isEmpty else { return nil }
        return UnmappedOperationError(job: job, missingOperations: operations, missingFields: fields)
    }

    /// Throws the refusal when `job` cannot run against this MILES.
    public func require(_ job: MilesJob) throws(UnmappedOperationError) {
        if let refusal = refusal(for: job) { throw refusal }
    }

    /// The jobs this mapping lets run, in `MilesJob.allCases` order.
    public var enabledJobs: [MilesJob] { MilesJob.allCases.filter { refusal(for: $0) == nil } }

    /// The parameters and answer values each operation must map, by operation key.
    struct OperationShape {
        var request: Set<String>
        var response: Set<String>
        /// Whether the answer carries records (contracts, write-offs) at a `records` path.
        var hasRecords = true
        /// Answer values a MILES may not send (FindContracts' AsOf).
        var optionalResponse: Set<String> = []
        /// Request values a MILES may not take (AllocatePayment's payer name): left out when not mapped.
        var optionalRequest: Set<String> = []
    }

    static let operationShapes: [MilesOperation: OperationShape] = [
        .findContracts: OperationShape(request: ["changedSince", "cursor", "pageSize"], response: ["totalCount", "nextCursor"],
                                       optionalResponse: ["asOf"]),
        .getContract: OperationShape(request: ["contractNumber"], response: []),
        .updateContractStatus: OperationShape(
            request: ["contractNumber", "expectedVersion", "status", "reasonCode", "effectiveDate", "courtOrderReference", "clientReference"],
            response: ["version", "status"], hasRecords: false),
        .addContractNote: OperationShape(request: ["contractNumber", "category", "text", "source", "clientReference"],
                                         response: ["noteId"], hasRecords: false),
        .updateContactDetails: OperationShape(
            request: ["partnerId", "expectedVersion", "addressLine1", "addressLine2", "town", "postcode", "country", "phone", "email",
                      "source", "clientReference"],
            response: ["partnerVersion"], hasRecords: false),
        .requestCustomerLetter: OperationShape(request: ["contractNumber", "letterType", "requestedBy", "clientReference"],
                                               response: ["letterId", "clientReference", "letterType", "serveDate", "remedyDate"],
                                               hasRecords: false),
        .createPaymentArrangement: OperationShape(
            request: ["contractNumber", "frequency", "settlement", "currency", "total", "instalments", "instalmentDueDate", "instalmentAmount",
                      "requestedBy", "approvedBy", "clientReference"],
            response: ["arrangementId", "status", "paidToDate", "contractVersion"], hasRecords: false),
        .cancelPaymentArrangement: OperationShape(request: ["arrangementId", "reason", "requestedBy", "clientReference"],
                                                  response: ["arrangementId", "status"], hasRecords: false),
        .postWriteOff: OperationShape(request: ["contractNumber", "invoiceNumbers", "amount", "currency", "reasonCode", "requestedBy",
                                                "approvedBy", "clientReference"], response: []),
        .findWriteOffs: OperationShape(request: ["clientReference", "contractNumber"], response: []),
        .reverseWriteOff: OperationShape(request: ["writeOffId", "amount", "currency", "reasonCode", "requestedBy", "approvedBy",
                                                   "clientReference"], response: []),
        .raiseCreditNote: OperationShape(request: ["contractNumber", "invoiceNumbers", "amount", "currency", "reasonCode", "requestedBy",
                                                   "approvedBy", "clientReference"], response: []),
        .findCreditNotes: OperationShape(request: ["clientReference", "contractNumber"], response: []),
        .allocatePayment: OperationShape(
            request: ["contractNumber", "lines", "lineInvoiceNumber", "lineAmount", "currency", "valueDate", "account", "bankReference",
                      "clientReference"],
            response: ["allocationId", "clientReference", "amount", "currency"], hasRecords: false, optionalRequest: ["payerName"]),
        .reverseAllocation: OperationShape(request: ["allocationReference", "reasonCode", "clientReference"],
                                           response: ["allocationId", "reversed"], hasRecords: false),
    ]

    /// Request values written once per repeating element (an instalment, an allocation line): by
    /// operation, the parameter naming that element and the parameters that must lie inside it.
    static let repeatedRequestValues: [MilesOperation: (record: String, inside: [String])] = [
        .createPaymentArrangement: ("instalments", ["instalmentDueDate", "instalmentAmount"]),
        .allocatePayment: ("lines", ["lineInvoiceNumber", "lineAmount"]),
    ]

    /// A record section of the mapping (a write-off, a reversal, a credit note): its values, and the
    /// operations whose records they are. Its paths are checked against the first of those mapped;
    /// a mapping with none of them needs no such section.
    struct RecordSection {
        var key: String
        var what: String
        var operations: [MilesOperation]
        var fields: Set<String>
        /// When the records are found inside another section's record (reversals inside their write-off).
        var within: (section: String, field: String)?
    }

    static let recordSections: [RecordSection] = [
        RecordSection(key: "writeOff", what: "write-off", operations: [.findWriteOffs, .postWriteOff], fields: [
            "writeOffId", "clientReference", "contractNumber", "amount", "currency", "reasonCode", "postedAt", "contractVersion", "reversals",
        ]),
        RecordSection(key: "writeOffReversal", what: "write-off reversal", operations: [.reverseWriteOff], fields: [
            "reversalId", "clientReference", "writeOffId", "contractNumber", "amount", "currency", "reasonCode", "reversedAt", "contractVersion",
        ], within: ("writeOff", "reversals")),
        RecordSection(key: "creditNote", what: "credit note", operations: [.findCreditNotes, .raiseCreditNote], fields: [
            "creditNoteId", "clientReference", "contractNumber", "amount", "currency", "reasonCode", "raisedAt", "contractVersion",
        ]),
    ]
}

extension ContractMapping {
    /// Reads `contract.yaml`, checking every key, model field and path against the schema.
    static func load(_ file: YAMLFile, schemaDirectory: String, problems: inout [MappingProblem]) -> ContractMapping? {
        guard let root = file.root, root.orderedPairs != nil else {
            problems.append(file.problem(file.root, .syntax, "expected a mapping at the top of the file"))
            return nil
        }
        let before = problems.count
        checkKeys(root, allowed: Set(["version", "namespace", "schema", "elementNames", "faults", "operations", "contract", "invoice"]
                                     + recordSections.map(\.key)),
                  file, &problems)
        let namespace = requiredString(root, "namespace", file, &problems)
        let schemaFile = requiredString(root, "schema", file, &problems)
        var elementNames = ElementNameMatching.exact
        if let node = root[key: "elementNames"] {
            if let matching = node.string.flatMap(ElementNameMatching.init(rawValue:)) {
                elementNames = matching
            } else {
                problems.append(file.problem(node, .invalidValue,
                    "elementNames must be \(ElementNameMatching.allCases.map(\.rawValue).joined(separator: " or "))"))
            }
        }

        var outline: SchemaOutline?
        if let schemaFile {
            do {
                outline = try SchemaOutline(xsdPath: schemaDirectory + "/" + schemaFile)
            } catch {
                problems.append(file.problem(root[key: "schema"], .pathNotInSchema, "schema '\(schemaFile)' cannot be read: \(error)"))
            }
        }

        let (faultNames, faultClassifier) = loadFaults(root[key: "faults"], outline: outline, file, &problems)

        // Operations: any may be left out; the jobs that need one are then refused.
        let operationsNode = root[key: "operations"]
        var operations: [MilesOperation: (OperationMapping, SchemaOutline.TypeReference?)] = [:]
        var overlapNode: Node?
        for (key, value) in operationsNode?.orderedPairs ?? [] {
            guard let operation = key.string.flatMap(MilesOperation.init(rawValue:)), let shape = operationShapes[operation] else {
                problems.append(file.problem(key, .unknownKey,
                    "unknown operation '\(key.string ?? "")'; expected one of \(MilesOperation.allCases.map(\.rawValue).joined(separator: ", "))"))
                continue
            }
            if operation == .findContracts { overlapNode = value[key: "changedSinceOverlap"] }
            if let mapped = loadOperation(operation, value, shape: shape, outline: outline, file, &problems) {
                operations[operation] = mapped
            }
        }
        if operationsNode?.orderedPairs?.isEmpty ?? true {
            problems.append(file.problem(operationsNode ?? root, .missingField,
                                         "no operation is mapped under 'operations', so no job can run; map at least findContracts"))
        }

        // Without AsOf in FindContracts' answers, the next query starts from the newest change seen.
        var incrementalStart = IncrementalStart.asOf
        if let find = operations[.findContracts]?.0, find.responseFields["asOf"] == nil {
            var overlap = defaultChangedSinceOverlap
            if let overlapNode {
                if let parsed = overlapNode.string.flatMap(parseDuration) {
                    overlap = parsed
                } else {
                    problems.append(file.problem(overlapNode, .invalidValue,
                        "changedSinceOverlap must be a whole number of seconds, minutes or hours, such as 90s, 15m or 2h"))
                }
            }
            incrementalStart = .highWaterMark(overlap: overlap)
        } else if let overlapNode {
            problems.append(file.problem(overlapNode, .invalidValue,
                "changedSinceOverlap is for a MILES that sends no AsOf; with asOf mapped, the next query starts at AsOf"))
        }

        // Folding case, the decoder would read two children of one element whose names differ only in case as one.
        if elementNames == .anyCase {
            var reported: Set<String> = []
            for (operation, (mapped, _)) in operations.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                for (path, children) in mapped.schemaChildOrder.sorted(by: { $0.key < $1.key }) {
                    let element = path.isEmpty ? mapped.responseElement : mapped.responseElement + "/" + path
                    let collisions = Dictionary(grouping: children, by: { $0.lowercased() }).values.filter { $0.count > 1 }.sorted { $0[0] < $1[0] }
                    for names in collisions where reported.insert(element + "/" + names[0].lowercased()).inserted {
                        problems.append(file.problem(root[key: "elementNames"], .invalidValue,
                            "elementNames: anyCase cannot tell " + names.map { "'\($0)'" }.joined(separator: " from ")
                                + " apart in \(element) (\(operation.name)'s answer): keep elementNames exact for this MILES"))
                    }
                }
            }
        }

        // An instalment's or an allocation line's values are written inside each of its elements.
        for (operation, repeated) in repeatedRequestValues.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            guard let mapped = operations[operation]?.0, let record = mapped.requestFields[repeated.record] else { continue }
            for key in repeated.inside {
                if let path = mapped.requestFields[key], !(path.count > record.count && Array(path.prefix(record.count)) == record) {
                    problems.append(file.problem(operationsNode?[key: operation.rawValue]?[key: "requestFields"]?[key: key], .pathNotInSchema,
                        "\(operation.rawValue): \(key) must be inside the \(repeated.record) element (\(record.joined(separator: "/")))"))
                }
            }
        }

        // The record type the contract operations deliver: the contract fields are checked against it.
        let recordType = operations[.findContracts]?.1 ?? operations[.getContract]?.1
        let contractFields = loadFields(root[key: "contract"], section: .contract, recordType: recordType,
                                        outline: outline, file, &problems)
        var invoiceType: SchemaOutline.TypeReference?
        if let recordType, let outline, let path = contractFields[.invoices] {
            invoiceType = outline.resolve(path: path, fromType: recordType)
        }
        let invoiceFields = loadFields(root[key: "invoice"], section: .invoice, recordType: invoiceType,
                                       outline: outline, file, &problems)
        if contractFields[.invoices] == nil, root[key: "contract"] != nil {
            problems.append(file.problem(root[key: "contract"], .missingField, "contract field 'invoices' (the invoice record) is not mapped"))
        }

        var recordFields: [String: [String: [String]]] = [:]
        for section in recordSections {
            let recordOperation = section.operations.first { operations[$0] != nil }
            guard recordOperation != nil || root[key: section.key] != nil else { continue }
            recordFields[section.key] = loadRecordSection(root, section, recordType: recordOperation.flatMap { operations[$0]?.1 },
                                                          outline: outline, file, &problems)
        }
        // Records found inside another's (reversals within their write-off) are read there with the same paths.
        for section in recordSections {
            guard let within = section.within, let outline,
                  let outer = recordSections.first(where: { $0.key == within.section }),
                  let outerType = outer.operations.lazy.compactMap({ operations[$0]?.1 }).first,
                  let path = recordFields[within.section]?[within.field],
                  let innerType = outline.resolve(path: path, fromType: outerType) else { continue }
            for (name, fieldPath) in (recordFields[section.key] ?? [:]).sorted(by: { $0.key < $1.key })
            where outline.resolve(path: fieldPath, fromType: innerType) == nil {
                problems.append(file.problem(root[key: section.key]?[key: name], .pathNotInSchema,
                    "\(section.what) field '\(name)' is not in the records at \(within.section).\(within.field) in the schema"))
            }
        }

        guard problems.count == before, let namespace, let schemaFile else { return nil }
        return ContractMapping(
            namespace: namespace, schemaFile: schemaFile, faultNames: faultNames, faultClassifier: faultClassifier,
            operations: operations.mapValues(\.0), elementNames: elementNames, incrementalStart: incrementalStart,
            writeOffFields: recordFields["writeOff"] ?? [:], reversalFields: recordFields["writeOffReversal"] ?? [:],
            creditNoteFields: recordFields["creditNote"] ?? [:], contractFields: contractFields, invoiceFields: invoiceFields)
    }

    /// `faults:`: where a fault's detail keeps MILES's code and what each code means; and, for faults
    /// with no code (only `faultcode` and `faultstring`), the `withoutDetail` rules. A MILES whose faults
    /// never carry a detail leaves `detail`, `code`, `message` and `dispositions` out.
    private static func loadFaults(_ faults: Node?, outline: SchemaOutline?, _ file: YAMLFile,
                                   _ problems: inout [MappingProblem]) -> (FaultDetailNames, FaultClassifier) {
        checkKeys(faults, allowed: ["detail", "code", "message", "dispositions", "withoutDetail"], file, &problems)
        var faultNames = FaultDetailNames.none
        var dispositions: [String: FaultDisposition] = [:]
        if faults?[key: "detail"] != nil {
            faultNames = FaultDetailNames(
                container: requiredString(faults, "detail", file, &problems) ?? "",
                code: requiredString(faults, "code", file, &problems) ?? "",
                message: requiredString(faults, "message", file, &problems) ?? "")
            if let outline, !faultNames.container.isEmpty {
                if let detail = outline.globalElement(faultNames.container) {
                    for (key, name) in [("code", faultNames.code), ("message", faultNames.message)] where !name.isEmpty
                        && outline.resolve(path: [name], fromType: detail) == nil {
                        problems.append(file.problem(faults?[key: key], .pathNotInSchema,
                                                     "fault \(key) element '\(name)' is not in \(faultNames.container) in the schema"))
                    }
                } else {
                    problems.append(file.problem(faults?[key: "detail"], .pathNotInSchema,
                                                 "fault detail element '\(faultNames.container)' is not a global element of the schema"))
                }
            }
            for (key, value) in faults?[key: "dispositions"]?.orderedPairs ?? [] {
                guard let code = key.string, let disposition = parseDisposition(value, file, &problems) else { continue }
                dispositions[code] = disposition
            }
        } else {
            for key in ["code", "message", "dispositions"] where faults?[key: key] != nil {
                problems.append(file.problem(faults?[key: key], .missingField,
                    "faults: '\(key)' belongs to the codes in a fault's detail, and 'detail' (the element holding them) is not given; "
                        + "faults without a detail are sorted by 'withoutDetail'"))
            }
        }
        var rules: [FaultMessageRule] = []
        if let node = faults?[key: "withoutDetail"] {
            guard case let .sequence(entries) = node else {
                problems.append(file.problem(node, .invalidValue, "withoutDetail must be a list of rules (faultCode, message, disposition)"))
                return (faultNames, FaultClassifier(table: dispositions))
            }
            for entry in entries {
                checkKeys(entry, allowed: ["faultCode", "message", "disposition"], file, &problems)
                guard entry.orderedPairs != nil, let dispositionNode = entry[key: "disposition"] else {
                    problems.append(file.problem(entry, .missingField, "a withoutDetail rule needs a disposition"))
                    continue
                }
                guard let disposition = parseDisposition(dispositionNode, file, &problems) else { continue }
                let pattern = entry[key: "message"]?.string
                do {
                    rules.append(try FaultMessageRule(faultCode: entry[key: "faultCode"]?.string, messagePattern: pattern, disposition: disposition))
                } catch {
                    problems.append(file.problem(entry[key: "message"], .invalidValue,
                                                 "withoutDetail: message '\(pattern ?? "")' is not a regular expression: \(error)"))
                }
            }
        }
        return (faultNames, FaultClassifier(table: dispositions, withoutDetail: rules))
    }

    private static func parseDisposition(_ node: Node, _ file: YAMLFile, _ problems: inout [MappingProblem]) -> FaultDisposition? {
        guard let disposition = node.string.flatMap(FaultDisposition.init(rawValue:)) else {
            problems.append(file.problem(node, .unknownInternalValue,
                "fault disposition '\(node.string ?? "")' is not one of \(FaultDisposition.allCases.map(\.rawValue).joined(separator: ", "))"))
            return nil
        }
        return disposition
    }

    /// `90s`, `15m`, `2h`: a whole number of seconds, minutes or hours.
    static func parseDuration(_ text: String) -> Duration? {
        guard let unit = text.last, let count = Int64(text.dropLast()), count >= 0 else { return nil }
        switch unit {
        case "s": return .seconds(count)
        case "m": return .seconds(count * 60)
        case "h": return .seconds(count * 3600)
        default: return nil
        }
    }

    private static func loadOperation(
        _ operation: MilesOperation, _ node: Node, shape: OperationShape, outline: SchemaOutline?,
        _ file: YAMLFile, _ problems: inout [MappingProblem]
    ) -> (OperationMapping, SchemaOutline.TypeReference?)? {
        let name = operation.rawValue
        checkKeys(node, allowed: Set(["service", "soapAction", "request", "requestFields", "response", "responseFields", "records", "validation"]
                                     + (operation == .findContracts ? ["changedSinceOverlap"] : [])),
                  file, &problems)
        let validationText = node[key: "validation"]?.string ?? SchemaValidation.strict.rawValue
        let validation = SchemaValidation(rawValue: validationText)
        if validation == nil {
            problems.append(file.problem(node[key: "validation"], .invalidValue,
                                         "validation must be \(SchemaValidation.allCases.map(\.rawValue).joined(separator: " or "))"))
        }
        let service = requiredString(node, "service", file, &problems)
        let action = requiredString(node, "soapAction", file, &problems)
        let request = requiredString(node, "request", file, &problems)
        let response = requiredString(node, "response", file, &problems)
        let records = shape.hasRecords ? requiredString(node, "records", file, &problems) : ""
        let requestType = request.flatMap { outline?.globalElement($0) }
        let responseType = response.flatMap { outline?.globalElement($0) }
        if outline != nil {
            if let request, requestType == nil {
                problems.append(file.problem(node[key: "request"], .pathNotInSchema, "request element '\(request)' is not a global element of the schema"))
            }
            if let response, responseType == nil {
                problems.append(file.problem(node[key: "response"], .pathNotInSchema, "response element '\(response)' is not a global element of the schema"))
            }
        }
        var requestFields: [String: [String]] = [:]
        for (key, value) in node[key: "requestFields"]?.orderedPairs ?? [] {
            guard let parameter = key.string, shape.request.contains(parameter) || shape.optionalRequest.contains(parameter) else {
                problems.append(file.problem(key, .unknownModelField, "unknown parameter '\(key.string ?? "")' for \(name); expected one of "
                    + shape.request.union(shape.optionalRequest).sorted().joined(separator: ", ")))
                continue
            }
            guard let path = checkedPath(value, from: requestType, outline: outline, what: request ?? "", file, &problems) else { continue }
            requestFields[parameter] = path
        }
        for parameter in shape.request.sorted() where requestFields[parameter] == nil && node[key: "requestFields"]?[key: parameter] == nil {
            problems.append(file.problem(node, .missingField, "\(name): parameter '\(parameter)' is not mapped"))
        }
        var responseFields: [String: [String]] = [:]
        for (key, value) in node[key: "responseFields"]?.orderedPairs ?? [] {
            guard let field = key.string, shape.response.contains(field) || shape.optionalResponse.contains(field) else {
                problems.append(file.problem(key, .unknownModelField, "unknown answer value '\(key.string ?? "")' for \(name); expected one of "
                    + shape.response.union(shape.optionalResponse).sorted().joined(separator: ", ")))
                continue
            }
            guard let path = checkedPath(value, from: responseType, outline: outline, what: response ?? "", file, &problems) else { continue }
            responseFields[field] = path
        }
        for field in shape.response.sorted() where responseFields[field] == nil && node[key: "responseFields"]?[key: field] == nil {
            problems.append(file.problem(node, .missingField, "\(name): answer value '\(field)' is not mapped"))
        }
        let recordPath = shape.hasRecords
            ? checkedPath(node[key: "records"], from: responseType, outline: outline, what: response ?? "", file, &problems) : []
        let recordType = recordPath.flatMap { path in responseType.flatMap { outline?.resolve(path: path, fromType: $0) } }
        guard let service, let action, let request, let response, records != nil, let recordPath, let validation else { return nil }
        let childOrder = responseType.flatMap { type in outline?.childOrders(below: type) } ?? [:]
        return (OperationMapping(service: service, soapAction: action, requestElement: request, requestFields: requestFields,
                                 responseElement: response, responseFields: responseFields, recordsPath: recordPath,
                                 schemaChildOrder: childOrder, validation: validation), recordType)
    }

    private static func loadRecordSection(_ root: Node, _ section: RecordSection, recordType: SchemaOutline.TypeReference?,
                                          outline: SchemaOutline?, _ file: YAMLFile, _ problems: inout [MappingProblem]) -> [String: [String]] {
        guard let node = root[key: section.key], let pairs = node.orderedPairs else {
            problems.append(file.problem(root, .missingField, "section '\(section.key)' is missing or not a mapping"))
            return [:]
        }
        var fields: [String: [String]] = [:]
        for (key, value) in pairs {
            guard let name = key.string, section.fields.contains(name) else {
                problems.append(file.problem(key, .unknownModelField, "unknown \(section.what) field '\(key.string ?? "")'; expected one of "
                    + section.fields.sorted().joined(separator: ", ")))
                continue
            }
            if let path = checkedPath(value, from: recordType, outline: outline, what: "the \(section.what) record", file, &problems) {
                fields[name] = path
            }
        }
        for name in section.fields.sorted() where fields[name] == nil && node[key: name] == nil {
            problems.append(file.problem(node, .missingField, "\(section.what) field '\(name)' is not mapped"))
        }
        return fields
    }

    private static func loadFields(
        _ node: Node?, section: ModelField.Section, recordType: SchemaOutline.TypeReference?, outline: SchemaOutline?,
        _ file: YAMLFile, _ problems: inout [MappingProblem]
    ) -> [ModelField: [String]] {
        let sectionName = section == .contract ? "contract" : "invoice"
        guard let pairs = node?.orderedPairs else {
            problems.append(file.problem(node ?? file.root, .missingField, "section '\(sectionName)' is missing or not a mapping"))
            return [:]
        }
        var fields: [ModelField: [String]] = [:]
        for (key, value) in pairs {
            guard let name = key.string, let field = ModelField.field(named: name, in: section) else {
                problems.append(file.problem(key, .unknownModelField, "unknown model field '\(key.string ?? "")' in section '\(sectionName)'"))
                continue
            }
            guard let path = checkedPath(value, from: recordType, outline: outline, what: "the \(sectionName) record", file, &problems) else { continue }
            fields[field] = path
        }
        for field in ModelField.allCases where field.section == section && field.mustBeMapped && fields[field] == nil
            && node?[key: field.rawValue] == nil {
            problems.append(file.problem(node, .missingField, "required model field '\(field.rawValue)' is not mapped in section '\(sectionName)'"))
        }
        return fields
    }

    private static func checkedPath(
        _ node: Node?, from type: SchemaOutline.TypeReference?, outline: SchemaOutline?, what: String,
        _ file: YAMLFile, _ problems: inout [MappingProblem]
    ) -> [String]? {
        guard let node else { return nil }
        guard let text = node.string, !text.isEmpty else {
            problems.append(file.problem(node, .invalidValue, "expected an element path such as Customer/Name"))
            return nil
        }
        let path = text.split(separator: "/").map(String.init)
        if let type, let outline, outline.resolve(path: path, fromType: type) == nil {
            problems.append(file.problem(node, .pathNotInSchema, "path '\(text)' is not in \(what) in the schema"))
        }
        return path
    }
}

func checkKeys(_ node: Node?, allowed: Set<String>, _ file: YAMLFile, _ problems: inout [MappingProblem]) {
    for (key, _) in node?.orderedPairs ?? [] where !allowed.contains(key.string ?? "") {
        problems.append(file.problem(key, .unknownKey, "unknown key '\(key.string ?? "")'; expected one of \(allowed.sorted().joined(separator: ", "))"))
    }
}

func requiredString(_ node: Node?, _ key: String, _ file: YAMLFile, _ problems: inout [MappingProblem]) -> String? {
    guard let value = node?[key: key] else {
        problems.append(file.problem(node, .missingField, "'\(key)' is missing"))
        return nil
    }
    guard let text = value.string, !text.isEmpty else {
        problems.append(file.problem(value, .invalidValue, "'\(key)' must be a non-empty text"))
        return nil
    }
    return text
}
