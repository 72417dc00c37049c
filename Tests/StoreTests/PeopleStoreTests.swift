import CollectionsDomain
import CollectionsStore
import TestSupport
import Testing

@Suite("People, their sign-ins and tokens, on SQLite and PostgreSQL", .timeLimit(.minutes(2)))
struct PeopleStoreTests {
    let now = Timestamp(millisecondsSinceEpoch: 1_796_100_000_000)

    @Test("a person is added once; wrong passwords lock the account at the limit, a right one does not unlock it; a reset does; all audited",
          arguments: StoreKind.available)
    func signIns(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let ann = StoredUser(name: "ann", displayName: "Ann Agent", role: "agent", passwordHash: "$2b$hash", mustChangePassword: true)
            try await store.addUser(ann, by: "carol", at: now)
            await #expect(throws: StoreError.self) { try await store.addUser(ann, by: "carol", at: now) }
            #expect(try await store.user(named: "ann") == ann)
            #expect(try await store.users().map(\.name) == ["ann"])

            // Two servers counting guesses at once: every guess counts.
            let other = try await subject.reopen()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for server in [store, other] {
                    group.addTask { _ = try await server.recordSignIn(name: "ann", succeeded: false, lockAfter: 5, at: now) }
                    group.addTask { _ = try await server.recordSignIn(name: "ann", succeeded: false, lockAfter: 5, at: now) }
                }
                try await group.waitForAll()
            }
            #expect(try await store.user(named: "ann")?.failedSignIns == 4)
            #expect(try await store.recordSignIn(name: "ann", succeeded: false, lockAfter: 5, at: now).locked)
            #expect(try await store.recordSignIn(name: "ann", succeeded: true, lockAfter: 5, at: now).locked)
            try await store.setPassword(name: "ann", hash: "$2b$new", mustChange: false, by: "carol", at: now)
            let reset = try #require(try await store.user(named: "ann"))
            #expect(!reset.locked && reset.failedSignIns == 0 && !reset.mustChangePassword && reset.passwordHash == "$2b$new")
            try await store.setEnabled(name: "ann", enabled: false, by: "carol", reason: "left the team", at: now)
            #expect(try await store.user(named: "ann")?.enabled == false)
            await #expect(throws: StoreError.self) { try await store.setEnabled(name: "nobody", enabled: false, by: "carol", reason: "x", at: now) }

            try await store.addPersonalToken(name: "ann", tokenHash: "ab12", at: now)
            #expect(try await other.user(withTokenHash: "ab12")?.name == "ann")
            #expect(try await other.user(withTokenHash: "cd34") == nil)
            #expect(try await store.auditEntries().map(\.action)
                    == ["user.added", "user.locked", "user.password-set", "user.disabled", "user.token-issued"])
        }
    }
}
