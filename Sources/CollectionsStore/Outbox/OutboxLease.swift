import CollectionsDomain

/// One `push` process sharing the outbox with others: its name (in logs and the audit log) and the
/// process and machine it runs as, by which a worker on the same machine can tell that it has died.
public struct OutboxWorker: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var host: String
    public var processId: Int32

    public init(name: String, host: String, processId: Int32) {
        self.name = name
        self.host = host
        self.processId = processId
    }

    public var description: String { "\(name) (process \(processId) on \(host))" }
}

/// A worker's hold on an outbox entry: until it expires no other worker takes the entry, unless the
/// holder is known to have died. A worker renews its leases while it works through them.
public struct OutboxLease: Sendable, Hashable {
    public var worker: OutboxWorker
    public var expiresAt: Timestamp

    public init(worker: OutboxWorker, expiresAt: Timestamp) {
        self.worker = worker
        self.expiresAt = expiresAt
    }
}

/// What is left in the outbox for the workers: entries waiting (pending, or held by a worker), and
/// the earliest time one of them can next be claimed (its retry time, or its holder's lease expiry).
public struct OutboxBacklog: Sendable, Equatable {
    public var waiting: Int
    public var nextClaimAt: Timestamp?

    public init(waiting: Int, nextClaimAt: Timestamp?) {
        self.waiting = waiting
        self.nextClaimAt = nextClaimAt
    }
}
