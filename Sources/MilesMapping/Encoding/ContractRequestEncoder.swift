import CollectionsDomain
import MilesSOAP

/// Writes the ContractService requests with the element names of `mappings/contract.yaml`,
/// in the order the MILES schema declares them.
extension ContractMapping {
    public func writeFindContracts(changedSince: Timestamp?, cursor: String?, pageSize: Int,
                                   into writer: inout XMLWriter) throws {
        let operation = try mapped(.findContracts)
        writer.open("m:" + operation.requestElement)
        try writer.element(path: operation.requestFields["changedSince"], changedSince?.description)
        try writer.element(path: operation.requestFields["cursor"], cursor)
        try writer.element(path: operation.requestFields["pageSize"], String(pageSize))
        writer.close("m:" + operation.requestElement)
    }

    public func writeGetContract(contractNumber: String, into writer: inout XMLWriter) throws {
        let operation = try mapped(.getContract)
        writer.open("m:" + operation.requestElement)
        try writer.element(path: operation.requestFields["contractNumber"], contractNumber)
        writer.close("m:" + operation.requestElement)
    }
}

extension XMLWriter {
    /// Writes `value` at a mapped element path (`A/B` becomes `<m:A><m:B>value</m:B></m:A>`); nothing
    /// when the value or the path is absent.
    mutating func element(path: [String]?, _ value: String?) throws {
        guard let path, let value, let last = path.last else { return }
        for name in path.dropLast() { open("m:" + name) }
        try element("m:" + last, value)
        for name in path.dropLast().reversed() { close("m:" + name) }
    }

    /// Writes each value at the last element of `path`, inside its containers once
    /// (`InvoiceNumbers/InvoiceNumber` holds every invoice number).
    mutating func elements(path: [String]?, _ values: [String]) throws {
        guard let path, let last = path.last else { return }
        for name in path.dropLast() { open("m:" + name) }
        for value in values { try element("m:" + last, value) }
        for name in path.dropLast().reversed() { close("m:" + name) }
    }
}

extension ContractMapping {
    public func writeUpdateContractStatus(_ change: StatusChange, statusCode: String, into writer: inout XMLWriter) throws {
        let operation = try mapped(.updateContractStatus)
        let fields = operation.requestFields
        writer.open("m:" + operation.requestElement)
        try writer.element(path: fields["contractNumber"], change.contractNumber)
        try writer.element(path: fields["expectedVersion"], String(change.expectedVersion))
        try writer.element(path: fields["status"], statusCode)
        try writer.element(path: fields["reasonCode"], change.reasonCode)
        try writer.element(path: fields["effectiveDate"], change.effectiveDate.description)
        try writer.element(path: fields["courtOrderReference"], change.courtOrderReference)
        try writer.element(path: fields["clientReference"], change.clientReference)
        writer.close("m:" + operation.requestElement)
    }
}

extension ContractMapping {
    public func writeAddContractNote(_ note: ContractNote, into writer: inout XMLWriter) throws {
        let operation = try mapped(.addContractNote)
        let fields = operation.requestFields
        writer.open("m:" + operation.requestElement)
        try writer.element(path: fields["contractNumber"], note.contractNumber)
        try writer.element(path: fields["category"], note.category)
        try writer.element(path: fields["text"], note.text)
        try writer.element(path: fields["source"], note.source)
        try writer.element(path: fields["clientReference"], note.clientReference)
        writer.close("m:" + operation.requestElement)
    }

