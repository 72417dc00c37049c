import CLibXML2

/// An element or attribute name interned in the parser's dictionary.
///
/// libxml2 hands every name to the SAX callbacks as a pointer into one dictionary, so a
/// handler that interned the names it cares about up front compares pointers, not strings.
@frozen
public struct XMLName: Hashable {
    // Inlinable so that a decoder in another module compares two pointers, not calls a function.
    @usableFromInline let pointer: UnsafePointer<xmlChar>

    @usableFromInline
    init(_ pointer: UnsafePointer<xmlChar>) {
        self.pointer = pointer
    }

    /// The name as text, for messages; not for the hot path.
    public var string: String { String(cString: pointer) }

    @inlinable
    public static func == (lhs: XMLName, rhs: XMLName) -> Bool { lhs.pointer == rhs.pointer }
    public func hash(into hasher: inout Hasher) { hasher.combine(pointer) }
}

/// The attributes of one start tag, valid only during the `startElement` call.
public struct XMLAttributes {
    let base: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
    let count: Int

    /// The value of the attribute with this local name, whatever its namespace.
    public func value(localName: String) -> String? {
        guard let base else { return nil }
        for index in 0..<count {
            let entry = base + index * 5
            guard let name = entry[0], String(cString: name) == localName,
                  let start = entry[3], let end = entry[4] else { continue }
            let length = end - start
            return String(decoding: UnsafeBufferPointer(start: start, count: length), as: UTF8.self)
        }
        return nil
    }
}

/// Receives the events of a streaming parse. Throwing stops the parse; the error is what
/// `XMLStreamReader` throws.
public protocol XMLEventHandler: AnyObject {
    func startElement(_ name: XMLName, attributes: XMLAttributes) throws
    /// Text inside the current element, possibly in several pieces.
    func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws
    func endElement(_ name: XMLName) throws
}
