import CollectionsDomain
import Foundation

/// A day's statement as the lessor's bank would send it: payments in on one account, the balances
/// adding up, written as camt.053 (.001.02) or MT940. The tests, the demo and the benchmark write
/// theirs with it; a statement of a million payments is written piece by piece, never held whole.
///
/// ```swift
/// let statement = MockBankStatement(statementId: "S1", date: "2026-12-01",
///                                   payments: [.init(minorUnits: 12_345, remittance: "C00000001", reference: "R1")])
/// try statement.text(.camt053).write(toFile: path, atomically: true, encoding: .utf8)
/// ```
public struct MockBankStatement: Sendable {
    public struct Payment: Sendable {
        public var minorUnits: Int64
        public var remittance: String
        /// The bank's own reference (camt `AcctSvcrRef`, MT940 after `//`).
        public var reference: String
        /// The payer's name, when the bank gives it.
        public var payer: String?

        public init(minorUnits: Int64, remittance: String, reference: String, payer: String? = nil) {
            self.minorUnits = minorUnits
            self.remittance = remittance
            self.reference = reference
            self.payer = payer
        }
    }

    public var statementId: String
    public var sequence: Int
    /// Booking and value date of every payment, like 2026-12-01.
    public var date: String
    public var account: String
    public var currency: String
    public var opening: Int64
    public let count: Int
    private let payment: @Sendable (Int) -> Payment

    /// `count` payments, the `index`th (from 0) made by `payment`.
    public init(statementId: String, sequence: Int = 1, date: String, account: String = "GB33BUKB20201555555555", currency: String = "GBP",
                opening: Int64 = 0, count: Int, payment: @escaping @Sendable (Int) -> Payment) {
        self.statementId = statementId
        self.sequence = sequence
        self.date = date
        self.account = account
        self.currency = currency
        self.opening = opening
        self.count = count
        self.payment = payment
    }

    public init(statementId: String, sequence: Int = 1, date: String, account: String = "GB33BUKB20201555555555", currency: String = "GBP",
                opening: Int64 = 0, payments: [Payment]) {
        self.init(statementId: statementId, sequence: sequence, date: date, account: account, currency: currency, opening: opening,
                  count: payments.count, payment: { payments[$0] })
    }

    public func text(_ format: BankStatementFormat) -> String {
        var text = ""
        write(format) { text += $0 }
        return text
    }

    /// Writes the statement to `path` in pieces of about 1 MB.
    public func write(_ format: BankStatementFormat, toFile path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var piece = ""
        var failure: (any Error)?
        write(format) { text in
            piece += text
            guard failure == nil, piece.utf8.count > 1 << 20 else { return }
            do { try handle.write(contentsOf: Data(piece.utf8)) } catch { failure = error }
            piece = ""
        }
        if let failure { throw failure }
        try handle.write(contentsOf: Data(piece.utf8))
    }

    /// The statement's text in file order, a payment at a time.
    public func write(_ format: BankStatementFormat, to sink: (String) -> Void) {
        var closing = opening
        for index in 0..<count { closing += payment(index).minorUnits }
        switch format {
        case .camt053:
            sink("""
                <?xml version="1.0" encoding="UTF-8"?>
                <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>\(statementId)</MsgId>
                <CreDtTm>\(date)T06:00:00</CreDtTm></GrpHdr><Stmt><Id>\(statementId)</Id><ElctrncSeqNb>\(sequence)</ElctrncSeqNb>
                <Acct><Id><IBAN>\(account)</IBAN></Id><Ccy>\(currency)</Ccy></Acct>
                \(camtBalance("OPBD", opening))
                \(camtBalance("CLBD", closing))

                """)
            for index in 0..<count {
                let payment = payment(index)
                let payer = payment.payer.map { "<RltdPties><Dbtr><Nm>\($0)</Nm></Dbtr></RltdPties>" } ?? ""
                sink("<Ntry><Amt Ccy=\"\(currency)\">\(amount(payment.minorUnits))</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
                     + "<BookgDt><Dt>\(date)</Dt></BookgDt><ValDt><Dt>\(date)</Dt></ValDt><AcctSvcrRef>\(payment.reference)</AcctSvcrRef>"
                     + "<NtryDtls><TxDtls>\(payer)<RmtInf><Ustrd>\(payment.remittance)</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n")
            }
            sink("</Stmt></BkToCstmrStmt></Document>\n")
        case .mt940:
            let day = date.replacingOccurrences(of: "-", with: "")
            let (yymmdd, mmdd) = (String(day.dropFirst(2)), String(day.dropFirst(4)))
            sink(":20:\(statementId)\r\n:25:\(account)\r\n:28C:\(sequence)/1\r\n:60F:C\(yymmdd)\(currency)\(amount(opening, separator: ","))\r\n")
            for index in 0..<count {
                let payment = payment(index)
                sink(":61:\(yymmdd)\(mmdd)C\(amount(payment.minorUnits, separator: ","))NTRFNONREF//\(payment.reference)\r\n"
                     + ":86:" + (payment.payer.map { "/NAME/\($0)" } ?? "") + "/REMI/\(payment.remittance)\r\n")
            }
            sink(":62F:C\(yymmdd)\(currency)\(amount(closing, separator: ","))\r\n")
        }
    }

    private func camtBalance(_ code: String, _ minorUnits: Int64) -> String {
        "<Bal><Tp><CdOrPrtry><Cd>\(code)</Cd></CdOrPrtry></Tp><Amt Ccy=\"\(currency)\">\(amount(minorUnits))</Amt>"
            + "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>\(date)</Dt></Dt></Bal>"
    }

    private func amount(_ minorUnits: Int64, separator: String = ".") -> String {
        "\(minorUnits / 100)\(separator)" + (minorUnits % 100 < 10 ? "0" : "") + "\(minorUnits % 100)"
    }
}
