import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// How long a client may take, on a server that must not be held open by slow or silent clients.
public struct HTTPDeadlines: Sendable, Equatable {
    /// From connecting, or from the previous response, until a request's head has arrived whole.
    public var header: Duration
    /// From a request's head until its body has arrived whole.
    public var body: Duration
    /// How long a kept-alive connection may wait for its next request.
    public var idle: Duration

    public init(header: Duration = .seconds(10), body: Duration = .seconds(60), idle: Duration = .seconds(30)) {
        self.header = header
        self.body = body
        self.idle = idle
    }
}

/// Closes a connection whose client is too slow: a head not complete within `header` (stalled or
/// dripped headers), a body not complete within `body` (a stalled upload), or no next request
/// within `idle`. While the server works on a request nothing is timed: that is the handler's time.
///
/// Sits after the HTTP decoder, so it sees whole request parts; a head still arriving byte by byte
/// is simply no part yet, and its deadline runs.
final class RequestDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let deadlines: HTTPDeadlines
    private var timer: Scheduled<Void>?
    private var started = false
    /// The current request's body has arrived whole.
    private var requestComplete = true
    /// The current request's response has not been written whole yet.
    private var responding = false

    init(_ deadlines: HTTPDeadlines) {
        self.deadlines = deadlines
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestComplete = false
            responding = true
            schedule(deadlines.body, context)
        case .body:
            break
        case .end:
            requestComplete = true
            // Answered before the body was read (a refusal): the connection is idle from now.
            if responding { cancel() } else { schedule(deadlines.idle, context) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            responding = false
            // A body still arriving keeps its own deadline.
            if requestComplete { schedule(deadlines.idle, context) }
        }
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        schedule(deadlines.header, context)
    }

    private func schedule(_ duration: Duration, _ context: ChannelHandlerContext) {
        cancel()
        let components = duration.components
        let nanoseconds = components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            loopBound.value.close(promise: nil)
        }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 that closes connections whose clients miss `deadlines`.
    public static func http1(deadlines: HTTPDeadlines) -> HTTPServerBuilder {
        .http1(configuration: .init(additionalChannelHandlers: [RequestDeadlines(deadlines)]))
    }
}
