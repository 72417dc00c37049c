import CollectionsDomain
import CollectionsStore

/// A delivery's decided rows, committed in file order in batches, each with the delivery's cursor.
/// One batch is written while the next is assembled, so deciding and writing share the two cores.
struct IngestBatches {
    let store: any IngestStore
    let fileId: Int64
    let actor: String
    let now: CollectionsClock
    private var pending: [IngestRow] = []
    private var lastLine: Int
    private var submittedLine: Int
    private var writing: Task<Void, any Error>?

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
        try await writing?.value
        writing = nil
    }

    /// After a failure: waits for the batch being written, whatever its outcome.
    mutating func abandon() async {
        _ = try? await writing?.value
        writing = nil
    }

    private mutating func flush() async throws {
        guard lastLine > submittedLine else { return }
        // At most one batch in flight: its failure stops the batches after it.
        try await writing?.value
        let (store, fileId, actor, now, rows, line) = (store, fileId, actor, now, pending, lastLine)
        writing = Task { try await store.applyIngestBatch(fileId: fileId, throughLine: line, rows: rows, by: actor, at: now()) }
        submittedLine = lastLine
        pending.removeAll(keepingCapacity: true)
    }
}
