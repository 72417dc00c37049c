import CollectionsDomain
import CollectionsStore

/// The `/metrics` page in the Prometheus text format (version 0.0.4).
enum PrometheusText {
    static func render(store: any AgentAPIServer.MonitoredStores, rejectedRequests: [Int: Int]) async throws -> String {
        let totals = try await store.ingestTotals()
        let outbox = try await store.outboxCounts()
        let lastSync = try await store.runs(job: "contracts", limit: 20).first { $0.outcome == .completed || $0.outcome == .completedWithDiscrepancy }
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for sample in samples { lines.append("\(name)\(sample.labels) \(sample.value)") }
        }
        metric("miles_adapter_updates_received_total", "counter", "Agents' updates stored, from files and posts.",
               [("", String(totals.received))])
        metric("miles_adapter_updates_rejected_total", "counter", "Agents' rows rejected (bad row) or refused (by a guard).",
               [("{reason=\"bad_row\"}", String(totals.rejected)), ("{reason=\"guard\"}", String(totals.refused))])
        metric("miles_adapter_http_requests_rejected_total", "counter", "Agents' HTTP requests turned away, by status.",
               rejectedRequests.keys.sorted().map { ("{status=\"\($0)\"}", String(rejectedRequests[$0] ?? 0)) })
        metric("miles_adapter_outbox_depth", "gauge", "MILES calls waiting to be sent (pending or sending).",
               [("", String((outbox[.pending] ?? 0) + (outbox[.sending] ?? 0)))])
        metric("miles_adapter_outbox_dead_letters", "gauge", "MILES calls given up on, waiting for a person.",
               [("", String(outbox[.deadLetter] ?? 0))])
        metric("miles_adapter_last_sync_timestamp_seconds", "gauge", "When the last successful contract sync ended (Unix time).",
               [("", lastSync?.endedAt.map { String(Double($0.millisecondsSinceEpoch) / 1000) } ?? "0")])
        return lines.joined(separator: "\n") + "\n"
    }
}
