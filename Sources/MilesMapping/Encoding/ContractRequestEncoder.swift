import CollectionsDomain
import MilesSOAP

/// Writes the ContractService requests with the element names of `mappings/contract.yaml`,
/// in the order the MILES schema declares them.
extension ContractMapping {
    public func writeFindContracts(changedSince: Timestamp?, cursor: String?, pageSize: Int,
                                   into writer: inout XMLWriter) throws {
        let operation = findContracts
        writer.open("m:" + operation.requestElement)
        if let changedSince, let name = operation.requestFields["changedSince"] {
            try writer.element("m:" + name, changedSince.description)
        }
        if let cursor, let name = operation.requestFields["cursor"] {
            try writer.element("m:" + name, cursor)
        }
        if let name = operation.requestFields["pageSize"] {
            try writer.element("m:" + name, String(pageSize))
        }
        writer.close("m:" + operation.requestElement)
    }

    public func writeGetContract(contractNumber: String, into writer: inout XMLWriter) throws {
        let operation = getContract
        writer.open("m:" + operation.requestElement)
        if let name = operation.requestFields["contractNumber"] {
            try writer.element("m:" + name, contractNumber)
        }
        writer.close("m:" + operation.requestElement)
    }
}
