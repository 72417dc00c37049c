import CollectionsDomain
import MilesSOAP

/// camt.053 read through the hardened streaming reader (no DTD, no entities, bounded depth, text and
/// size), in the pieces the file is read in. What the handler finds in a piece is handed to the
/// visitor after it, so a visitor's own errors reach the caller as they were thrown.
final class CamtStatementParser {
    private let reader: XMLStreamReader
    private let handler: CamtStatementHandler
    /// The first bytes, held until the root start tag is complete and its namespace known.
    private var head: [UInt8] = []
    private var namespaceKnown = false

    init(limits: BankStatementLimits) {
        reader = XMLStreamReader(limits: XMLLimits(maxDepth: limits.maxXMLDepth, maxTextBytes: limits.maxTextBytes,
                                                   maxDocumentBytes: limits.maxFileBytes))
        handler = CamtStatementHandler(reader: reader, limits: limits)
    }

    func feed<V: BankStatementVisitor>(_ chunk: UnsafeBufferPointer<UInt8>, into visitor: inout V) throws {
        guard namespaceKnown else {
            head.append(contentsOf: chunk)
            let sniff = CamtNamespace.sniff(head)
            if sniff == .incomplete, head.count < StatementFileChunks.chunkSize { return }
            try start(sniff, into: &visitor)
            return
        }
        try parse(chunk, into: &visitor)
    }

    func finish<V: BankStatementVisitor>(into visitor: inout V) throws {
        if !namespaceKnown { try start(CamtNamespace.sniff(head), into: &visitor) }
        do { try reader.finish(handler: handler) } catch { throw handler.refusal(for: error) }
        try handler.deliver(to: &visitor)
        try handler.checkComplete()
    }

    private func start<V: BankStatementVisitor>(_ sniff: CamtNamespace.Sniff, into visitor: inout V) throws {
        namespaceKnown = true
        if case let .root(namespace) = sniff { handler.namespace = namespace }
        let bytes = head
        head = []
        try bytes.withUnsafeBufferPointer { try parse($0, into: &visitor) }
    }

    private func parse<V: BankStatementVisitor>(_ bytes: UnsafeBufferPointer<UInt8>, into visitor: inout V) throws {
        do { try reader.feed(UnsafeRawBufferPointer(bytes), handler: handler) } catch { throw handler.refusal(for: error) }
        try handler.deliver(to: &visitor)
    }
}

/// The camt.053 elements read, as a tree matched by interned name; every other element, with all
/// inside it, is skipped (banks add many).
private enum CamtRole {
    case container
    case document, statement, statementId, electronicSequence, legalSequence
    case accountIBAN, accountOther, accountCurrency
    case balance, balanceCode, balanceAmount, balanceMark, balanceDate, balanceDateTime
    case entry, entryAmount, entryMark, reversal, bookingDate, bookingDateTime, valueDate, valueDateTime, servicerReference
    case entryInstructedAmount
    case transaction, endToEndId, instructedAmount, debtorName, debtorAccount, remittanceLine, returnReason

    /// Whether the element's text is read.
    var hasValue: Bool {
        switch self {
        case .container, .document, .statement, .balance, .entry, .transaction: return false
        default: return true
        }
    }
}

private let camtElements: [(path: String, role: CamtRole)] = {
    let statement = "Document/BkToCstmrStmt/Stmt"
    let balance = statement + "/Bal"
    let entry = statement + "/Ntry"
    let transaction = entry + "/NtryDtls/TxDtls"
    return [
        ("Document", .document), ("Document/BkToCstmrStmt", .container), (statement, .statement),
        (statement + "/Id", .statementId), (statement + "/ElctrncSeqNb", .electronicSequence), (statement + "/LglSeqNb", .legalSequence),
        (statement + "/Acct/Id/IBAN", .accountIBAN), (statement + "/Acct/Id/Othr/Id", .accountOther), (statement + "/Acct/Ccy", .accountCurrency),
        (balance, .balance), (balance + "/Tp/CdOrPrtry/Cd", .balanceCode), (balance + "/Amt", .balanceAmount),
        (balance + "/CdtDbtInd", .balanceMark), (balance + "/Dt/Dt", .balanceDate), (balance + "/Dt/DtTm", .balanceDateTime),
        (entry, .entry), (entry + "/Amt", .entryAmount), (entry + "/CdtDbtInd", .entryMark), (entry + "/RvslInd", .reversal),
        (entry + "/BookgDt/Dt", .bookingDate), (entry + "/BookgDt/DtTm", .bookingDateTime),
        (entry + "/ValDt/Dt", .valueDate), (entry + "/ValDt/DtTm", .valueDateTime), (entry + "/AcctSvcrRef", .servicerReference),
        (entry + "/AmtDtls/InstdAmt/Amt", .entryInstructedAmount),
        (transaction, .transaction), (transaction + "/Refs/EndToEndId", .endToEndId),
        (transaction + "/AmtDtls/InstdAmt/Amt", .instructedAmount),
        (transaction + "/RltdPties/Dbtr/Nm", .debtorName), (transaction + "/RltdPties/Dbtr/Pty/Nm", .debtorName),
        (transaction + "/RltdPties/DbtrAcct/Id/IBAN", .debtorAccount), (transaction + "/RmtInf/Ustrd", .remittanceLine),
        (transaction + "/RtrInf/Rsn/Cd", .returnReason),
    ]
}()

