/// A contract in a MILES answer could not be read: which contract, which element, what it held.
public struct ContractDecodingError: Error, Sendable, CustomStringConvertible {
    public let contractNumber: String?
    public let elementPath: String
    public let value: String?
    public let problem: String

    public var description: String {
        let subject = contractNumber.map { "contract \($0)" } ?? "a contract"
        let held = value.map { " '\($0)'" } ?? ""
        return "\(subject): element \(elementPath)\(held): \(problem)"
    }
}
