/// Faults the tests ask the mock to inject: "let the next `skip` calls of an operation through,
/// then fail `count` of them with this fault or HTTP status".
public struct FaultRule: Codable, Sendable, Equatable {
    /// The operation to fail (`FindContracts`, …); `nil` for every operation.
    public var operation: String?
    public var skip: Int
    public var count: Int
    /// A MILES fault code to answer with, e.g. `SERVER_BUSY`.
    public var faultCode: String?
    /// An HTTP status to answer with instead, with no SOAP body, e.g. 503.
    public var httpStatus: Int?
    /// Process the call normally, then drop the connection without answering (the unknown-outcome case).
    public var afterProcessing: Bool?
    /// With `afterProcessing`: answer normally, but only after this many milliseconds (a caller with a
    /// shorter timeout, or one killed meanwhile, never learns the outcome).
    public var delayMilliseconds: Int?

    public init(operation: String?, skip: Int = 0, count: Int = 1, faultCode: String? = nil, httpStatus: Int? = nil,
                afterProcessing: Bool? = nil, delayMilliseconds: Int? = nil) {
        self.delayMilliseconds = delayMilliseconds
        self.afterProcessing = afterProcessing
        self.operation = operation
        self.skip = skip
        self.count = count
        self.faultCode = faultCode
        self.httpStatus = httpStatus
    }
}

struct FaultPlan: Sendable {
    private(set) var rules: [FaultRule] = []

    mutating func add(_ rule: FaultRule) { rules.append(rule) }
    mutating func clear() { rules.removeAll() }

    /// The rule that fails this call, if any; counts the call against the matching rule.
    mutating func next(for operation: String) -> FaultRule? {
        guard let position = rules.firstIndex(where: { $0.operation == nil || $0.operation == operation }) else { return nil }
        if rules[position].skip > 0 {
            rules[position].skip -= 1
            return nil
        }
        let rule = rules[position]
        rules[position].count -= 1
        if rules[position].count <= 0 { rules.remove(at: position) }
        return rule
    }
}
