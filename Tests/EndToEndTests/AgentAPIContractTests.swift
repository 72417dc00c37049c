import AgentAPI
import Foundation
import GRDB
import Logging
import Testing
import Yams

/// `docs/agents-api.yaml` is what agents' developers build against: it must say what the server does.
@Suite("docs/agents-api.yaml against the running server (issue 15)", .serialized, .timeLimit(.minutes(3)))
struct AgentAPIContractTests {
    let acmeToken = AgentTokens.generate()
    let traceToken = AgentTokens.generate()

    /// Each documented operation's explicit status codes, as `METHOD /path` → codes (`default` is for the unexpected).
    static func documented() throws -> [String: Set<Int>] {
        let path = URL(fileURLWithPath: repositoryMappings).deletingLastPathComponent().appendingPathComponent("docs/agents-api.yaml").path
        let document = try #require(try Yams.load(yaml: String(contentsOfFile: path, encoding: .utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations: [String: Set<Int>] = [:]
        for (path, methods) in paths {
            for (method, operation) in methods {
                let responses = try #require((operation as? [String: Any])?["responses"] as? [String: Any], "\(method) \(path) has no responses")
                operations["\(method.uppercased()) \(path)"] = Set(responses.keys.compactMap { Int($0) })
            }
        }
        return operations
    }

    @Test("every route the server has is documented and every documented one served; every documented status is reached and none other is")
    func documentMatchesServer() async throws {
        let documented = try Self.documented()
        var seen: [String: Set<Int>] = [:]
        let csv = { (rows: Int) in
            "AccountRef,ActionCode,ActionDate,Amount,AgentRef,Notes\n" + String(repeating: "C00000008,NOTE,28/11/2026,,,called\n", count: rows)
        }
        func note(_ contract: String, _ text: String) -> Data {
            Data(#"{"updates": [{"contractNumber": "\#(contract)", "code": "NOTE", "date": "28/11/2026", "note": "\#(text)"}]}"#.utf8)
        }

        try await withHarness(contracts: 60) { harness in
            let store = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008"])
            let inbox = temporaryDirectory("inbox")
            defer { try? FileManager.default.removeItem(atPath: inbox) }
            let tokens = ["acme-dca": AgentTokens.hash(of: acmeToken), "tracewise": AgentTokens.hash(of: traceToken)]
            let desk = harness.ingestDesk(store, inbox: inbox)

            // A delivery that takes longer than the server waits: 202.
            let patient = try await AgentAPIServer.start(
                configuration: AgentAPIConfiguration(port: 0, maxBodyBytes: 4 << 20, answerWithin: .zero, tokenHashes: tokens),
                desk: desk, monitored: store, logger: Logger(label: "test"))
            let later = try await APIClient(base: "http://127.0.0.1:\(patient.port)")
                .send("POST", "/v1/agents/acme-dca/updates", token: acmeToken, contentType: "text/csv", body: Data(csv(3_000).utf8))
            seen["POST /v1/agents/{agent}/updates", default: []].insert(later.status)
            await patient.stop()

            let server = try await AgentAPIServer.start(
                configuration: AgentAPIConfiguration(port: 0, maxBodyBytes: 4_096, requestsPerMinute: 10, answerWithin: .seconds(30),
                                                     tokenHashes: tokens),
                desk: desk, monitored: store, logger: Logger(label: "test"))
            let served = Set(server.routes)
            #expect(served.subtracting(documented.keys).isEmpty, "served but not documented: \(served.subtracting(documented.keys).sorted())")
            #expect(Set(documented.keys).subtracting(served).isEmpty, "documented but not served: \(Set(documented.keys).subtracting(served).sorted())")

            do {
                let api = APIClient(base: "http://127.0.0.1:\(server.port)")
                func send(_ method: String, _ template: String, _ path: String, token: String? = nil, contentType: String? = nil,
                          body: Data? = nil) async throws -> APIClient.Answer {
                    let answer = try await api.send(method, path, token: token, contentType: contentType, body: body)
                    seen["\(method) \(template)", default: []].insert(answer.status)
                    return answer
                }
                let updates = "/v1/agents/{agent}/updates"
                let delivery = "/v1/agents/{agent}/updates/{id}"
                let created = try await send("POST", updates, "/v1/agents/acme-dca/updates", token: acmeToken, contentType: "application/json",
                                             body: note("C00000008", "spoke to the customer"))
                let id = try #require(created.json["id"] as? Int)
                _ = try await send("POST", updates, "/v1/agents/acme-dca/updates", token: acmeToken, contentType: "application/json",
                                   body: note("C00000008", "spoke to the customer"))
                _ = try await send("POST", updates, "/v1/agents/acme-dca/updates", token: acmeToken, contentType: "application/json",
                                   body: note("C00000013", "not placed with acme"))
                _ = try await send("POST", updates, "/v1/agents/acme-dca/updates", token: acmeToken, contentType: "text/plain", body: Data("hello".utf8))
                _ = try await send("POST", updates, "/v1/agents/acme-dca/updates", token: acmeToken, contentType: "application/json",
                                   body: note("C00000008", String(repeating: "x", count: 5_000)))
                _ = try await send("POST", updates, "/v1/agents/acme-dca/updates", contentType: "application/json", body: note("C00000008", "x"))
                _ = try await send("POST", updates, "/v1/agents/acme-dca/updates", token: traceToken, contentType: "application/json",
                                   body: note("C00000008", "x"))
                _ = try await send("GET", delivery, "/v1/agents/acme-dca/updates/\(id)", token: acmeToken)
                _ = try await send("GET", delivery, "/v1/agents/acme-dca/updates/\(id)")
                _ = try await send("GET", delivery, "/v1/agents/acme-dca/updates/\(id)", token: traceToken)
                // Tracewise floods: ten requests a minute are let through (no such delivery), then 429 on both routes. Each
                // route is asked until it refuses (at most 40 times): a loaded machine may answer slowly enough for a refill.
                for _ in 1...40 where try await send("GET", delivery, "/v1/agents/tracewise/updates/\(id)", token: traceToken).status == 429 {
                    break
                }
                for _ in 1...40 where try await send("POST", updates, "/v1/agents/tracewise/updates", token: traceToken,
                                                     contentType: "application/json", body: note("C00000008", "x")).status == 429 {
                    break
                }
                _ = try await send("GET", "/metrics", "/metrics")
                _ = try await send("GET", "/healthz", "/healthz")
                // The store damaged under the running server: the probe says so.
                try await DatabaseQueue(path: harness.storePath).write { try $0.execute(sql: "DROP TABLE contracts_revision") }
                _ = try await send("GET", "/healthz", "/healthz")
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }

        for (operation, codes) in documented {
            #expect(codes.subtracting(seen[operation] ?? []).isEmpty,
                    "\(operation): documented but never answered: \(codes.subtracting(seen[operation] ?? []).sorted())")
        }
        for (operation, codes) in seen {
            #expect(codes.isSubset(of: documented[operation] ?? []),
                    "\(operation): answered but not documented: \(codes.subtracting(documented[operation] ?? []).sorted())")
        }
    }
}
