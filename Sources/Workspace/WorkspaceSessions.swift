import CollectionsDomain
import Foundation

/// Server-side sessions of the workspace: an opaque id in an `HttpOnly; SameSite=Strict` cookie,
/// a CSRF token for every form, an idle timeout. A session starts anonymous (the sign-in form has a
/// CSRF token too) and gets a fresh id when a person signs in, so an id seen before sign-in is
/// worth nothing after it; signing out forgets it. Kept in memory: a restart signs everyone out.
actor WorkspaceSessions {
    struct Session: Sendable {
        let id: String
        let csrf: String
        var person: CollectionsUser?
        var displayName: String?
        var lastSeen: ContinuousClock.Instant
        /// A message for the next page (after a redirect), and whether it is an error.
        var flash: (text: String, isError: Bool)?
        /// Signed in with a one-time password: nothing but changing it until it is changed.
        var mustChangePassword = false
    }

    private var sessions: [String: Session] = [:]
    private let idle: Duration
    /// The most sessions nobody has signed in to: anyone can start one by opening the sign-in page,
    /// so past this the oldest are dropped (their forms then ask to sign in again).
    private let maxAnonymous: Int
    private let clock = ContinuousClock()

    init(idle: Duration, maxAnonymous: Int = 10_000) {
        self.idle = idle
        self.maxAnonymous = maxAnonymous
    }

    var count: Int { sessions.count }

    /// The live session with this id, touched; nil when unknown or idle too long.
    func session(_ id: String?) -> Session? {
        guard let id, var session = sessions[id] else { return nil }
        let now = clock.now
        guard session.lastSeen.duration(to: now) <= idle else {
            sessions[id] = nil
            return nil
        }
        session.lastSeen = now
        sessions[id] = session
        return session
    }

    /// A new anonymous session, for the sign-in form. Sessions left idle too long are swept out first,
    /// and the oldest anonymous ones beyond the cap.
    func start() -> Session {
        let now = clock.now
        sessions = sessions.filter { $0.value.lastSeen.duration(to: now) <= idle }
        let anonymous = sessions.values.filter { $0.person == nil }
        if anonymous.count >= maxAnonymous {
            for old in anonymous.sorted(by: { $0.lastSeen < $1.lastSeen }).prefix(anonymous.count - maxAnonymous + 1) { sessions[old.id] = nil }
        }
        let session = Session(id: Self.random(), csrf: Self.random(), person: nil, displayName: nil, lastSeen: clock.now, flash: nil)
        sessions[session.id] = session
        return session
    }

    /// Replaces the anonymous session `id` with a signed-in one under a new id.
    func signIn(replacing id: String, person: CollectionsUser, displayName: String, mustChangePassword: Bool) -> Session {
        sessions[id] = nil
        let session = Session(id: Self.random(), csrf: Self.random(), person: person, displayName: displayName, lastSeen: clock.now, flash: nil,
                              mustChangePassword: mustChangePassword)
        sessions[session.id] = session
        return session
    }

    func passwordChanged(_ id: String) {
        sessions[id]?.mustChangePassword = false
    }

    func setFlash(_ id: String, _ text: String, error: Bool) {
        sessions[id]?.flash = (text, error)
    }

    func takeFlash(_ id: String) -> (String, Bool)? {
        defer { sessions[id]?.flash = nil }
        return sessions[id]?.flash.map { ($0.text, $0.isError) }
    }

    func signOut(_ id: String) {
        sessions[id] = nil
    }

    private static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }
}
