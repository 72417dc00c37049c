import CollectionsDomain
import Foundation
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

/// The bank allocation requests, with the same mapping.
extension ContractMapping {
    /// Each line is written inside its own line element (`lines` in the mapping), with its invoice and amount;
    /// the currency is the payment's, the one every line is in. `payerName` is written where the mapping maps it.
    public func writeAllocatePayment(_ allocation: PaymentAllocation, payerName: String?, into writer: inout XMLWriter) throws {
        let operation = try mapped(.allocatePayment)
        let fields = operation.requestFields
        writer.open("m:" + operation.requestElement)
        try writer.element(path: fields["contractNumber"], allocation.contractNumber)
        if let record = fields["lines"], let last = record.last, let invoice = fields["lineInvoiceNumber"], let amount = fields["lineAmount"] {
            for name in record.dropLast() { writer.open("m:" + name) }
            for line in allocation.lines {
                writer.open("m:" + last)
                try writer.element(path: Array(invoice.dropFirst(record.count)), line.invoiceNumber)
                try writer.element(path: Array(amount.dropFirst(record.count)), line.amount.decimalString)
                writer.close("m:" + last)
            }
            for name in record.dropLast().reversed() { writer.close("m:" + name) }
        }
        try writer.element(path: fields["currency"], allocation.suspense.currency.code)
        try writer.element(path: fields["valueDate"], allocation.valueDate.description)
        try writer.element(path: fields["account"], allocation.account)
        try writer.element(path: fields["bankReference"], allocation.bankReference)
        try writer.element(path: fields["payerName"], Self.payerName(payerName))
        try writer.element(path: fields["clientReference"], allocation.clientReference)
        writer.close("m:" + operation.requestElement)
    }

    /// `reasonCode` is the bank's return reason, when it gave one.
    public func writeReverseAllocation(_ allocation: PaymentAllocation, reasonCode: String?, into writer: inout XMLWriter) throws {
        let operation = try mapped(.reverseAllocation)
        let fields = operation.requestFields
        writer.open("m:" + operation.requestElement)
        try writer.element(path: fields["allocationReference"], allocation.clientReference)
        try writer.element(path: fields["reasonCode"], Self.returnReasonCode(reasonCode))
        try writer.element(path: fields["clientReference"], allocation.reversalReference)
        writer.close("m:" + operation.requestElement)
    }

    /// The payer's name as the contract's `NonEmptyText` takes it: control characters dropped, spaces
    /// trimmed, at most 512 characters; none when nothing is left. The bank's text is not checked
    /// that far, and an allocation MILES refused for its optional name would never reach it.
    static func payerName(_ name: String?) -> String? {
        guard let name else { return nil }
        let cleaned = String(String.UnicodeScalarView(name.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }))
            .trimmingCharacters(in: .whitespaces)
        return cleaned.isEmpty ? nil : String(cleaned.prefix(512))
    }

    /// The bank's return reason when it is a code the contract's `Code` takes (1 to 32 characters, no
    /// spaces or control characters); free text is not sent, as MILES takes a reversal without a reason
    /// and would refuse one with an invalid reason, leaving the money allocated.
    static func returnReasonCode(_ reason: String?) -> String? {
        guard let reason, (1...32).contains(reason.count),
              !reason.unicodeScalars.contains(where: { CharacterSet.whitespacesAndNewlines.contains($0) || CharacterSet.controlCharacters.contains($0) })
        else { return nil }
        return reason
    }
}
