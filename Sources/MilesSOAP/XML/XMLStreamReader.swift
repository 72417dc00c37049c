import CLibXML2

/// A hardened streaming XML reader on libxml2's SAX2 push parser: bytes go in as they arrive
/// from the network, events come out to an `XMLEventHandler`, and memory does not grow with the document.
///
/// Untrusted input is read with: no DTD (a DOCTYPE is refused), no entity other than the five
/// predefined ones, no network access, and bounded depth, text and document size. Malformed,
/// truncated or wrongly encoded input is an error, never a partial success.
///
/// ```swift
/// let reader = XMLStreamReader()
/// let handler = MyHandler(contract: reader.intern("Contract"))
/// try reader.parse(bytes, handler: handler)
/// ```
public final class XMLStreamReader {
    private let context: xmlParserCtxtPtr
    private let state: ParseState

    public init(limits: XMLLimits = .default) {
        state = ParseState(limits: limits)
        var sax = xmlSAXHandler()
        sax.initialized = UInt32(XML_SAX2_MAGIC)
        sax.startElementNs = startElementCallback
        sax.endElementNs = endElementCallback
        sax.characters = charactersCallback
        sax.cdataBlock = charactersCallback
        // The same callback for white space: libxml2 then skips its "is this ignorable?" check per text node.
        sax.ignorableWhitespace = charactersCallback
        sax.internalSubset = doctypeCallback
        sax.externalSubset = doctypeCallback
        sax.entityDecl = entityDeclarationCallback
        sax.getEntity = getEntityCallback
        sax.reference = referenceCallback
        sax.serror = structuredErrorCallback
        clibxml2_silence_generic_errors()
        let userData = Unmanaged.passUnretained(state).toOpaque()
        context = xmlCreatePushParserCtxt(&sax, userData, nil, 0, nil)
        // NONET: no network even if something slipped through; no NOENT, DTDLOAD or DTDATTR: entities are
        // never substituted and no DTD is read. libxml2's own huge-input limits stay on (no XML_PARSE_HUGE).
        xmlCtxtUseOptions(context, Int32(XML_PARSE_NONET.rawValue))
        state.context = context
    }

    deinit {
        xmlFreeParserCtxt(context)
    }

    /// The interned form of `name`, to compare with the names the handler receives.
    public func intern(_ name: String) -> XMLName {
        XMLName(xmlDictLookup(context.pointee.dict, name, -1)!)
    }

    /// Called from a handler's `startElement`: the element just started, everything inside it and its
    /// end go straight to `handler`; the caller sees that element's end too, and then everything after.
    /// A SOAP envelope handler uses it to pass the payload to its decoder without relaying each event.
    public func delegateSubtree(to handler: any XMLEventHandler) {
        state.pendingDelegate = handler
    }

