import CollectionsDomain
import CollectionsStore
import Foundation
import GRDB
import MilesMapping
import MilesMock
import MilesSync
import Testing
import TestSupport

@Suite("People prove who they are: users in the store, passwords, tokens and lockout (issue 13, identity)", .serialized, .timeLimit(.minutes(2)))
struct IdentityTests {
    @Test("the first user must be able to manage the others; after that only that role adds, disables and resets, all audited",
          arguments: StoreKind.available)
    func administration(kind: StoreKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let desk = PeopleDesk(store: store, mappings: try MappingSet.load(directory: repositoryMappings), cost: 4)
            await #expect { try await desk.addUser(name: "alice", displayName: nil, role: "agent", password: nil, by: nil) }
                throws: { ($0 as? IdentityError)?.code == .notAuthorised }
            let carolPassword = try await desk.addUser(name: "carol", displayName: "Carol Head", role: "headOfCredit", password: nil, by: nil)
            let carol = try await desk.authenticate(name: "carol", password: carolPassword)
            await #expect { try await desk.addUser(name: "eve", displayName: nil, role: "agent", password: nil, by: nil) }
                throws: { ($0 as? IdentityError)?.code == .notAuthenticated }
            _ = try await desk.addUser(name: "bob", displayName: nil, role: "teamLeader", password: "bob-long-password", by: carol)
            let bob = try await desk.authenticate(name: "bob", password: "bob-long-password")
            // Typed with a capital or a space, as a sign-in form gets it: still bob, not a wrong guess counted against him.
            #expect(try await desk.authenticate(name: " Bob ", password: "bob-long-password").name == "bob")
            #expect(try await desk.authenticate(name: "BOB", password: "bob-long-password").name == "bob")
            await #expect { try await desk.addUser(name: "eve", displayName: nil, role: "agent", password: nil, by: bob) }
                throws: { ($0 as? IdentityError)?.code == .notAuthorised }
            await #expect { try await desk.addUser(name: "eve", displayName: nil, role: "agent", password: "short", by: carol) }
                throws: { ($0 as? IdentityError)?.code == .weakPassword }
            await #expect { try await desk.addUser(name: "outbox-relay", displayName: nil, role: "agent", password: nil, by: carol) }
                throws: { ($0 as? IdentityError)?.code == .invalidName }

            let stored = try #require(try await store.user(named: "bob"))
            #expect(stored.passwordHash.hasPrefix("$2") && !stored.passwordHash.contains("bob-long-password"))
            try await desk.disable(name: "bob", reason: "left the team", by: carol)
            await #expect { try await desk.authenticate(name: "bob", password: "bob-long-password") }
                throws: { ($0 as? IdentityError)?.code == .disabled }
            let actions = try await store.auditEntries().map(\.action)
            #expect(actions.filter { $0 == "user.added" }.count == 2)
            #expect(actions.contains("user.disabled"))
        }
    }

    @Test("the fifth wrong password in a row locks the account (audited), told only to the right password; a reset unlocks it",
          arguments: StoreKind.available)
    func lockout(kind: StoreKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let desk = PeopleDesk(store: store, mappings: try MappingSet.load(directory: repositoryMappings), cost: 4)
            let password = try await desk.addUser(name: "carol", displayName: nil, role: "headOfCredit", password: nil, by: nil)
            let carol = try await desk.authenticate(name: "carol", password: password)
            _ = try await desk.addUser(name: "alice", displayName: nil, role: "agent", password: "alice-long-password", by: carol)
            for attempt in 1...5 {
                await #expect { try await desk.authenticate(name: "alice", password: "guess-\(attempt)") }
                    throws: { ($0 as? IdentityError)?.code == .wrongPassword }
            }
            await #expect { try await desk.authenticate(name: "alice", password: "alice-long-password") }
                throws: { ($0 as? IdentityError)?.code == .locked }
            #expect(try await store.auditEntries().contains { $0.action == "user.locked" && $0.subject == "user:alice" })
            await #expect { try await desk.authenticate(name: "nobody", password: "anything-at-all") }
                throws: { ($0 as? IdentityError)?.code == .wrongPassword }
            let token = try await desk.issueToken(for: carol)
            for attempt in 1...5 { _ = try? await desk.authenticate(name: "carol", password: "guess-\(attempt)") }
            #expect(try await store.user(named: "carol")?.locked == true)
            #expect(try await desk.authenticate(token: token).name == "carol", "a token still works for someone whose password is under attack")
            let fresh = try await desk.resetPassword(name: "alice", by: carol)
            #expect(try await desk.authenticate(name: "alice", password: fresh).name == "alice")
        }
    }

    @Test("the CLI refuses a decision on a claimed name, saying how to authenticate; with a personal token it goes through in that person's name",
          arguments: StoreKind.available)
    func commandLineDecisions(kind: StoreKind) async throws {
        try await withHarness(contracts: 60, store: kind) { harness in
            let (store, candidates) = try await harness.syncedAnyStore()
            let scratch = try await ScratchSetup(harness: harness)
            defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
            let file = try scratch.file("w.csv", "contract_number,amount,invoice_numbers,reason_code,comment\n\(candidates[0].contractNumber),1.00,,UNEC,x\n")
            #expect(try await scratch.run(["writeoff", "prepare", file], as: "alice").status == 0)

            let claimed = try await runAdapterSeparately(["writeoff", "approve", "1", "--config", scratch.folder + "/miles-adapter.yaml"],
                                                         environment: scratch.environment.merging(["MILES_ADAPTER_USER": "carol"]) { $1 })
            #expect(claimed.status == 7)
            #expect(claimed.errors.contains("a name (user: or MILES_ADAPTER_USER) proves nothing: set MILES_ADAPTER_TOKEN"), "\(claimed.errors)")
            #expect(try await store.writeOffRequests(state: nil).first?.approvals.isEmpty == true)

            let forged = try await runAdapterSeparately(["writeoff", "approve", "1", "--config", scratch.folder + "/miles-adapter.yaml"],
                                                        environment: scratch.environment.merging(["MILES_ADAPTER_TOKEN": "mat_not-a-token"]) { $1 })
            #expect(forged.status == 7)
            #expect(!forged.errors.contains("mat_not-a-token"))

            let approved = try await scratch.run(["writeoff", "approve", "1", "--comment", "checked"], as: "bob")
            #expect(approved.status == 0, "\(approved.errors)")
            #expect(try await store.writeOffRequests(state: nil).first?.approvals.map(\.approver) == ["bob"])
            #expect(try await store.auditEntries().contains { $0.actor == "bob" && $0.subject == "writeoff:1" })
        }
    }
}
