import CollectionsDomain
import CollectionsStore

/// A delivery's decided rows, committed in file order in batches, each with the delivery's cursor.
/// Up to two batches wait for the writer while the next is assembled, so the writer never waits for
/// the reader to be scheduled, and memory stays flat. Each batch's write waits for the one before:
/// the first failure stops every batch after it.
struct IngestBatches {
    let store: any IngestStore
    let fileId: Int64
    let actor: String
    let now: CollectionsClock
    private var pending: [IngestRow] = []
    private var lastLine: Int
    private var submittedLine: Int
    /// Batches handed to the writer and not yet known to be committed, oldest first.
    private var writing: [Task<Void, any Error>] = []

    init(store: any IngestStore, fileId: Int64, linesDone: Int, actor: String, now: CollectionsClock) {
        self.store = store
        self.fileId = fileId
        self.actor = actor
        self.now = now
        lastLine = linesDone
        submittedLine = linesDone
    }

    /// Adds a row; a full batch is handed to the writer.
    mutating func append(_ row: IngestRow, line: Int, flushingAt batchSize: Int) async throws {
        pending.append(row)
        lastLine = line
        if pending.count >= batchSize { try await flush() }
    }

    /// Hands what is pending to the writer and waits until every batch is committed.
    mutating func drain() async throws {
        try await flush()
        // Each write waits for the one before it, so the newest settles last.
        let newest = writing.last
        writing.removeAll()
        try await newest?.value
    }

    /// After a failure: waits for the batches being written, whatever their outcome.
    mutating func abandon() async {
        for batch in writing { _ = try? await batch.value }
        writing.removeAll()
    }

    private mutating func flush() async throws {
        guard lastLine > submittedLine else { return }
        if writing.count == 2 { try await writing.removeFirst().value }
        let (store, fileId, actor, now, rows, line, previous) = (store, fileId, actor, now, pending, lastLine, writing.last)
        writing.append(Task {
            try await previous?.value
            try await store.applyIngestBatch(fileId: fileId, throughLine: line, rows: rows, by: actor, at: now())
        })
        submittedLine = lastLine
        pending.removeAll(keepingCapacity: true)
    }
}
