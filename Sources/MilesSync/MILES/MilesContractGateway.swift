import CollectionsDomain
import MilesMapping
import MilesSOAP

/// ContractService, as the jobs call it: typed requests in, `Contract` values out, every element
/// name taken from the mappings.
public struct MilesContractGateway: Sendable {
    public let client: SOAPClient
    public let mappings: MappingSet

    public init(connection: MilesConnection, mappings: MappingSet) {
        self.mappings = mappings
        client = SOAPClient(configuration: SOAPClient.Configuration(
            endpoint: connection.endpoint, credentials: connection.credentials,
            messageNamespace: mappings.contract.namespace, faultNames: mappings.contract.faultNames,
            classifier: mappings.contract.faultClassifier, transport: connection.transport))
    }

    public func findContracts(changedSince: Timestamp?, cursor: String?, pageSize: Int) async throws(SOAPCallError) -> ContractPage {
        let mapping = mappings.contract
        let decoder = mappings.contractDecoder
        return try await client.call(
            service: mapping.findContracts.service, operation: "FindContracts", soapAction: mapping.findContracts.soapAction,
            payload: { writer in
                try mapping.writeFindContracts(changedSince: changedSince, cursor: cursor, pageSize: pageSize, into: &writer)
            },
            decoder: { reader in decoder.findContractsDecoder(reader: reader) })
    }

    public func getContract(number: String) async throws(SOAPCallError) -> Contract? {
        let mapping = mappings.contract
        let decoder = mappings.contractDecoder
        let page = try await client.call(
            service: mapping.getContract.service, operation: "GetContract", soapAction: mapping.getContract.soapAction,
            payload: { writer in try mapping.writeGetContract(contractNumber: number, into: &writer) },
            decoder: { reader in decoder.getContractDecoder(reader: reader) })
        return page.contracts.first
    }
}

/// Where MILES is and who the adapter is to it.
public struct MilesConnection: Sendable {
    /// Base URL of the MILES services, e.g. `https://miles.example.com/services`.
    public var endpoint: String
    public var credentials: MilesCredentials
    public var transport: HTTPTransportConfiguration

    public init(endpoint: String, credentials: MilesCredentials, transport: HTTPTransportConfiguration = HTTPTransportConfiguration()) {
        self.endpoint = endpoint
        self.credentials = credentials
        self.transport = transport
    }
}
