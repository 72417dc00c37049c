import AgentAPI
import CollectionsDomain
import CollectionsStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import MilesMock
import MilesSync
import Testing
import TestSupport

/// A plain HTTP client for the tests: status, headers and the JSON body.
struct APIClient {
    let base: String

    struct Answer {
        let status: Int
        let headers: [AnyHashable: Any]
        let body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func send(_ method: String, _ path: String, token: String? = nil, contentType: String? = nil, body: Data? = nil) async throws -> Answer {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return Answer(status: http.statusCode, headers: http.allHeaderFields, body: data)
    }
}

@Suite("The agents' HTTP endpoint", .serialized, .timeLimit(.minutes(2)))
struct AgentAPIEndToEndTests {
    let acmeToken = AgentTokens.generate()
    let traceToken = AgentTokens.generate()

    func withServer(_ kind: StoreKind, maxBodyBytes: Int = 4_096, requestsPerMinute: Int = 30, failedAuthenticationsPerMinute: Int = 10,
                    _ body: (SyncHarness, any CollectionsStores, APIClient) async throws -> Void) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let store = try await harness.placedStore(agent: "acme-dca", contracts: ["C00000008"])
            let inbox = temporaryDirectory("inbox")
            defer { try? FileManager.default.removeItem(atPath: inbox) }
            let configuration = AgentAPIConfiguration(
                port: 0, maxBodyBytes: maxBodyBytes, requestsPerMinute: requestsPerMinute,
                failedAuthenticationsPerMinute: failedAuthenticationsPerMinute,
                // A generous answer window: on a loaded machine a small delivery must still be answered with its result.
                answerWithin: .seconds(30),
                tokenHashes: ["acme-dca": AgentTokens.hash(of: acmeToken), "tracewise": AgentTokens.hash(of: traceToken)])
            let server = try await AgentAPIServer.start(configuration: configuration, desk: harness.ingestDesk(store, inbox: inbox),
                                                        monitored: store, logger: Logger(label: "test"))
            do {
                try await body(harness, store, APIClient(base: "http://127.0.0.1:\(server.port)"))
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }
    }

