import CollectionsDomain
import CollectionsStore
import MilesMapping
import MilesSync

extension CommandFailure {
    /// The documented exit code for the adapter's typed errors, matched on their codes; nil for an
    /// error the CLI does not know (it then fails as ArgumentParser reports it).
    init?(_ error: any Error) {
        switch error {
        case let error as OutboxRelayError:
            self.init(message: "push stopped: \(error)", exitCode: error.code == .authenticationFailed ? .authentication : .failed)
        case let error as ContractSyncError:
            self.init(message: "contract sync failed: \(error)", exitCode: error.isAuthenticationFailure ? .authentication : .failed)
        case let error as WriteOffDeskError:
            self.init(message: error.description, exitCode: error.code == .unknownUser || error.code == .unknownRole ? .configuration : .failed)
        case let error as IngestError:
            self.init(message: error.description, exitCode: .failed)
        case let error as PlacementError:
            self.init(message: error.description, exitCode: .failed)
        case let error as ContractDeskError:
            self.init(message: error.description, exitCode: .failed)
        case let error as StoreError:
            self.init(message: error.description, exitCode: .failed)
        case let error as AgentFileError:
            self.init(message: error.description, exitCode: .failed)
        default:
            return nil
        }
    }
}
