import CollectionsDomain
import Foundation
import MilesMapping
import MilesMock
import MilesSOAP
import MilesSync
import Testing

@Suite("WS-Security wsu:Timestamp against a mock MILES that requires it", .serialized, .timeLimit(.minutes(2)))
struct WSSecurityTimestampEndToEndTests {
    let credentials = MilesCredentials(username: MockMilesConfiguration.defaultUsername, password: MockMilesConfiguration.defaultPassword)

    func withStrictMock(_ body: (MockMilesServer, MappingSet) async throws -> Void) async throws {
        let server = try await MockMilesServer.start(configuration: MockMilesConfiguration(
            contractCount: 50, seed: 2026, contractDirectory: repositoryMappings + "/wsdl", requireTimestamp: true))
        do {
            try await body(server, try MappingSet.load(directory: repositoryMappings))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// GetContract through a SOAP client of its own, whose clock and credentials the test sets.
    func getContract(_ server: MockMilesServer, _ mappings: MappingSet, credentials: MilesCredentials,
                     now: @escaping @Sendable () -> Date = { Date() }) async throws(SOAPCallError) -> String {
        let client = SOAPClient(configuration: SOAPClient.Configuration(
            endpoint: server.endpoint, credentials: credentials, messageNamespace: mappings.contract.namespace,
            faultNames: mappings.contract.faultNames, classifier: mappings.contract.faultClassifier, now: now))
        return try await client.call(service: "ContractService", operation: "GetContract", soapAction: "GetContract", kind: .read,
                                     payload: { $0.raw("<m:GetContract><m:ContractNumber>C00000001</m:ContractNumber></m:GetContract>") },
                                     decoder: { _ in PayloadNameDecoder() })
    }

    @Test("the adapter's requests carry a Timestamp the mock accepts: a page of contracts and a single contract")
    func accepted() async throws {
        try await withStrictMock { server, mappings async throws in
            let gateway = MilesGateway(connection: MilesConnection(endpoint: server.endpoint, credentials: credentials), mappings: mappings)
            let page = try await gateway.findContracts(changedSince: nil, cursor: nil, pageSize: 20)
            #expect(page.contracts.count == 20)
            #expect(try await gateway.getContract(number: "C00000001") != nil)
            #expect(await server.miles.journalEntries().map(\.outcome) == ["ok", "ok"])
        }
    }

    @Test("a Timestamp the mock refuses stops the call as an authentication failure: one already expired, or the adapter's clock set back",
          arguments: [(Duration.zero, 0.0), (.seconds(60), -200.0)])
    func refused(timeToLive: Duration, clockOffset: TimeInterval) async throws {
        try await withStrictMock { server, mappings async throws in
            var expiring = credentials
            expiring.timestampTimeToLive = timeToLive
            do throws(SOAPCallError) {
                _ = try await getContract(server, mappings, credentials: expiring, now: { Date().addingTimeInterval(clockOffset) })
                Issue.record("the call was answered")
            } catch {
                #expect(error.disposition == .authentication)
                #expect(error.faultCode == "CREATED_OUT_OF_RANGE")
                #expect(error.description.contains("expired"))
            }
            // The same clock and a Timestamp that lives long enough: answered, so it was the Timestamp that was refused.
            expiring.timestampTimeToLive = .seconds(300)
            #expect(try await getContract(server, mappings, credentials: expiring, now: { Date().addingTimeInterval(clockOffset) })
                == "GetContractResponse")
        }
    }

    @Test("with the Timestamp off (MILES_ADAPTER_MILES_TIMESTAMP=false) the sync is refused as for bad credentials, exit 3; on by default it completes")
    func offIsRefused() async throws {
        try await withStrictMock { server, _ async throws in
            let store = SyncHarness.temporaryStorePath()
            defer { try? FileManager.default.removeItem(atPath: store) }
            let environment = [
                "MILES_ADAPTER_ENDPOINT": server.endpoint, "MILES_ADAPTER_USERNAME": MockMilesConfiguration.defaultUsername,
                "MILES_ADAPTER_PASSWORD": MockMilesConfiguration.defaultPassword, "MILES_ADAPTER_DATABASE": store,
                "MILES_ADAPTER_MAPPINGS": repositoryMappings,
            ]
            let off = try await runAdapter(["sync", "contracts"], environment: environment.merging(["MILES_ADAPTER_MILES_TIMESTAMP": "false"]) { $1 })
            #expect(off.status == 3, "\(off.output)")
            #expect(off.output.contains("wsu:Timestamp is required"), "\(off.output)")

            let badTimeToLive = try await runAdapter(["sync", "contracts"],
                                                     environment: environment.merging(["MILES_ADAPTER_MILES_TIMESTAMP_TIME_TO_LIVE_SECONDS": "0"]) { $1 })
            #expect(badTimeToLive.status == 5)
            #expect(badTimeToLive.output.contains("miles.timestampTimeToLiveSeconds='0' must be a whole number above 0"), "\(badTimeToLive.output)")

            let on = try await runAdapter(["sync", "contracts"], environment: environment)
            #expect(on.status == 0, "\(on.output)")
        }
    }
}
