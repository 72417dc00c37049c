import ArgumentParser
import CollectionsDomain
import CollectionsStore
import CollectionsStoreSQLite
import Foundation
import MilesSync

/// `miles-adapter users …`: the people who may sign in and act, in the store.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "The people who may act: add, list, disable, enable, reset passwords, make personal tokens.",
        discussion: """
            People live in the store, each with a role of authority-matrix.yaml and a bcrypt password hash. A decision (approve,
            reject, override, status change, placement, recall, hold, notice, note, outbox retry or skip) is taken by an
            authenticated person: their personal token in MILES_ADAPTER_TOKEN (or MILES_ADAPTER_TOKEN_FILE), or their password
            typed at a prompt on a terminal. Managing people needs the role userAdministration names in authority-matrix.yaml;
            the first person added must hold it. Every change is audited.
            """,
        subcommands: [Add.self, List.self, Disable.self, Enable.self, ResetPassword.self, Password.self, Token.self])

    /// A password from the next line of standard input (for scripts), or typed at `prompt` on a terminal.
    static func password(fromStandardInput: Bool, prompt: String) throws -> String {
        if fromStandardInput {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw CommandFailure(message: "no password on standard input", exitCode: .usage)
            }
            return line
        }
        guard isatty(STDIN_FILENO) == 1, let typed = getpass(prompt) else {
            throw CommandFailure(message: "give the password at the prompt on a terminal, or with --password-stdin", exitCode: .usage)
        }
        return String(cString: typed)
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a person; prints a one-time password to give them, unless --password-stdin.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user name (lower case).") var name: String
        @Option(help: "A role of authority-matrix.yaml.") var role: String
        @Option(help: "The name shown in the workspace and the audit log.") var displayName: String?
        @Flag(help: "Read the password from the first line of standard input instead of making one.") var passwordStdin = false

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                let admin = try await session.store.users().isEmpty ? nil : try await session.person()
                let given = passwordStdin ? try UsersCommand.password(fromStandardInput: true, prompt: "") : nil
                let password = try await session.peopleDesk.addUser(name: name, displayName: displayName, role: role, password: given, by: admin)
                print("\(name) added as \(role)")
                if given == nil { print("one-time password for \(name) (shown once; give it to them in person): \(password)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the people, with their roles and whether they may sign in.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                let people = try await session.store.users()
                if people.isEmpty { print("no users yet: 'miles-adapter users add NAME --role ROLE' adds the first, who manages the others") }
                for user in people {
                    print("\(user.name)\t\(user.displayName)\t\(user.role)\t" + (user.enabled ? (user.locked ? "locked" : "enabled") : "disabled"))
                }
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a person from signing in or acting (audited).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user name.") var name: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                try await session.peopleDesk.disable(name: name, reason: reason, by: try await session.person())
                print("\(name) disabled")
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a disabled person sign in again (audited).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user name.") var name: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                try await session.peopleDesk.enable(name: name, reason: reason, by: try await session.person())
                print("\(name) enabled")
            }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password", abstract: "Give a person a new one-time password, unlocking them (audited).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user name.") var name: String

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                let password = try await session.peopleDesk.resetPassword(name: name, by: try await session.person())
                print("one-time password for \(name) (shown once; give it to them in person): \(password)")
            }
        }
    }

    struct Password: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change your password (a one-time password must be changed before it makes a token or signs in).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Your user name.") var name: String
        @Flag(help: "Read the current password, then the new one, from the first two lines of standard input.") var passwordStdin = false

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                let current = try UsersCommand.password(fromStandardInput: passwordStdin, prompt: "current password for \(name): ")
                let new = try UsersCommand.password(fromStandardInput: passwordStdin, prompt: "new password: ")
                try await session.peopleDesk.changePassword(name: name, current: current, new: new)
                print("\(name)'s password changed")
            }
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a personal token for the command line, after your password; shown once, kept only as its hash.",
            discussion: "Put it in MILES_ADAPTER_TOKEN, or in a file readable by you only named by MILES_ADAPTER_TOKEN_FILE.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Your user name.") var name: String
        @Flag(help: "Read your password from the first line of standard input instead of a prompt.") var passwordStdin = false

        func run() async throws {
            try await reportingFailures {
                let session = try await CommandSession(global)
                let password = try UsersCommand.password(fromStandardInput: passwordStdin, prompt: "password for \(name): ")
                let person = try await session.peopleDesk.authenticate(name: name, password: password)
                guard try await !session.peopleDesk.mustChangePassword(person) else {
                    throw CommandFailure(message: "\(name) still has a one-time password: change it first ('miles-adapter users password \(name)')",
                                         exitCode: .identity)
                }
                print(try await session.peopleDesk.issueToken(for: person))
            }
        }
    }
}
