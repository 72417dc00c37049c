/// How the adapter reaches MILES over HTTP(S).
public struct HTTPTransportConfiguration: Sendable {
    /// Longest wait for the TCP (and TLS) connection.
    public var connectTimeout: Duration
    /// Longest a whole call may take, from connecting to the last byte of the answer.
    public var requestTimeout: Duration
    /// Verify the server's certificate and host name. On unless a test server demands otherwise.
    public var verifyTLS: Bool
    /// A CA bundle (PEM) to trust instead of the system's.
    public var caBundlePath: String?
    /// A client certificate (PEM) for mutual TLS, with its key.
    public var clientCertificatePath: String?
    public var clientKeyPath: String?

    public init(
        connectTimeout: Duration = .seconds(10), requestTimeout: Duration = .seconds(120), verifyTLS: Bool = true,
        caBundlePath: String? = nil, clientCertificatePath: String? = nil, clientKeyPath: String? = nil
    ) {
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.verifyTLS = verifyTLS
        self.caBundlePath = caBundlePath
        self.clientCertificatePath = clientCertificatePath
        self.clientKeyPath = clientKeyPath
    }
}

extension Duration {
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
