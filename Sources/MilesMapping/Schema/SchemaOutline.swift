import Foundation
import MilesSOAP

/// The element structure of an XSD: which elements each complex type contains, and of what type.
/// Enough to check that every path a mapping names exists in the MILES contract.
public final class SchemaOutline {
    /// A named or anonymous complex type: child element name to the child's type.
    final class ComplexType {
        var children: [String: TypeReference] = [:]
        /// Child element names in schema (sequence) order.
        var order: [String] = []

        func add(_ name: String, _ type: TypeReference) {
            if children[name] == nil { order.append(name) }
            children[name] = type
        }
    }

    enum TypeReference {
        case named(String)
        case anonymous(ComplexType)
        case simple
    }

    private(set) var globalElements: [String: TypeReference] = [:]
    private(set) var complexTypes: [String: ComplexType] = [:]

    /// Reads the XSD at `path` with the hardened reader.
    public init(xsdPath: String) throws {
        guard let bytes = FileManager.default.contents(atPath: xsdPath).map({ [UInt8]($0) }) else {
            throw MappingProblem(file: xsdPath, line: 0, kind: .pathNotInSchema, message: "cannot read the schema")
        }
        let reader = XMLStreamReader()
        let builder = OutlineBuilder(outline: self)
        try reader.parse(bytes, handler: builder)
    }

    /// Whether `path` (element names below `element`) exists; the type at its end if so.
    func resolve(path: [String], fromType type: TypeReference) -> TypeReference? {
        var current = type
        for name in path {
            guard let complex = complexType(of: current), let next = complex.children[name] else { return nil }
            current = next
        }
        return current
    }

    func globalElement(_ name: String) -> TypeReference? { globalElements[name] }

    /// For every element with element children below `type` (itself as ""), its children in schema order,
    /// by path (`Contracts/Contract/Customer`).
    func childOrders(below type: TypeReference) -> [String: [String]] {
        var orders: [String: [String]] = [:]
        func walk(_ reference: TypeReference, path: String, depth: Int) {
            guard depth < 32, let complex = complexType(of: reference) else { return }
            orders[path] = complex.order
            for name in complex.order {
                if let child = complex.children[name] { walk(child, path: path.isEmpty ? name : path + "/" + name, depth: depth + 1) }
            }
        }
        walk(type, path: "", depth: 0)
        return orders
    }

    private func complexType(of reference: TypeReference) -> ComplexType? {
        switch reference {
        case let .named(name): return complexTypes[name]
        case let .anonymous(type): return type
        case .simple: return nil
        }
    }

    /// Walks the XSD: elements inside a complex type become its children; elements outside any are global.
    private final class OutlineBuilder: XMLEventHandler {
        private enum Frame {
            case element(name: String, parent: ComplexType?)
            case complexType(ComplexType)
            case other
        }

        let outline: SchemaOutline
        private var stack: [Frame] = []

        init(outline: SchemaOutline) {
            self.outline = outline
        }

        private var enclosingType: ComplexType? {
            for frame in stack.reversed() {
                if case let .complexType(type) = frame { return type }
            }
            return nil
        }

        func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
            switch name.string {
            case "element":
                let elementName = attributes.value(localName: "name")
                    ?? attributes.value(localName: "ref").map(SchemaOutline.localPart) ?? ""
                let type: TypeReference
                if let typeName = attributes.value(localName: "type") {
                    type = typeName.hasPrefix("xs:") || typeName.hasPrefix("xsd:") ? .simple : .named(SchemaOutline.localPart(typeName))
                } else if let reference = attributes.value(localName: "ref") {
                    type = outline.globalElements[SchemaOutline.localPart(reference)] ?? .simple
                } else {
                    type = .simple
                }
                let parent = enclosingType
                if let parent {
                    parent.add(elementName, type)
                } else {
                    outline.globalElements[elementName] = type
                }
                stack.append(.element(name: elementName, parent: parent))
            case "complexType":
                let type = ComplexType()
                if let typeName = attributes.value(localName: "name") {
                    outline.complexTypes[typeName] = type
                } else if case let .element(elementName, parent)? = stack.last {
                    if let parent {
                        parent.add(elementName, .anonymous(type))
                    } else {
                        outline.globalElements[elementName] = .anonymous(type)
                    }
                }
                stack.append(.complexType(type))
            default:
                stack.append(.other)
            }
        }

        func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws {}

        func endElement(_ name: XMLName) throws {
            stack.removeLast()
        }
    }

    static func localPart(_ qualified: String) -> String {
        qualified.split(separator: ":").last.map(String.init) ?? qualified
    }
}
