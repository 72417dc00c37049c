#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where every desk and job reads "now": the system's wall clock in production, a fixed or
/// stepping clock in tests.
///
/// ```swift
/// let clock = CollectionsClock.system
/// let stamp = clock()                        // now, to the millisecond
/// let frozen = CollectionsClock.fixed(stamp)  // always the same instant
/// ```
public struct CollectionsClock: Sendable {
    private let read: @Sendable () -> Timestamp

    /// A clock that answers with whatever `read` returns.
    public init(_ read: @escaping @Sendable () -> Timestamp) {
        self.read = read
    }

    /// The current instant.
    public func callAsFunction() -> Timestamp {
        read()
    }

    /// The system's wall clock (UTC).
    public static let system = CollectionsClock {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    /// A clock stopped at `instant`.
    public static func fixed(_ instant: Timestamp) -> CollectionsClock {
        CollectionsClock { instant }
    }
}
