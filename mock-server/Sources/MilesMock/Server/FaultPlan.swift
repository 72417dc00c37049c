/// What an injected fault does to a call.
public enum FaultKind: String, Codable, Sendable, CaseIterable {
    /// A SOAP fault with `faultCode` (default SERVER_BUSY).
    case soapFault
    /// An HTTP status (`httpStatus`, default 503) with no SOAP body, and `Retry-After` when `retryAfterSeconds` is set.
    case http
    /// Answer only after `delayMilliseconds` (or a random delay up to it): longer than the client's timeout.
    case delay
    /// Close the connection without answering, before doing anything.
    case connectionReset
    /// 200 with an empty body.
    case emptyResponse
    /// The real answer cut off in the middle of an element.
    case truncatedBody
    /// 200 with random bytes.
    case garbage
    /// Well-formed XML that breaks the schema: a required element missing, two elements swapped, an unknown element added.
    case xsdMissingElement, xsdWrongOrder, xsdExtraElement
    /// FindContracts answers with the cursor it was given (the query never advances), or skips a page.
    case cursorRepeat, cursorSkip
    /// Hostile XML: entity expansion, an external entity to a local file or to `url`, 10,000-deep nesting,
    /// a text node of `sizeBytes` (default 100 MB).
    case billionLaughs, externalEntityFile, externalEntityURL, deepNesting, hugeTextNode
}

/// Faults the tests (or a chaos run) ask the mock to inject, per operation: "let the next `skip` calls
/// through, then fail `count` of them", or "fail `percent` of them at random" (from the mock's fault
/// seed, so a run can be replayed); with `afterProcessing`, the call is applied first.
public struct FaultRule: Codable, Sendable, Equatable {
    /// The operation to fail (`FindContracts`, …); `nil` for every operation.
    public var operation: String?
    public var skip: Int
    public var count: Int
    /// What the fault does; without it, `httpStatus` or else `faultCode` decide (the original rule form).
    public var kind: FaultKind?
    /// Instead of one `kind`: each time the rule fires, one of these at random (a chaos run's "every kind").
    public var kinds: [FaultKind]?
    /// A MILES fault code to answer with, e.g. `SERVER_BUSY`.
    public var faultCode: String?
    /// An HTTP status to answer with instead, with no SOAP body, e.g. 503.
    public var httpStatus: Int?
    /// With an HTTP status: the `Retry-After` header, in seconds.
    public var retryAfterSeconds: Int?
    /// Fail this share of matching calls at random, for as long as the rule stands (`count` is then ignored).
    public var percent: Int?
    /// Process the call normally, then drop the connection without answering (the unknown-outcome case).
    public var afterProcessing: Bool?
    /// With `afterProcessing`: answer normally, but only after this many milliseconds. With `kind: delay`:
    /// the delay (random up to it when `randomDelay`).
    public var delayMilliseconds: Int?
    public var randomDelay: Bool?
    /// `externalEntityURL`: the URL the entity points at.
    public var url: String?
    /// `hugeTextNode`: the size of the text.
    public var sizeBytes: Int?

    public init(operation: String?, skip: Int = 0, count: Int = 1, kind: FaultKind? = nil, faultCode: String? = nil, httpStatus: Int? = nil,
                retryAfterSeconds: Int? = nil, percent: Int? = nil, afterProcessing: Bool? = nil, delayMilliseconds: Int? = nil,
                randomDelay: Bool? = nil, url: String? = nil, sizeBytes: Int? = nil) {
        self.operation = operation
        self.skip = skip
        self.count = count
        self.kind = kind
        self.faultCode = faultCode
        self.httpStatus = httpStatus
        self.retryAfterSeconds = retryAfterSeconds
        self.percent = percent
        self.afterProcessing = afterProcessing
        self.delayMilliseconds = delayMilliseconds
        self.randomDelay = randomDelay
        self.url = url
        self.sizeBytes = sizeBytes
    }

    private enum CodingKeys: String, CodingKey {
        case operation, skip, count, kind, kinds, faultCode, httpStatus, retryAfterSeconds, percent, afterProcessing, delayMilliseconds, randomDelay, url
        case sizeBytes
    }

    /// Only what differs from the defaults need be given: `skip` 0, `count` 1.
    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            operation: try values.decodeIfPresent(String.self, forKey: .operation), skip: try values.decodeIfPresent(Int.self, forKey: .skip) ?? 0,
            count: try values.decodeIfPresent(Int.self, forKey: .count) ?? 1, kind: try values.decodeIfPresent(FaultKind.self, forKey: .kind),
            faultCode: try values.decodeIfPresent(String.self, forKey: .faultCode), httpStatus: try values.decodeIfPresent(Int.self, forKey: .httpStatus),
            retryAfterSeconds: try values.decodeIfPresent(Int.self, forKey: .retryAfterSeconds),
            percent: try values.decodeIfPresent(Int.self, forKey: .percent), afterProcessing: try values.decodeIfPresent(Bool.self, forKey: .afterProcessing),
            delayMilliseconds: try values.decodeIfPresent(Int.self, forKey: .delayMilliseconds),
            randomDelay: try values.decodeIfPresent(Bool.self, forKey: .randomDelay), url: try values.decodeIfPresent(String.self, forKey: .url),
            sizeBytes: try values.decodeIfPresent(Int.self, forKey: .sizeBytes))
        kinds = try values.decodeIfPresent([FaultKind].self, forKey: .kinds)
    }

    /// What the rule does, the original form (`httpStatus` / `faultCode` only) included.
    var effectiveKind: FaultKind { kind ?? (httpStatus != nil ? .http : .soapFault) }
}

struct FaultPlan: Sendable {
    private(set) var rules: [FaultRule] = []
    private var random: SplitMix64

    init(seed: UInt64 = 0) {
        random = SplitMix64(seed: seed)
    }

    mutating func add(_ rule: FaultRule) { rules.append(rule) }
    mutating func clear() { rules.removeAll() }

    /// The rule that fails this call, if any; counts the call against the matching rule.
    mutating func next(for operation: String) -> FaultRule? {
        guard let position = rules.firstIndex(where: { $0.operation == nil || $0.operation == operation }) else { return nil }
        if rules[position].skip > 0 {
            rules[position].skip -= 1
            return nil
        }
        var rule = rules[position]
        if let kinds = rule.kinds, !kinds.isEmpty { rule.kind = kinds[random.int(0...kinds.count - 1)] }
        if let percent = rule.percent { return random.int(0...99) < percent ? rule : nil }
        rules[position].count -= 1
        if rules[position].count <= 0 { rules.remove(at: position) }
        return rule
    }

    /// A delay for a rule with `randomDelay`, from the same seeded sequence.
    mutating func randomMilliseconds(upTo limit: Int) -> Int { random.int(0...max(0, limit)) }

    mutating func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
}