    /// `frequencyCode` is MILES's code for the plan's frequency; each instalment is written inside
    /// its own instalment element (`instalments` in the mapping), with its due date and amount.
    public func writeCreatePaymentArrangement(_ proposal: ArrangementProposal, frequencyCode: String, into writer: inout XMLWriter) throws {
        let operation = try mapped(.createPaymentArrangement)
        let fields = operation.requestFields
        let plan = proposal.plan
        writer.open("m:" + operation.requestElement)
        try writer.element(path: fields["contractNumber"], plan.contractNumber)
        try writer.element(path: fields["frequency"], frequencyCode)
        try writer.element(path: fields["settlement"], plan.isSettlement ? "true" : "false")
        try writer.element(path: fields["currency"], plan.currency.code)
        try writer.element(path: fields["total"], plan.total.decimalString)
        if let record = fields["instalments"], let last = record.last, let dueDate = fields["instalmentDueDate"], let amount = fields["instalmentAmount"] {
            for name in record.dropLast() { writer.open("m:" + name) }
            for instalment in plan.instalments {
                writer.open("m:" + last)
                try writer.element(path: Array(dueDate.dropFirst(record.count)), instalment.dueDate.description)
                try writer.element(path: Array(amount.dropFirst(record.count)), instalment.amount.decimalString)
                writer.close("m:" + last)
            }
            for name in record.dropLast().reversed() { writer.close("m:" + name) }
        }
        try writer.element(path: fields["requestedBy"], proposal.proposedBy)
        try writer.elements(path: fields["approvedBy"], proposal.approvals.map(\.approver))
        try writer.element(path: fields["clientReference"], proposal.clientReference)
        writer.close("m:" + operation.requestElement)
    }

    public func writeCancelPaymentArrangement(_ proposal: ArrangementProposal, reason: String, into writer: inout XMLWriter) throws {
        let operation = try mapped(.cancelPaymentArrangement)
        let fields = operation.requestFields
        writer.open("m:" + operation.requestElement)
        try writer.element(path: fields["arrangementId"], proposal.milesArrangementId)
        try writer.element(path: fields["reason"], reason)
        try writer.element(path: fields["requestedBy"], proposal.cancelRequestedBy ?? proposal.proposedBy)
        try writer.element(path: fields["clientReference"], OutboxKind.cancelPaymentArrangement.clientReference(forSubject: proposal.id))
        writer.close("m:" + operation.requestElement)
    }

    public func writeRequestCustomerLetter(_ letter: LetterRequest, letterTypeCode: String, into writer: inout XMLWriter) throws {
        let operation = try mapped(.requestCustomerLetter)
        let fields = operation.requestFields
        writer.open("m:" + operation.requestElement)
        try writer.element(path: fields["contractNumber"], letter.contractNumber)
        try writer.element(path: fields["letterType"], letterTypeCode)
        try writer.element(path: fields["requestedBy"], letter.requestedBy)
        try writer.element(path: fields["clientReference"], letter.clientReference)
        writer.close("m:" + operation.requestElement)
    }
}

extension ContractMapping {
    public func writeUpdateContactDetails(_ change: ContactChange, into writer: inout XMLWriter) throws {
        let operation = try mapped(.updateContactDetails)
        let fields = operation.requestFields
        writer.open("m:" + operation.requestElement)
        try writer.elements(grouped: [
            (fields["partnerId"], change.partnerId),
            (fields["expectedVersion"], String(change.expectedVersion)),
            (fields["addressLine1"], change.address?.line1),
            (fields["addressLine2"], change.address?.line2),
            (fields["town"], change.address?.town),
            (fields["postcode"], change.address?.postcode),
            (fields["country"], change.address?.country),
            (fields["phone"], change.phone),
            (fields["email"], change.email),
            (fields["source"], change.source),
            (fields["clientReference"], change.clientReference),
        ])
        writer.close("m:" + operation.requestElement)
    }
}

extension XMLWriter {
    /// Writes values at mapped paths in order, sharing containers between neighbours: `Address/Line1`
    /// then `Address/Town` become one `<m:Address>` holding both. Absent values and paths are skipped.
    mutating func elements(grouped values: [([String]?, String?)]) throws {
        var open: [String] = []
        for case let (path?, value?) in values {
            let containers = Array(path.dropLast())
            var shared = 0
            while shared < open.count, shared < containers.count, open[shared] == containers[shared] { shared += 1 }
            for name in open[shared...].reversed() { close("m:" + name) }
            open.removeLast(open.count - shared)
            for name in containers[shared...] {
                self.open("m:" + name)
                open.append(name)
            }
            try element("m:" + path[path.count - 1], value)
        }
        for name in open.reversed() { close("m:" + name) }
    }
}
