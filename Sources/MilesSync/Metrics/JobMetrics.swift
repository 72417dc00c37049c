import CollectionsDomain
import Foundation

/// A batch job's run as Prometheus text, for node_exporter's textfile collector: how long it took,
/// whether it succeeded, when it ended, and what it did (pages, contracts, pushed, dead-lettered).
/// Written atomically, so the collector never reads half a file.
///
/// ```swift
/// try JobMetrics(job: "sync", succeeded: true, duration: .seconds(12), endedAt: now, counts: ["pages": 3]).write(to: path)
/// ```
public struct JobMetrics: Sendable, Equatable {
    public var job: String
    public var succeeded: Bool
    public var duration: Duration
    public var endedAt: Timestamp
    /// What the run did, by item name (`pages`, `contracts`, `pushed`, …); none when it failed early.
    public var counts: [String: Int]

    public init(job: String, succeeded: Bool, duration: Duration, endedAt: Timestamp, counts: [String: Int]) {
        self.job = job
        self.succeeded = succeeded
        self.duration = duration
        self.endedAt = endedAt
        self.counts = counts
    }

    public var prometheusText: String {
        let label = "job=\"\(job)\""
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        var lines = [
            "# HELP miles_adapter_job_duration_seconds How long the job's last run took.",
            "# TYPE miles_adapter_job_duration_seconds gauge",
            "miles_adapter_job_duration_seconds{\(label)} \(String(format: "%.3f", seconds))",
            "# HELP miles_adapter_job_success Whether the job's last run succeeded (1) or failed (0).",
            "# TYPE miles_adapter_job_success gauge",
            "miles_adapter_job_success{\(label)} \(succeeded ? 1 : 0)",
            "# HELP miles_adapter_job_last_run_timestamp_seconds When the job's last run ended, in seconds since 1970.",
            "# TYPE miles_adapter_job_last_run_timestamp_seconds gauge",
            "miles_adapter_job_last_run_timestamp_seconds{\(label)} \(endedAt.millisecondsSinceEpoch / 1000)",
        ]
        if !counts.isEmpty {
            lines.append("# HELP miles_adapter_job_items What the job's last run did, by item.")
            lines.append("# TYPE miles_adapter_job_items gauge")
            for (item, count) in counts.sorted(by: { $0.key < $1.key }) { lines.append("miles_adapter_job_items{\(label),item=\"\(item)\"} \(count)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the file atomically, readable by the collector (it holds no personal data).
    public func write(to path: String) throws {
        do { try AtomicFile.write(Data(prometheusText.utf8), to: path, permissions: 0o644) } catch {
            throw JobMetricsError(path: path, description: "cannot write the metrics file \(path): \(error)")
        }
    }
}

/// The metrics file could not be written; `path` is the file.
public struct JobMetricsError: Error, CustomStringConvertible {
    public let path: String
    public let description: String
}
