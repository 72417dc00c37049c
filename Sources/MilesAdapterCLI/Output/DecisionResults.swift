/// What a desk's approvals and rejections did, one line each (refusals on standard error), and the
/// exit they call for: 0 when none was refused, 1 when all were, 6 when some were. The same for
/// write-offs, credit notes, reversals and arrangements.
enum DecisionResults {
    /// `true` when the approval was final and the call queued for MILES.
    static func approvals<Failure: Error>(_ results: [(id: Int64, result: Result<Bool, Failure>)]) throws {
        var failed = 0
        for (id, result) in results {
            switch result {
            case .success(true): print("\(id): approved; queued for MILES")
            case .success(false): print("\(id): approved; waits for a second approver")
            case let .failure(error):
                failed += 1
                printError("\(id): not approved: \(error)")
            }
        }
        try CommandFailure.Code.outcome(done: results.count - failed, refused: failed)
    }

    static func rejections<Failure: Error>(_ results: [(id: Int64, result: Result<Void, Failure>)]) throws {
        var failed = 0
        for (id, result) in results {
            switch result {
            case .success: print("\(id): rejected")
            case let .failure(error):
                failed += 1
                printError("\(id): not rejected: \(error)")
            }
        }
        try CommandFailure.Code.outcome(done: results.count - failed, refused: failed)
    }
}
