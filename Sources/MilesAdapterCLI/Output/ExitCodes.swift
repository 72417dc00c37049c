import ArgumentParser
import CollectionsDomain
import CollectionsStore
import MilesMapping
import MilesSync

extension CommandFailure.Code {
    /// What each code means: the table `--help` prints and the README repeats (a test keeps them equal).
    var meaning: String {
        switch self {
        case .success: "success, or nothing to do (a line says so)"
        case .failed: "failed, or nothing asked for could be done (refusals listed)"
        case .usage: "bad command line: unknown command or option, bad value"
        case .authentication: "MILES refused the credentials (nothing was written)"
        case .mappings: "mapping files have problems (file:line: …), or lack a job's operation"
        case .configuration: "configuration unusable, or audit log broken (see message)"
        case .partly: "partly done: some went through, some refused (listed)"
        case .identity: "you could not be authenticated, or your role may not do this"
        }
    }

    static var table: String {
        allCases.map { "  \($0.rawValue)  \($0.meaning)" }.joined(separator: "\n")
    }

    /// The exit for a command that acted on several items: 0 when none was refused, 1 when all were, 6 when some were.
    static func outcome(done: Int, refused: Int) throws {
        guard refused > 0 else { return }
        throw ExitCode(done == 0 ? Self.failed.rawValue : Self.partly.rawValue)
    }
}

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
            self.init(message: error.description, exitCode: error.code == .unknownUser || error.code == .unknownRole ? .configuration
                          : .failed)
        case let error as ArrangementDeskError:
            self.init(message: error.description, exitCode: .failed)
        case let error as ArrangementError:
            self.init(message: error.description, exitCode: .failed)
        case let error as CreditDeskError:
            self.init(message: error.description, exitCode: .failed)
        case let error as IngestError:
            self.init(message: error.description, exitCode: .failed)
        case let error as BankImportError:
            self.init(message: error.description, exitCode: .failed)
        case let error as DropFolderError:
            self.init(message: error.description, exitCode: .failed)
        case let error as PlacementError:
            self.init(message: error.description, exitCode: .failed)
        case let error as ContractDeskError:
            self.init(message: error.description, exitCode: .failed)
        case let error as StoreError:
            self.init(message: error.description, exitCode: .failed)
        case let error as OutboxDeskError:
            self.init(message: error.description, exitCode: .failed)
        case let error as IdentityError:
            self.init(message: error.description, exitCode: .identity)
        case let error as AuditDeskError:
            self.init(message: error.description, exitCode: error.code == .brokenChain ? .configuration : .failed)
        case let error as RiskDeskError:
            self.init(message: error.description, exitCode: error.code == .notAuthorised ? .identity : .failed)
        case let error as AgentFileError:
            self.init(message: error.description, exitCode: .failed)
        case let error as UnmappedOperationError:
            self.init(message: error.description, exitCode: .mappings)
        default:
            return nil
        }
    }
}
