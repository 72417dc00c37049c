import Synchronization

/// The goals a run is held to (issue 16: storing floor, memory, peers). Each benchmark prints its
/// figures first and records here every goal it missed; the bench then names them all and exits
/// non-zero, so a regression cannot land unseen.
final class Goals: Sendable {
    private let missed = Mutex<[String]>([])

    /// Records `goal` (the figure and the goal, as printed) as missed unless `met`; prints a marker
    /// beside the figure either way.
    func check(_ met: Bool, _ goal: String) {
        if !met { missed.withLock { $0.append(goal) } }
        print("    \(met ? "goal met" : "GOAL NOT MET"): \(goal)")
    }

    var missedGoals: [String] { missed.withLock { $0 } }
}

let goals = Goals()
