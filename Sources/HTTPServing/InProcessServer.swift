import Hummingbird
import Logging
import ServiceLifecycle

/// A Hummingbird application started in this process, on a task of its own, for as long as the
/// caller needs it: the agents' endpoint under `serve`, the mock MILES in tests and the demo.
/// `start` returns once the server listens, with the port it got (ask for port 0 to get a free one).
///
/// ```swift
/// let server = try await InProcessServer.start(name: "the mock MILES", logger: logger) { onListening in
///     Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
///                 onServerRunning: { onListening($0.localAddress?.port ?? 0) })
/// }
/// defer { Task { await server.stop() } }
/// ```
public final class InProcessServer: Sendable {
    /// The port the server listens on.
    public let port: Int
    private let serviceGroup: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, serviceGroup: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.serviceGroup = serviceGroup
        self.task = task
    }

    /// Builds the application with `makeApplication`, which must call the `onListening` it is given
    /// with the port once the server runs, starts it, and returns once it listens. Throws
    /// `ServerStartError` when it never does (the port is taken, say), with the cause if there is one.
    public static func start<App: ApplicationProtocol>(
        name: String, logger: Logger, _ makeApplication: (_ onListening: @escaping @Sendable (Int) -> Void) throws -> App
    ) async throws -> InProcessServer {
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = try makeApplication { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let serviceGroup = ServiceGroup(configuration: .init(services: [application], gracefulShutdownSignals: [], logger: logger))
        let task = Task {
            // If the server cannot start, end the wait below instead of leaving it hanging.
            defer { portContinuation.finish() }
            try await serviceGroup.run()
        }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else {
            task.cancel()
            let cause: (any Error)?
            do { try await task.value; cause = nil } catch { cause = error }
            throw ServerStartError(name: name, cause: cause.map { "\($0)" })
        }
        return InProcessServer(port: port, serviceGroup: serviceGroup, task: task)
    }

    /// Stops listening and waits until the server has shut down.
    public func stop() async {
        await serviceGroup.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// An in-process server did not start listening.
public struct ServerStartError: Error, Sendable, CustomStringConvertible {
    /// The server, as a person names it: "the mock MILES", "the agents' API".
    public let name: String
    /// What Hummingbird reported, when it reported anything.
    public let cause: String?

    public var description: String {
        "\(name) did not start listening" + (cause.map { ": \($0)" } ?? "")
    }
}
