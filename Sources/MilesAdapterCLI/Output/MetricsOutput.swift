import MilesSync

/// Writes a batch job's metrics file. A file that cannot be written is said on standard error; it
/// never changes the job's own outcome and exit code.
enum MetricsOutput {
    static func write(_ metrics: JobMetrics, to path: String) {
        do { try metrics.write(to: path) } catch { printError("warning: \(error)") }
    }
}
