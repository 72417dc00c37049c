import CollectionsDomain
import MilesSOAP

/// The contract mapping compiled into element trees, one per operation that returns contracts.
/// Built once at start-up; each parse binds it to the reader's interned names (a few dozen
/// look-ups) and then matches elements by pointer.
public struct CompiledContractDecoder: Sendable {
    enum Role: Sendable, Equatable {
        case container
        case asOf, totalCount, nextCursor
        case contractRecord
        case invoiceRecord
        case field(ModelField)
    }

    struct TreeNode: Sendable {
        var name: String
        var role: Role
        var children: [Int]
        /// From the response element, e.g. `Contracts/Contract/Customer`.
        var path: String
        /// The element's children in schema order; nil where the schema says nothing (no check).
        var schemaChildren: [String]?
    }

    /// Node 0 is the response element; nil when the operation is not mapped.
    let findContractsTree: [TreeNode]?
    let getContractTree: [TreeNode]?
    let statusCodes: StatusCodeMapping
    let findContractsValidation: SchemaValidation
    let getContractValidation: SchemaValidation
    let elementNames: ElementNameMatching
    /// Model field to the path MILES uses, for error messages.
    let paths: [ModelField: String]
    /// Whether answers carry the customer's version. When they do not, every customer's version is 0:
    /// contact changes, which alone send it back, are then disabled.
    let mapsCustomerVersion: Bool

    init(contract: ContractMapping, statusCodes: StatusCodeMapping) {
        self.statusCodes = statusCodes
        var paths: [ModelField: String] = [:]
        for (field, path) in contract.contractFields { paths[field] = path.joined(separator: "/") }
        for (field, path) in contract.invoiceFields { paths[field] = path.joined(separator: "/") }
        self.paths = paths
        mapsCustomerVersion = contract.contractFields[.customerVersion] != nil
        elementNames = contract.elementNames
        let find = contract.operations[.findContracts]
        let get = contract.operations[.getContract]
        findContractsTree = find.map { Self.tree(for: $0, contract: contract) }
        findContractsValidation = find?.validation ?? .strict
        getContractTree = get.map { Self.tree(for: $0, contract: contract) }
        getContractValidation = get?.validation ?? .strict
    }

    private static func tree(for operation: OperationMapping, contract: ContractMapping) -> [TreeNode] {
        var nodes = [TreeNode(name: operation.responseElement, role: .container, children: [], path: "",
                              schemaChildren: operation.schemaChildOrder[""])]
        func insert(_ path: [String], role: Role, below start: Int) -> Int {
            var current = start
            for (offset, name) in path.enumerated() {
                let isLast = offset == path.count - 1
                if let existing = nodes[current].children.first(where: { nodes[$0].name == name }) {
                    if isLast { nodes[existing].role = role }
                    current = existing
                } else {
                    let path = nodes[current].path.isEmpty ? name : nodes[current].path + "/" + name
                    nodes.append(TreeNode(name: name, role: isLast ? role : .container, children: [], path: path,
                                          schemaChildren: operation.schemaChildOrder[path]))
                    nodes[current].children.append(nodes.count - 1)
                    current = nodes.count - 1
                }
            }
            return current
        }
        // Fields in the model's order (its declaration follows MILES's), not the dictionaries' order, which
        // changes from one process to the next: the decoder's first guess at each next element depends on it.
        let pageRoles: [(name: String, role: Role)] = [("asOf", .asOf), ("totalCount", .totalCount), ("nextCursor", .nextCursor)]
        for (name, role) in pageRoles {
            if let path = operation.responseFields[name] { _ = insert(path, role: role, below: 0) }
        }
        let record = insert(operation.recordsPath, role: .contractRecord, below: 0)
        for field in ModelField.allCases where field != .invoices {
            if let path = contract.contractFields[field] { _ = insert(path, role: .field(field), below: record) }
        }
        if let invoicePath = contract.contractFields[.invoices] {
            let invoice = insert(invoicePath, role: .invoiceRecord, below: record)
            for field in ModelField.allCases {
                if let path = contract.invoiceFields[field] { _ = insert(path, role: .field(field), below: invoice) }
            }
        }
        return nodes
    }

    /// A decoder for one FindContracts answer, bound to `reader`'s names.
    /// `nextCursorRead` is told the next page's cursor as soon as the answer names it; `pageSize`, the
    /// number of contracts asked for, sizes the page's array once.
    public func findContractsDecoder(reader: XMLStreamReader, pageSize: Int = 0,
                                     nextCursorRead: (@Sendable (String) -> Void)? = nil) -> ContractPageDecoder {
        ContractPageDecoder(operation: .findContracts, tree: findContractsTree, reader: reader, compiled: self, isPaged: true,
                            validation: findContractsValidation, expectedContracts: pageSize, nextCursorRead: nextCursorRead)
    }

    /// A decoder for one GetContract answer, bound to `reader`'s names.
    public func getContractDecoder(reader: XMLStreamReader) -> ContractPageDecoder {
        ContractPageDecoder(operation: .getContract, tree: getContractTree, reader: reader, compiled: self, isPaged: false,
                            validation: getContractValidation)
    }
}
