import CollectionsDomain
import CollectionsStore
import CollectionsStorePostgres
import Foundation
import Testing

@Suite("A PostgreSQL server that stops answering fails the call, not the night", .timeLimit(.minutes(1)))
struct PostgresDeadlineTests {
    @Test("a server that accepts the connection and never answers: opening the store fails within its operation timeout, naming it")
    func silentServer() async throws {
        // A listening socket nobody accepts from: the kernel completes the connection, and no answer ever comes.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0 && listen(listener, 8) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))

        let started = ContinuousClock.now
        do {
            _ = try await PostgresStore(location: PostgresLocation(url: "postgres://adapter@127.0.0.1:\(port)/collections?sslmode=disable", password: nil),
                                        operationTimeout: .seconds(1))
            Issue.record("a store opened on a server that never answers")
        } catch let error as StoreError {
            #expect(error.code == .unusableLocation)
            #expect(error.description.contains("127.0.0.1:\(port)"), "\(error)")
            #expect(error.description.contains("did not answer within 1"), "\(error)")
        }
        // The connection attempt never ends on its own, so the message above shows the deadline ended the call.
        // The bound shows nothing waited for the abandoned attempt afterwards (the pool's own retries last a minute);
        // it leaves room for the deadline's timer to be run late on two cores shared with the whole suite (18 s seen).
        #expect(ContinuousClock.now - started < .seconds(40))
    }
}
