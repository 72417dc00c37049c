import CollectionsDomain

/// A one-day camt.053 statement on the example bank account (mappings/bank/northern-example-bank.yaml)
/// of payments in, its balances adding up: what the bank would send the demo's lessor this morning.
struct DemoStatement {
    let date: String
    /// Amount, remittance, the bank's reference, the payer's name.
    let entries: [(Money, String, String, String)]

    var text: String {
        let closing = Money(minorUnits: entries.reduce(0) { $0 + $1.0.minorUnits }, currency: .gbp)
        var text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
            <GrpHdr><MsgId>DEMO-\(date)</MsgId><CreDtTm>\(date)T06:00:00</CreDtTm></GrpHdr>
            <Stmt><Id>DEMO-\(date)</Id><ElctrncSeqNb>1</ElctrncSeqNb><Acct><Id><IBAN>GB33BUKB20201555555555</IBAN></Id><Ccy>GBP</Ccy></Acct>
            \(balance("OPBD", Money(minorUnits: 0, currency: .gbp)))
            \(balance("CLBD", closing))

            """
        for (amount, remittance, reference, payer) in entries {
            text += """
                <Ntry><Amt Ccy="GBP">\(amount.decimalString)</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>\
                <BookgDt><Dt>\(date)</Dt></BookgDt><ValDt><Dt>\(date)</Dt></ValDt><AcctSvcrRef>\(reference)</AcctSvcrRef>\
                <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>\(payer)</Nm></Dbtr></RltdPties><RmtInf><Ustrd>\(remittance)</Ustrd></RmtInf>\
                </TxDtls></NtryDtls></Ntry>

                """
        }
        return text + "</Stmt></BkToCstmrStmt></Document>\n"
    }

    private func balance(_ code: String, _ amount: Money) -> String {
        "<Bal><Tp><CdOrPrtry><Cd>\(code)</Cd></CdOrPrtry></Tp><Amt Ccy=\"GBP\">\(amount.decimalString)</Amt>"
            + "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>\(date)</Dt></Dt></Bal>"
    }
}