/// Receives the reader's events; keeps one statement's header fields and one entry at a time.
private final class CamtStatementHandler: XMLEventHandler {
    private struct Node {
        let name: String
        let role: CamtRole
        var children: [Int] = []
    }

    private struct Statement {
        var id: String?
        var electronicSequence: String?
        var legalSequence: String?
        var account: String?
        var currency: CurrencyCode?
        var opening: BankBalance?
        var openingCode: String?
        var closing: BankBalance?
        var tally: StatementTally?
    }

    private struct Balance {
        var code: String?
        var amount: Money?
        var mark: CreditDebit?
        var date: LocalDate?
    }

    private struct Entry {
        var amount: Money?
        var mark: CreditDebit?
        var isReversal = false
        var bookingDate: LocalDate?
        var valueDate: LocalDate?
        var bankReference: String?
        var endToEndId: String?
        /// The entry's own instructed amount (`Ntry/AmtDtls/InstdAmt`).
        var entryInstructedAmount: Money?
        /// The first transaction's; the entry's only when it has no more than one transaction (a
        /// batch of returns booked as one entry has one per return, none of them the entry's).
        var instructedAmount: Money?
        var transactions = 0
        var debtorName: String?
        var debtorAccount: String?
        var remittance = ""
        var returnReason: String?
    }

    enum Event {
        case begin(BankStatementHeader)
        case entry(BankEntry)
        case end(BankBalance)
    }

    /// Set from the root start tag before the document is parsed.
    var namespace: String?
    private let reader: XMLStreamReader
    private let limits: BankStatementLimits
    /// Node 0 stands above the root; the others are `camtElements`.
    private var nodes: [Node]
    private var names: [XMLName]
    private let statementName: XMLName
    private let entryName: XMLName
    // The handler serves one parse on one thread: the runtime exclusivity checks on the state touched by
    // every event (a tenth of the time) are off, as in MilesSOAP's ParseState.
    /// The element path as names, known or not, for error messages.
    @exclusivity(unchecked) private var path: [XMLName] = []
    @exclusivity(unchecked) private var stack: [Int] = [0]
    /// How deep inside a skipped element the reader is; 0 when in a known one.
    @exclusivity(unchecked) private var skipped = 0
    @exclusivity(unchecked) private var capturing = false
    @exclusivity(unchecked) private var text: [UInt8] = []
    @exclusivity(unchecked) private var amountCurrency: String?
    private var statementIndex = 0
    private var entryIndex = 0
    private var statement = Statement()
    private var balance = Balance()
    @exclusivity(unchecked) private var entry = Entry()
    private var position = 0
    private var statementsRead = 0
    private var events: [Event] = []
    /// The error the handler stopped the reader with, thrown as it is rather than as the reader's.
    private var failure: BankStatementError?

    init(reader: XMLStreamReader, limits: BankStatementLimits) {
        self.reader = reader
        self.limits = limits
        var nodes = [Node(name: "", role: .container)]
        var indexByPath: [String: Int] = ["": 0]
        for (path, role) in camtElements {
            var parentPath = ""
            for name in path.split(separator: "/") {
                let childPath = parentPath.isEmpty ? String(name) : parentPath + "/" + name
                if indexByPath[childPath] == nil {
                    nodes.append(Node(name: String(name), role: childPath == path ? role : .container))
                    indexByPath[childPath] = nodes.count - 1
                    nodes[indexByPath[parentPath]!].children.append(nodes.count - 1)
                }
                parentPath = childPath
            }
        }
        self.nodes = nodes
        names = nodes.map { reader.intern($0.name) }
        statementName = reader.intern("Stmt")
        entryName = reader.intern("Ntry")
        text.reserveCapacity(256)
        events.reserveCapacity(512)
    }

