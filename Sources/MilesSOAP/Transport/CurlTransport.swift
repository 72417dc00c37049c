import CCurl
import Foundation
import Synchronization

/// HTTP POST over libcurl, streaming the answer to a consumer as it arrives.
///
/// curl's easy handles keep their connections open between calls, so finished handles go back
/// into a small pool; each call takes one, resets its options and uses it on one thread.
public final class CurlTransport: Sendable {
    public struct Failure: Error, Sendable {
        public let code: Int
        public let message: String
        /// Whether the whole request went out before the failure: MILES may have acted on it.
        public let requestSent: Bool
        /// The request went out on a kept-alive connection that closed before any answer, and libcurl
        /// would have sent it again on a new one; the transport refused (see `post`). The caller
        /// decides: a read can be built afresh and sent again, a write's outcome is unknown.
        public let resendRefused: Bool
    }

    /// What came back: the status and the first bytes of a body the consumer did not take.
    public struct Answer: Sendable {
        public let status: Int
        public let unconsumedBodyPrefix: String
        /// The server's `Retry-After`, in seconds, when it sent one.
        public let retryAfterSeconds: Int?
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public let configuration: HTTPTransportConfiguration
    private let idleHandles = Mutex<[HandleBox]>([])

    public init(configuration: HTTPTransportConfiguration) {
        _ = CurlTransport.globalInit
        self.configuration = configuration
    }

    deinit {
        idleHandles.withLock { handles in
            for box in handles { curl_easy_cleanup(box.handle) }
        }
    }

    /// Posts `body` to `url` and, for the statuses `accept` allows, hands each piece of the answer to `consume`.
    /// Blocking: call it from a thread that may block, not from the cooperative pool.
    ///
    /// The body goes out at most once: libcurl is never let send it again by itself (`Failure.resendRefused`).
    public func post(
        url: String, headers: [String], body: [UInt8],
        accept: @escaping (Int) -> Bool,
        consume: @escaping (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Answer {
        let box = idleHandles.withLock { $0.popLast() } ?? HandleBox(handle: curl_easy_init())
        defer { idleHandles.withLock { $0.append(box) } }
        let handle = box.handle
        curl_easy_reset(handle)

        var headerList: UnsafeMutablePointer<curl_slist>?
        for header in headers { headerList = curl_slist_append(headerList, header) }
        defer { curl_slist_free_all(headerList) }

        let sink = ResponseSink(handle: handle, accept: accept, consume: consume)
        let source = RequestSource(body: body)
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }

        let result: CURLcode = withExtendedLifetime((sink, source)) {
            ccurl_setopt_string(handle, CURLOPT_URL, url)
            ccurl_setopt_long(handle, CURLOPT_POST, 1)
            // No silent resend. When a kept-alive connection dies after the request went out and before any
            // answer byte, libcurl 7.88 sends the same bytes again on a new connection, nonce and all: a write
            // MILES applied would be applied twice, or refused as a replayed nonce. There is no switch for
            // that before 8.16 (CURLOPT_FORBID_RETRY_ON_REUSE), but libcurl first asks the seek callback to
            // rewind a body it has sent (documented for this case): the body goes through a read callback
            // and the rewind is refused, so the call fails (CURLE_SEND_FAIL_REWIND) as possibly sent. A
            // request that died before any of its body went out is still resent: MILES cannot act on it.
            // The cost: a request on a connection the server closed just as it went out counts as possibly
            // sent (for a write, one reconciling read). A fresh connection per write (CURLOPT_FRESH_CONNECT)
            // would spare that rare read at the price of a TCP and TLS handshake on every write.
            ccurl_setopt_read_function(handle, readCallback)
            ccurl_setopt_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(source).toOpaque())
            ccurl_setopt_seek_function(handle, refuseRewind)
            ccurl_setopt_pointer(handle, CURLOPT_SEEKDATA, Unmanaged.passUnretained(source).toOpaque())
            ccurl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
            ccurl_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList))
            ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.milliseconds)
            ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, configuration.requestTimeout.milliseconds)
            ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, configuration.verifyTLS ? 1 : 0)
            ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, configuration.verifyTLS ? 2 : 0)
            if let path = configuration.caBundlePath { ccurl_setopt_string(handle, CURLOPT_CAINFO, path) }
            if let path = configuration.clientCertificatePath { ccurl_setopt_string(handle, CURLOPT_SSLCERT, path) }
            if let path = configuration.clientKeyPath { ccurl_setopt_string(handle, CURLOPT_SSLKEY, path) }
            // Only HTTP(S): a redirect or URL can never make curl read a file or another protocol.
            ccurl_setopt_long(handle, CURLOPT_PROTOCOLS, Int(CURLPROTO_HTTP | CURLPROTO_HTTPS))
            ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
            ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
            ccurl_setopt_write_function(handle, writeCallback)
            ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
            return curl_easy_perform(handle)
        }
        if let consumerError = sink.consumerError { throw consumerError }
        guard result == CURLE_OK else {
            if source.resendRefused {
                // libcurl has already reset its upload count for the resend it meant to make.
                throw Failure(code: Int(result.rawValue),
                              message: "the connection closed after the request went out, before any answer; "
                                  + "not sent again, as the server may have acted on it",
                              requestSent: true, resendRefused: true)
            }
            var uploaded: curl_off_t = 0
            ccurl_getinfo_off_t(handle, CURLINFO_SIZE_UPLOAD_T, &uploaded)
            let detail = String(cString: errorBuffer)
            throw Failure(
                code: Int(result.rawValue),
                message: detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail,
                requestSent: uploaded >= body.count && body.count > 0, resendRefused: false)
        }
        if sink.accepted == nil {
            var status = 0
            ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            sink.status = status
        }
        var retryAfter: curl_off_t = 0
        ccurl_getinfo_off_t(handle, CURLINFO_RETRY_AFTER, &retryAfter)
        return Answer(status: sink.status, unconsumedBodyPrefix: String(decoding: sink.unconsumed, as: UTF8.self),
                      retryAfterSeconds: retryAfter > 0 ? Int(retryAfter) : nil)
    }
}

