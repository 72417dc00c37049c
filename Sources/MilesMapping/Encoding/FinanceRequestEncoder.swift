import CollectionsDomain
import MilesSOAP

/// Writes the FinanceService requests with the element names of `mappings/contract.yaml`.
extension ContractMapping {
    public func writePostWriteOff(_ request: WriteOffRequest, reasonCode: String, into writer: inout XMLWriter) throws {
        let fields = postWriteOff.requestFields
        writer.open("m:" + postWriteOff.requestElement)
        try writer.element(path: fields["contractNumber"], request.contractNumber)
        try writer.elements(path: fields["invoiceNumbers"], request.invoiceNumbers)
        try writer.element(path: fields["amount"], request.amount.decimalString)
        try writer.element(path: fields["currency"], request.amount.currency.code)
        try writer.element(path: fields["reasonCode"], reasonCode)
        try writer.element(path: fields["requestedBy"], request.requestedBy)
        try writer.elements(path: fields["approvedBy"], request.approvals.map(\.approver))
        try writer.element(path: fields["clientReference"], request.clientReference)
        writer.close("m:" + postWriteOff.requestElement)
    }

    public func writeFindWriteOffs(clientReference: String, into writer: inout XMLWriter) throws {
        writer.open("m:" + findWriteOffs.requestElement)
        try writer.element(path: findWriteOffs.requestFields["clientReference"], clientReference)
        writer.close("m:" + findWriteOffs.requestElement)
    }
}