    // MARK: Events

    func startElement(_ name: XMLName, attributes: XMLAttributes) throws {
        path.append(name)
        if skipped > 0 {
            skipped += 1
            return
        }
        let parent = stack[stack.count - 1]
        guard let node = nodes[parent].children.first(where: { names[$0] == name }) else {
            if parent == 0 { throw refuse(.malformed, value: name.string, "the document's root is \(name.string), not a camt.053 Document") }
            skipped = 1
            return
        }
        stack.append(node)
        let role = nodes[node].role
        capturing = role.hasValue
        text.removeAll(keepingCapacity: true)
        switch role {
        case .document:
            guard let namespace, CamtNamespace.isAccepted(namespace) else {
                throw refuse(.unsupportedVersion, value: namespace ?? "",
                             "the Document's namespace is \(namespace.map { "'\($0)'" } ?? "missing"); read are camt.053 versions "
                             + "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02 to .001.13")
            }
        case .statement:
            statementIndex += 1
            entryIndex = 0
            statement = Statement()
        case .balance:
            guard statement.tally == nil else { throw refuse(.malformed, "a balance (Bal) comes after the statement's first entry (Ntry)") }
            balance = Balance()
        case .entry:
            if statement.tally == nil { try beginStatement() }
            entryIndex += 1
            guard entryIndex <= limits.maxEntriesPerStatement else {
                throw refuse(.overLimit, "the statement has more than \(limits.maxEntriesPerStatement) entries (BankStatementLimits.maxEntriesPerStatement)")
            }
            entry = Entry()
        case .transaction:
            entry.transactions += 1
        case .balanceAmount, .entryAmount, .instructedAmount, .entryInstructedAmount:
            amountCurrency = attributes.value(localName: "Ccy")
        default:
            break
        }
    }

    func characters(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        if capturing, skipped == 0 { text.append(contentsOf: bytes) }
    }

    func endElement(_ name: XMLName) throws {
        defer { path.removeLast() }
        if skipped > 0 {
            skipped -= 1
            return
        }
        let role = nodes[stack.removeLast()].role
        capturing = false
        try end(role)
    }

    private func end(_ role: CamtRole) throws {
        switch role {
        case .container, .document, .transaction: break
        case .statementId: statement.id = value()
        case .electronicSequence: statement.electronicSequence = value()
        case .legalSequence: statement.legalSequence = value()
        case .accountIBAN: statement.account = compactValue()
        case .accountOther: if statement.account == nil { statement.account = compactValue() }
        case .accountCurrency: statement.currency = try currency(value())
        case .balanceCode: balance.code = value()
        case .balanceAmount: balance.amount = try amount()
        case .balanceMark: balance.mark = try mark()
        case .balanceDate, .balanceDateTime: balance.date = try date()
        case .balance: try endBalance()
        case .entryAmount:
            let amount = try amount()
            if let currency = statement.currency, amount.currency != currency {
                throw refuse(.currencyMismatch, value: amount.currency.code,
                             "the entry is in \(amount.currency), its statement in \(currency): an entry must be in its account's currency")
            }
            entry.amount = amount
        case .entryMark: entry.mark = try mark()
        case .reversal: entry.isReversal = try flag()
        case .bookingDate, .bookingDateTime: entry.bookingDate = try date()
        case .valueDate, .valueDateTime: entry.valueDate = try date()
        case .servicerReference: entry.bankReference = nonEmpty(value())
        case .endToEndId:
            let id = value()
            if entry.endToEndId == nil, id != "NOTPROVIDED" { entry.endToEndId = nonEmpty(id) }
        case .instructedAmount: if entry.instructedAmount == nil { entry.instructedAmount = try amount() }
        case .entryInstructedAmount: entry.entryInstructedAmount = try amount()
        case .debtorName: if entry.debtorName == nil { entry.debtorName = nonEmpty(value()) }
        case .debtorAccount: if entry.debtorAccount == nil { entry.debtorAccount = nonEmpty(compactValue()) }
        case .remittanceLine:
            let line = value()
            guard !line.isEmpty else { break }
            entry.remittance += entry.remittance.isEmpty ? line : " " + line
            guard entry.remittance.utf8.count <= limits.maxTextBytes else {
                throw refuse(.overLimit, "the entry's remittance lines (Ustrd) add up to more than \(limits.maxTextBytes) bytes (BankStatementLimits.maxTextBytes)")
            }
        case .returnReason: if entry.returnReason == nil { entry.returnReason = nonEmpty(value()) }
        case .entry: try endEntry()
        case .statement: try endStatement()
        }
    }