/// An easy handle, owned by whichever call holds it; the pool's lock hands it from one to the next.
private final class HandleBox: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    init(handle: UnsafeMutableRawPointer?) {
        self.handle = handle!
    }
}

/// The request body as the read callback hands it to libcurl (CURLOPT_READDATA), and whether
/// libcurl asked to send it again (CURLOPT_SEEKDATA).
private final class RequestSource {
    let body: [UInt8]
    var offset = 0
    var resendRefused = false

    init(body: [UInt8]) {
        self.body = body
    }
}

private let readCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    buffer, size, count, userData in
    let source = Unmanaged<RequestSource>.fromOpaque(userData!).takeUnretainedValue()
    let length = min(size * count, source.body.count - source.offset)
    guard length > 0, let buffer else { return 0 }
    source.body.withUnsafeBytes { bytes in
        UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + source.offset, byteCount: length)
    }
    source.offset += length
    return length
}

/// Without HTTP authentication or redirects (both off), libcurl calls it only to send a body again; see `CurlTransport.post` for why never.
private let refuseRewind: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, Int32) -> Int32 = { userData, _, _ in
    Unmanaged<RequestSource>.fromOpaque(userData!).takeUnretainedValue().resendRefused = true
    return CURL_SEEKFUNC_FAIL
}

/// The per-call state the write callback reaches through CURLOPT_WRITEDATA.
private final class ResponseSink {
    let handle: UnsafeMutableRawPointer
    let accept: (Int) -> Bool
    let consume: (UnsafeRawBufferPointer) throws -> Void
    var status = 0
    var accepted: Bool?
    var unconsumed: [UInt8] = []
    var consumerError: (any Error)?

    init(handle: UnsafeMutableRawPointer, accept: @escaping (Int) -> Bool,
         consume: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.handle = handle
        self.accept = accept
        self.consume = consume
    }
}

private let writeCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, userData in
    let sink = Unmanaged<ResponseSink>.fromOpaque(userData!).takeUnretainedValue()
    let length = size * count
    if sink.accepted == nil {
        var status = 0
        ccurl_getinfo_long(sink.handle, CURLINFO_RESPONSE_CODE, &status)
        sink.status = status
        sink.accepted = sink.accept(status)
    }
    guard sink.accepted == true else {
        // Keep enough of an unexpected answer to say what it was.
        if sink.unconsumed.count < 2048, let data {
            let bytes = UnsafeRawBufferPointer(start: data, count: min(length, 2048 - sink.unconsumed.count))
            sink.unconsumed.append(contentsOf: bytes)
        }
        return length
    }
    do {
        try sink.consume(UnsafeRawBufferPointer(start: data, count: length))
        return length
    } catch {
        sink.consumerError = error
        return 0
    }
}