    /// Hands the next piece of the document to the parser.
    public func feed(_ bytes: UnsafeRawBufferPointer, handler: any XMLEventHandler) throws(XMLReaderError) {
        clibxml2_silence_generic_errors()
        state.use(handler)
        if let error = state.error { throw error }
        state.documentBytes += bytes.count
        guard state.documentBytes <= state.limits.maxDocumentBytes else {
            state.error = .documentTooLarge(limit: state.limits.maxDocumentBytes)
            throw state.error!
        }
        guard bytes.count > 0 else { return }
        let result = xmlParseChunk(context, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count), 0)
        try check(result, atEnd: false)
    }

    /// Tells the parser the document is complete; throws if it is not.
    public func finish(handler: any XMLEventHandler) throws(XMLReaderError) {
        state.use(handler)
        if let error = state.error { throw error }
        let result = xmlParseChunk(context, nil, 0, 1)
        try check(result, atEnd: true)
        guard state.sawRoot, state.depth == 0 else { throw XMLReaderError.truncated(line: currentLine) }
    }

    /// Parses a whole document held in memory, in slices as the network would deliver it.
    public func parse(_ bytes: UnsafeRawBufferPointer, handler: any XMLEventHandler, sliceSize: Int = 64 * 1024) throws(XMLReaderError) {
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + sliceSize, bytes.count)
            try feed(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), handler: handler)
            offset = end
        }
        try finish(handler: handler)
    }

    public func parse(_ bytes: [UInt8], handler: any XMLEventHandler) throws(XMLReaderError) {
        var failure: XMLReaderError?
        bytes.withUnsafeBytes { buffer in
            do throws(XMLReaderError) { try parse(buffer, handler: handler) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The line the parser is on: during a `startElement`, the line of that start tag.
    public var currentLine: Int { Int(context.pointee.input?.pointee.line ?? 0) }

    private func check(_ result: Int32, atEnd: Bool) throws(XMLReaderError) {
        if let error = state.error { throw error }
        guard result != 0 || context.pointee.wellFormed == 0 else { return }
        guard let last = xmlCtxtGetLastError(context) else {
            if result == 0 { return }
            throw XMLReaderError.malformed(line: currentLine, column: 0, message: "parser error \(result)")
        }
        let code = Int(last.pointee.code)
        let line = Int(last.pointee.line)
        let message = last.pointee.message.map { String(cString: $0).trimmingXMLWhitespace } ?? "error \(code)"
        let error: XMLReaderError
        switch code {
        case Int(XML_ERR_INVALID_CHAR.rawValue), Int(XML_ERR_INVALID_ENCODING.rawValue),
             Int(XML_ERR_UNSUPPORTED_ENCODING.rawValue):
            error = .invalidEncoding(line: line, message: message)
        case Int(XML_ERR_UNDECLARED_ENTITY.rawValue), Int(XML_WAR_UNDECLARED_ENTITY.rawValue):
            error = .entityRefused(name: message, line: line)
        case Int(XML_ERR_DOCUMENT_END.rawValue), Int(XML_ERR_TAG_NOT_FINISHED.rawValue),
             Int(XML_ERR_DOCUMENT_EMPTY.rawValue) where atEnd:
            error = .truncated(line: line)
        default:
            error = (atEnd && state.depth > 0) ? .truncated(line: line)
                : .malformed(line: line, column: Int(last.pointee.int2), message: message)
        }
        state.error = error
        throw error
    }
}

/// What the C callbacks need; reached through libxml2's user-data pointer. Used by one parse on
/// one thread, so the runtime exclusivity checks (a large share of the per-event cost) are off.
final class ParseState {
    /// A handler in an immutable box. The callbacks reach it through an unretained `Unmanaged`
    /// reference and read its `let`, which borrows the handler: loading it from a `var` would
    /// retain and release it on every event.
    final class HandlerBox {
        let handler: any XMLEventHandler

        init(_ handler: any XMLEventHandler) {
            self.handler = handler
        }
    }

    let limits: XMLLimits
    var context: xmlParserCtxtPtr?
    /// The box receiving events now: the caller's, or the delegate's inside a delegated subtree.
    /// Not retained: `outer` and `delegate` own the boxes.
    @exclusivity(unchecked) var current: Unmanaged<HandlerBox>?
    /// The handler given to `feed` and `finish`.
    @exclusivity(unchecked) var outer: HandlerBox?
    @exclusivity(unchecked) var delegate: HandlerBox?
    @exclusivity(unchecked) var pendingDelegate: (any XMLEventHandler)?
    /// The depth of the delegated element; 0 when nothing is delegated.
    @exclusivity(unchecked) var delegateDepth = 0
    /// Set with `error`: a plain flag is cheaper to test on every event than the optional error.
    @exclusivity(unchecked) var failed = false
    @exclusivity(unchecked) var depth = 0
    @exclusivity(unchecked) var textBytes = 0
    @exclusivity(unchecked) var documentBytes = 0
    @exclusivity(unchecked) var sawRoot = false
    @exclusivity(unchecked) var error: XMLReaderError? {
        didSet { failed = error != nil }
    }

    init(limits: XMLLimits) {
        self.limits = limits
    }

    var line: Int { Int(context?.pointee.input?.pointee.line ?? 0) }

    /// Makes `handler` the caller's handler for the next piece of the document.
    func use(_ handler: any XMLEventHandler) {
        if outer?.handler !== handler { outer = HandlerBox(handler) }
        if delegateDepth == 0 { current = .passUnretained(outer!) }
    }

    /// Starts delivering to the pending delegate, if a handler asked for one during this start tag.
    func beginDelegation() -> Unmanaged<HandlerBox>? {
        guard let pending = pendingDelegate else { return nil }
        pendingDelegate = nil
        let box = HandlerBox(pending)
        delegate = box
        delegateDepth = depth
        current = .passUnretained(box)
        return current
    }

    /// Back to the caller's handler once the delegated element has ended.
    func endDelegation() {
        delegateDepth = 0
        current = outer.map { .passUnretained($0) }
        delegate = nil
    }

    /// Records the first error and stops libxml2 from reading further.
    func fail(_ error: XMLReaderError) {
        if self.error == nil { self.error = error }
        if let context { xmlStopParser(context) }
    }

    func fail(handlerError: any Error) {
        fail((handlerError as? XMLReaderError) ?? .rejected(String(describing: handlerError)))
    }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> ParseState {
        Unmanaged<ParseState>.fromOpaque(pointer!).takeUnretainedValue()
    }
}

private let startElementCallback: startElementNsSAX2Func = { userData, localName, _, _, _, _, attributeCount, _, attributes in
    Unmanaged<ParseState>.fromOpaque(userData!)._withUnsafeGuaranteedRef { state in
        guard !state.failed, let localName, let current = state.current else { return }
        state.depth += 1
        state.sawRoot = true
        state.textBytes = 0
        if state.depth > state.limits.maxDepth {
            state.fail(.tooDeep(limit: state.limits.maxDepth, line: state.line))
            return
        }
        do {
            let name = XMLName(localName)
            let attributes = XMLAttributes(base: attributes, count: Int(attributeCount))
            try current._withUnsafeGuaranteedRef { try $0.handler.startElement(name, attributes: attributes) }
            if let delegate = state.beginDelegation() {
                try delegate._withUnsafeGuaranteedRef { try $0.handler.startElement(name, attributes: attributes) }
            }
        } catch {
            state.fail(handlerError: error)
        }
    }
}

private let endElementCallback: endElementNsSAX2Func = { userData, localName, _, _ in
    Unmanaged<ParseState>.fromOpaque(userData!)._withUnsafeGuaranteedRef { state in
        guard !state.failed, let localName, let current = state.current else { return }
        let endsDelegation = state.delegateDepth == state.depth
        state.depth -= 1
        state.textBytes = 0
        do {
            let name = XMLName(localName)
            try current._withUnsafeGuaranteedRef { try $0.handler.endElement(name) }
            if endsDelegation {
                state.endDelegation()
                try state.outer?.handler.endElement(name)
            }
        } catch {
            state.fail(handlerError: error)
        }
    }
}

private let charactersCallback: charactersSAXFunc = { userData, bytes, length in
    Unmanaged<ParseState>.fromOpaque(userData!)._withUnsafeGuaranteedRef { state in
        guard !state.failed, let bytes, let current = state.current else { return }
        state.textBytes += Int(length)
        if state.textBytes > state.limits.maxTextBytes {
            state.fail(.textTooLong(limit: state.limits.maxTextBytes, line: state.line))
            return
        }
        do {
            try current._withUnsafeGuaranteedRef { try $0.handler.characters(UnsafeBufferPointer(start: bytes, count: Int(length))) }
        } catch {
            state.fail(handlerError: error)
        }
    }
}

private let doctypeCallback: internalSubsetSAXFunc = { userData, _, _, _ in
    let state = ParseState.from(userData)
    state.fail(.doctypeRefused(line: state.line))
}

private let entityDeclarationCallback: entityDeclSAXFunc = { userData, name, _, _, _, _ in
    let state = ParseState.from(userData)
    state.fail(.entityRefused(name: name.map { String(cString: $0) } ?? "?", line: state.line))
}

private let getEntityCallback: getEntitySAXFunc = { userData, name in
    let state = ParseState.from(userData)
    state.fail(.entityRefused(name: name.map { String(cString: $0) } ?? "?", line: state.line))
    return nil
}

private let referenceCallback: referenceSAXFunc = { userData, name in
    let state = ParseState.from(userData)
    state.fail(.entityRefused(name: name.map { String(cString: $0) } ?? "?", line: state.line))
}

// Without this libxml2 prints its errors to stderr; they are read back through xmlCtxtGetLastError instead.
private let structuredErrorCallback: xmlStructuredErrorFunc = { _, _ in }