    // MARK: Statements and entries

    private func endBalance() throws {
        guard let code = balance.code else { return }
        let isOpening = code == "OPBD" || code == "PRCD"
        guard isOpening || code == "CLBD" else { return }
        guard let amount = balance.amount else { throw refuse(.missingField, "the \(code) balance has no Amt") }
        guard let mark = balance.mark else { throw refuse(.missingField, "the \(code) balance has no CdtDbtInd") }
        guard let date = balance.date else { throw refuse(.missingField, "the \(code) balance has no Dt") }
        if let currency = statement.currency, amount.currency != currency {
            throw refuse(.currencyMismatch, value: amount.currency.code, "the \(code) balance is in \(amount.currency), the account in \(currency)")
        }
        let value = BankBalance(amount: amount, mark: mark, date: date)
        if isOpening {
            // A statement may give both; the booked opening balance is the one to check against.
            if statement.opening == nil || code == "OPBD" {
                statement.opening = value
                statement.openingCode = code
            }
        } else {
            statement.closing = value
        }
    }

    private func beginStatement() throws {
        let location = statementPath
        guard let id = statement.id.flatMap(nonEmpty) else { throw refuse(.missingField, at: location, "the statement has no Id") }
        guard let account = statement.account.flatMap(nonEmpty) else {
            throw refuse(.missingField, at: location, "statement '\(id)' has no account (Acct/Id/IBAN)")
        }
        guard let opening = statement.opening else {
            throw refuse(.missingField, at: location, "statement '\(id)' has no opening balance (Bal with Tp/CdOrPrtry/Cd OPBD or PRCD)")
        }
        let currency = statement.currency ?? opening.amount.currency
        statement.currency = currency
        if let closing = statement.closing, closing.amount.currency != currency {
            throw refuse(.currencyMismatch, at: location, value: closing.amount.currency.code,
                         "statement '\(id)' closes in \(closing.amount.currency) but opens in \(currency)")
        }
        statement.tally = StatementTally(opening: opening)
        events.append(.begin(BankStatementHeader(format: .camt053, account: account, currency: currency, statementId: id,
                                                 sequenceNumber: statement.electronicSequence ?? statement.legalSequence, opening: opening)))
    }

    private func endEntry() throws {
        guard let amount = entry.amount else { throw refuse(.missingField, "the entry has no Amt") }
        guard let mark = entry.mark else { throw refuse(.missingField, "the entry has no CdtDbtInd") }
        guard let bookingDate = entry.bookingDate ?? entry.valueDate else { throw refuse(.missingField, "the entry has no BookgDt") }
        position += 1
        let booked = BankEntry(position: position, bankReference: entry.bankReference, bookingDate: bookingDate,
                               valueDate: entry.valueDate ?? bookingDate, amount: amount, mark: mark, isReversal: entry.isReversal,
                               returnReason: entry.returnReason, remittance: entry.remittance, counterpartyName: entry.debtorName,
                               counterpartyAccount: entry.debtorAccount, endToEndId: entry.endToEndId,
                               instructedAmount: entry.entryInstructedAmount ?? (entry.transactions > 1 ? nil : entry.instructedAmount))
        guard statement.tally!.add(booked) else { throw refuse(.invalidValue, "the statement's entries add up to more than can be counted") }
        events.append(.entry(booked))
    }

    private func endStatement() throws {
        if statement.tally == nil { try beginStatement() }
        guard let closing = statement.closing else {
            throw refuse(.missingField, "statement '\(statement.id ?? "")' has no closing balance (Bal with Tp/CdOrPrtry/Cd CLBD)")
        }
        if let mismatch = statement.tally!.mismatch(closing: closing, statement: "'\(statement.id ?? "")'") {
            throw refuse(.balanceMismatch, mismatch)
        }
        statementsRead += 1
        events.append(.end(closing))
    }

    /// Hands what has been read so far to the visitor.
    func deliver<V: BankStatementVisitor>(to visitor: inout V) throws {
        for event in events {
            switch event {
            case let .begin(header): try visitor.beginStatement(header)
            case let .entry(entry): try visitor.entry(entry)
            case let .end(closing): try visitor.endStatement(closing: closing)
            }
        }
        events.removeAll(keepingCapacity: true)
    }

    func checkComplete() throws {
        guard statementsRead > 0 else {
            throw BankStatementError(.missingField, format: .camt053, location: "Document/BkToCstmrStmt", "the document holds no statement (Stmt)")
        }
    }

