/// A SOAP 1.1 fault from MILES, with the machine-readable code MILES puts in `detail`.
public struct SOAPFault: Error, Equatable, Sendable, CustomStringConvertible {
    /// `soapenv:Client` or `soapenv:Server`.
    public var faultCode: String
    public var faultString: String
    /// MILES's code, e.g. `VERSION_CONFLICT`; `nil` when the fault carried no detail.
    public var code: String?

    public init(faultCode: String, faultString: String, code: String?) {
        self.faultCode = faultCode
        self.faultString = faultString
        self.code = code
    }

    public var description: String { "MILES fault \(code ?? faultCode): \(faultString)" }
}
