/// Bounds on an untrusted document, so that no answer from the network can exhaust memory.
public struct XMLLimits: Sendable {
    /// Deepest element nesting accepted; a SOAP answer from MILES is about 8 deep.
    public var maxDepth: Int
    /// Largest text inside one element, in bytes.
    public var maxTextBytes: Int
    /// Largest whole document, in bytes; a page of contracts is a few megabytes.
    public var maxDocumentBytes: Int

    public init(maxDepth: Int = 64, maxTextBytes: Int = 1 << 20, maxDocumentBytes: Int = 512 << 20) {
        self.maxDepth = maxDepth
        self.maxTextBytes = maxTextBytes
        self.maxDocumentBytes = maxDocumentBytes
    }

    public static let `default` = XMLLimits()
}