    // MARK: Values

    /// The element's text without surrounding white space.
    private func value() -> String {
        let range = trimmedRange()
        return String(decoding: text[range], as: UTF8.self)
    }

    private func trimmedRange() -> Range<Int> {
        var start = 0, end = text.count
        while start < end, Self.isSpace(text[start]) { start += 1 }
        while end > start, Self.isSpace(text[end - 1]) { end -= 1 }
        return start..<end
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    /// An account number without the spaces some banks print in it.
    private func compactValue() -> String {
        let range = trimmedRange()
        guard text[range].contains(0x20) else { return String(decoding: text[range], as: UTF8.self) }
        return String(decoding: text[range].filter { $0 != 0x20 }, as: UTF8.self)
    }

    private func textIs(_ expected: StaticString) -> Bool {
        let range = trimmedRange()
        return expected.withUTF8Buffer { text[range].elementsEqual($0) }
    }

    private func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }

    private func currency(_ code: String) throws -> CurrencyCode {
        do { return try CurrencyCode(code) } catch {
            throw refuse(.invalidValue, value: code, "'\(code)' is not a currency: a three-letter ISO 4217 code such as EUR is")
        }
    }

    private func amount() throws -> Money {
        guard let code = amountCurrency else { throw refuse(.missingField, "the amount has no currency (Ccy attribute)") }
        let currency = try currency(code)
        guard let amount = text.withUnsafeBufferPointer({ parseStatementAmount($0, separator: UInt8(ascii: "."), currency: currency) }) else {
            let shown = value()
            throw refuse(.invalidValue, value: shown,
                         "'\(shown)' is not an amount in \(currency): digits with a decimal point, at most \(currency.minorUnitDigits) decimals, no sign")
        }
        return amount
    }

    private func mark() throws -> CreditDebit {
        if textIs("CRDT") { return .credit }
        if textIs("DBIT") { return .debit }
        let other = value()
        throw refuse(.invalidValue, value: other, "'\(other)' is not CRDT or DBIT")
    }

    private func flag() throws -> Bool {
        if textIs("true") || textIs("1") { return true }
        if textIs("false") || textIs("0") { return false }
        let other = value()
        throw refuse(.invalidValue, value: other, "'\(other)' is not true or false")
    }

    /// `Dt` (YYYY-MM-DD) or `DtTm`, whose day is taken as the bank wrote it.
    private func date() throws -> LocalDate {
        let range = trimmedRange()
        let isDay = range.count == 10 || (range.count > 10 && text[range.lowerBound + 10] == UInt8(ascii: "T"))
        guard isDay, let date = text.withUnsafeBufferPointer({
            LocalDate.parse(UnsafeBufferPointer(rebasing: $0[range.lowerBound..<(range.lowerBound + 10)]))
        }) else {
            let shown = value()
            throw refuse(.invalidValue, value: shown, "'\(shown)' is not a date (YYYY-MM-DD)")
        }
        return date
    }

    // MARK: Errors

    /// The element path, `Document/BkToCstmrStmt/Stmt[2]/Ntry[14]/Amt`.
    var currentPath: String { describe(path) }

    private var statementPath: String {
        guard let end = path.firstIndex(of: statementName) else { return currentPath }
        return describe(Array(path[...end]))
    }

    private func describe(_ names: [XMLName]) -> String {
        names.map { name in
            if name == statementName { return "Stmt[\(statementIndex)]" }
            if name == entryName { return "Ntry[\(entryIndex)]" }
            return name.string
        }.joined(separator: "/")
    }

    private func refuse(_ code: BankStatementError.Code, at location: String? = nil, value: String? = nil, _ message: String) -> BankStatementError {
        let error = BankStatementError(code, format: .camt053, location: location ?? currentPath, value: value, message)
        failure = error
        return error
    }

    /// What the reader's failure means for the statement: the handler's own refusal, or the reader's,
    /// placed at the element being read.
    func refusal(for error: XMLReaderError) -> BankStatementError {
        if let failure { return failure }
        let location = path.isEmpty ? "line \(reader.currentLine)" : currentPath
        let code: BankStatementError.Code
        switch error {
        case .doctypeRefused, .entityRefused: code = .refusedXML
        case .tooDeep, .textTooLong, .documentTooLarge: code = .overLimit
        case .invalidEncoding: code = .invalidValue
        case .truncated, .malformed, .rejected: code = .malformed
        }
        return BankStatementError(code, format: .camt053, location: location, error.description)
    }
}
