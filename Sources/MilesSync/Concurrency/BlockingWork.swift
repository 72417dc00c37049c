import Dispatch

/// Runs blocking work (file copies, whole-file reads) on a Dispatch queue and suspends the caller
/// until it is done, so it never holds one of the cooperative pool's threads: on a 2-core machine
/// that is half the pool.
///
/// ```swift
/// let size = try await BlockingWork.run { try copy(path, into: inbox) }
/// ```
enum BlockingWork {
    private static let queue = DispatchQueue(label: "miles-adapter.blocking-work", attributes: .concurrent)

    static func run<Value: Sendable, Failure: Error>(_ work: @escaping @Sendable () throws(Failure) -> Value) async throws(Failure) -> Value {
        let result: Result<Value, Failure> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(Failure) { continuation.resume(returning: .success(try work())) } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
