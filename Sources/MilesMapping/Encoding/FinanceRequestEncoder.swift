import CollectionsDomain
import MilesSOAP

/// Writes the FinanceService requests with the element names of `mappings/contract.yaml`.
extension ContractMapping {
    public func writePostWriteOff(_ request: WriteOffRequest, reasonCode: String, into writer: inout XMLWriter) throws {
        let operation = try mapped(.postWriteOff)
        let fields = operation.requestFields
        writer.open("m:" + operation.requestElement)
        try writer.element(path: fields["contractNumber"], request.contractNumber)
        try writer.elements(path: fields["invoiceNumbers"], request.invoiceNumbers)
        try writer.element(path: fields["amount"], request.amount.decimalString)
        try writer.element(path: fields["currency"], request.amount.currency.code)
        try writer.element(path: fields["reasonCode"], reasonCode)
        try writer.element(path: fields["requestedBy"], request.requestedBy)
        try writer.elements(path: fields["approvedBy"], request.approvals.map(\.approver))
        try writer.element(path: fields["clientReference"], request.clientReference)
        writer.close("m:" + operation.requestElement)
    }

    public func writeFindWriteOffs(clientReference: String, into writer: inout XMLWriter) throws {
        let operation = try mapped(.findWriteOffs)
        writer.open("m:" + operation.requestElement)
        try writer.element(path: operation.requestFields["clientReference"], clientReference)
        writer.close("m:" + operation.requestElement)
    }
}

/// The credit and reversal requests, with the same mapping.
extension ContractMapping {
    public func writeRaiseCreditNote(_ credit: CreditNoteRequest, into writer: inout XMLWriter) throws {
        let operation = try mapped(.raiseCreditNote)
        let fields = operation.requestFields
        writer.open("m:" + operation.requestElement)
        try writer.element(path: fields["contractNumber"], credit.contractNumber)
        try writer.elements(path: fields["invoiceNumbers"], credit.invoiceNumbers)
        try writer.element(path: fields["amount"], credit.amount.decimalString)
        try writer.element(path: fields["currency"], credit.amount.currency.code)
        try writer.element(path: fields["reasonCode"], credit.reasonCode)
        try writer.element(path: fields["requestedBy"], credit.trail.requestedBy)
        try writer.elements(path: fields["approvedBy"], credit.trail.approvals.map(\.approver))
        try writer.element(path: fields["clientReference"], credit.clientReference)
        writer.close("m:" + operation.requestElement)
    }

    public func writeFindCreditNotes(clientReference: String, into writer: inout XMLWriter) throws {
        let operation = try mapped(.findCreditNotes)
        writer.open("m:" + operation.requestElement)
        try writer.element(path: operation.requestFields["clientReference"], clientReference)
        writer.close("m:" + operation.requestElement)
    }

    public func writeReverseWriteOff(_ reversal: WriteOffReversal, into writer: inout XMLWriter) throws {
        let operation = try mapped(.reverseWriteOff)
        let fields = operation.requestFields
        writer.open("m:" + operation.requestElement)
        try writer.element(path: fields["writeOffId"], reversal.milesWriteOffId)
        try writer.element(path: fields["amount"], reversal.amount.decimalString)
        try writer.element(path: fields["currency"], reversal.amount.currency.code)
        try writer.element(path: fields["reasonCode"], reversal.reasonCode)
        try writer.element(path: fields["requestedBy"], reversal.trail.requestedBy)
        try writer.elements(path: fields["approvedBy"], reversal.trail.approvals.map(\.approver))
        try writer.element(path: fields["clientReference"], reversal.clientReference)
        writer.close("m:" + operation.requestElement)
    }
}