    func note(_ contract: String, _ text: String) -> Data {
        Data(#"{"updates": [{"contractNumber": "\#(contract)", "code": "NOTE", "date": "28/11/2026", "note": "\#(text)"}]}"#.utf8)
    }

    @Test("401 without or with a wrong token, 403 on another agent's path, 413 over the size limit: JSON errors, nothing stored",
          arguments: StoreKind.available)
    func refusals(kind: StoreKind) async throws {
        try await withServer(kind) { _, store, api in
            let path = "/v1/agents/acme-dca/updates"
            let missing = try await api.send("POST", path, contentType: "application/json", body: note("C00000008", "x"))
            #expect(missing.status == 401)
            #expect(missing.json["error"] as? String == "unauthorized")
            let wrong = try await api.send("POST", path, token: "not-a-token", contentType: "application/json", body: note("C00000008", "x"))
            #expect(wrong.status == 401)
            let other = try await api.send("POST", path, token: traceToken, contentType: "application/json", body: note("C00000008", "x"))
            #expect(other.status == 403)
            #expect((other.json["message"] as? String)?.contains("tracewise") == true)
            let big = try await api.send("POST", path, token: acmeToken, contentType: "application/json",
                                         body: note("C00000008", String(repeating: "x", count: 5_000)))
            #expect(big.status == 413)
            #expect(big.json["error"] as? String == "payload_too_large")
            #expect(try await store.inboxFiles(agent: nil, state: nil, limit: 10).isEmpty)
            #expect(try await store.ingestTotals().received == 0)
        }
    }

    @Test("429 once an agent floods past its rate, with Retry-After; other agents are unaffected; nothing stored",
          arguments: StoreKind.available)
    func rateLimit(kind: StoreKind) async throws {
        try await withServer(kind, requestsPerMinute: 3) { _, store, api in
            for _ in 1...3 {
                #expect(try await api.send("GET", "/v1/agents/tracewise/updates/99", token: traceToken).status == 404)
            }
            let flooded = try await api.send("POST", "/v1/agents/tracewise/updates", token: traceToken, contentType: "application/json",
                                             body: note("C00000008", "x"))
            #expect(flooded.status == 429)
            #expect(flooded.json["error"] as? String == "rate_limited")
            #expect(flooded.headers["Retry-After"] != nil)
            #expect(try await api.send("GET", "/v1/agents/acme-dca/updates/99", token: acmeToken).status == 404)
            #expect(try await store.inboxFiles(agent: nil, state: nil, limit: 10).isEmpty)
            let metrics = try await api.send("GET", "/metrics")
            #expect(metrics.text.contains("miles_adapter_http_requests_rejected_total{status=\"429\"} 1"))
        }
    }

    @Test("two serve processes on one store share an agent's rate and a source's failed authentications (issue 15)",
          arguments: StoreKind.available)
    func sharedRateLimits(kind: StoreKind) async throws {
        try await withServer(kind, requestsPerMinute: 3, failedAuthenticationsPerMinute: 2) { harness, _, first in
            // A second instance: its own store connection to the same database, its own server.
            let store = try await harness.openStore()
            let configuration = AgentAPIConfiguration(port: 0, requestsPerMinute: 3, failedAuthenticationsPerMinute: 2,
                                                      tokenHashes: ["acme-dca": AgentTokens.hash(of: acmeToken)])
            let inbox = temporaryDirectory("inbox-2")
            defer { try? FileManager.default.removeItem(atPath: inbox) }
            let other = try await AgentAPIServer.start(configuration: configuration, desk: harness.ingestDesk(store, inbox: inbox),
                                                       monitored: store, logger: Logger(label: "test"))
            let second = APIClient(base: "http://127.0.0.1:\(other.port)")
            do {
                #expect(try await first.send("GET", "/v1/agents/acme-dca/updates/99", token: acmeToken).status == 404)
                #expect(try await first.send("GET", "/v1/agents/acme-dca/updates/99", token: acmeToken).status == 404)
                #expect(try await second.send("GET", "/v1/agents/acme-dca/updates/99", token: acmeToken).status == 404)
                let flooded = try await second.send("GET", "/v1/agents/acme-dca/updates/99", token: acmeToken)
                #expect(flooded.status == 429)
                #expect(flooded.json["error"] as? String == "rate_limited")
                #expect(try await first.send("GET", "/v1/agents/acme-dca/updates/99", token: acmeToken).status == 429)

                // Failed authentications from one address, counted wherever they land.
                #expect(try await first.send("GET", "/v1/agents/acme-dca/updates/99", token: "wrong").status == 401)
                #expect(try await second.send("GET", "/v1/agents/acme-dca/updates/99", token: "wrong").status == 401)
                let throttled = try await second.send("GET", "/v1/agents/acme-dca/updates/99", token: "wrong")
                #expect(throttled.status == 429)
                #expect(throttled.json["error"] as? String == "too_many_failed_authentications")
            } catch {
                await other.stop()
                throw error
            }
            await other.stop()
        }
    }

    @Test("a valid post is applied, visible through GET and reaches MILES; a post about a contract not placed with the agent is refused",
          arguments: StoreKind.available)
    func validPost(kind: StoreKind) async throws {
        try await withServer(kind) { harness, store, api in
            let posted = try await api.send("POST", "/v1/agents/acme-dca/updates", token: acmeToken, contentType: "application/json",
                                            body: note("C00000008", "spoke to the customer"))
            #expect(posted.status == 201)
            let id = try #require(posted.json["id"] as? Int)
            #expect(posted.headers["Location"] as? String == "/v1/agents/acme-dca/updates/\(id)")
            #expect(posted.json["applied"] as? Int == 1)
            let read = try await api.send("GET", "/v1/agents/acme-dca/updates/\(id)", token: acmeToken)
            #expect(read.status == 200)
            #expect(read.json["state"] as? String == "processed")
            #expect((read.json["updates"] as? [[String: Any]])?.first?["contractNumber"] as? String == "C00000008")
            // Another agent cannot read it.
            #expect(try await api.send("GET", "/v1/agents/tracewise/updates/\(id)", token: traceToken).status == 404)

            let notPlaced = try await api.send("POST", "/v1/agents/acme-dca/updates", token: acmeToken, contentType: "application/json",
                                               body: note("C00000013", "not ours"))
            #expect(notPlaced.status == 422)
            let errors = try #require(notPlaced.json["errors"] as? [[String: Any]])
            #expect((errors.first?["reason"] as? String)?.contains("not placed with acme-dca") == true)

            let pushed = try await harness.relay(store).run()
            #expect(pushed.notesAdded == 1)
            let notes = await harness.server.miles.contractNotes()
            #expect(notes.map(\.contractNumber) == ["C00000008"])
            #expect(notes.first?.text.contains("spoke to the customer") == true)

            #expect(try await api.send("GET", "/healthz").status == 200)
            let metrics = try await api.send("GET", "/metrics").text
            #expect(metrics.contains("miles_adapter_updates_received_total 1\n"))
            #expect(metrics.contains("miles_adapter_updates_rejected_total{reason=\"bad_row\"} 1\n"))
            #expect(metrics.contains("miles_adapter_outbox_depth 0\n"))
            #expect(metrics.contains("miles_adapter_last_sync_timestamp_seconds "))
            // Requests by route template (never the agent's name), method and status, and their latency.
            #expect(metrics.contains(#"miles_adapter_http_requests_total{route="/v1/agents/{agent}/updates",method="POST",status="201"} 1"# + "\n"))
            #expect(metrics.contains(#"miles_adapter_http_requests_total{route="/v1/agents/{agent}/updates",method="POST",status="422"} 1"# + "\n"))
            #expect(metrics.contains(#"miles_adapter_http_requests_total{route="/v1/agents/{agent}/updates/{id}",method="GET",status="404"} 1"# + "\n"))
            #expect(metrics.contains(#"miles_adapter_http_request_duration_seconds_count{route="/v1/agents/{agent}/updates",method="POST"} 2"# + "\n"))
            #expect(metrics.contains(#"miles_adapter_http_request_duration_seconds_bucket{route="/healthz",method="GET",le="+Inf"} 1"# + "\n"))
            #expect(!metrics.contains("acme-dca"))
            _ = try await api.send("GET", "/no/such/page")
            #expect(try await api.send("GET", "/metrics").text.contains(#"{route="unmatched",method="GET",status="404"} 1"#))
        }
    }
}
