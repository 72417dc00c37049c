import Hummingbird

/// A request with the address it came from: for logging and throttling failed authentications.
public struct ClientRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's IP address, without its port.
    public let source: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        self.source = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}

/// Routes served beside others by one server (the workspace beside the agents' API).
public protocol RouteGroup: Sendable {
    func register(on router: Router<ClientRequestContext>)
}
