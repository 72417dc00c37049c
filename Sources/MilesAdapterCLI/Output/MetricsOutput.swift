import ArgumentParser
import CollectionsStorePostgres
import Foundation
import MilesSOAP
import MilesSync

/// Where a batch job reports its run: a file for node_exporter's textfile collector, a Prometheus
/// Pushgateway, or both. A report that cannot be made is said on standard error; it never changes
/// the job's own outcome and exit code.
struct MetricsOptions: ParsableArguments {
    @Option(help: "Write the run as Prometheus text to this file (atomically), for node_exporter's textfile collector.")
    var metricsFile: String?

    @Option(help: "Push the run to this Prometheus Pushgateway (http://host:9091), grouped under the job's name.")
    var metricsPush: String?

    func validate() throws {
        if let metricsPush, URL(string: metricsPush).map({ ["http", "https"].contains($0.scheme ?? "") && $0.host != nil }) != true {
            throw ValidationError("--metrics-push '\(metricsPush)' is not an http(s) URL like http://pushgateway:9091")
        }
    }

    func publish(_ metrics: JobMetrics) {
        if let metricsFile {
            do { try metrics.write(to: metricsFile) } catch { printError("warning: \(error)") }
        }
        if let metricsPush {
            do { try Self.push(metrics, to: metricsPush) } catch { printError("warning: \(error)") }
        }
    }

    /// POSTs the run to the Pushgateway's group for the job on this machine: each run replaces the
    /// metrics of the same names that the last one pushed there. Short timeouts: a gateway that is
    /// down must not hold up a scheduler. Errors show the URL without any user and password in it.
    static func push(_ metrics: JobMetrics, to gateway: String) throws {
        let base = gateway.hasSuffix("/") ? String(gateway.dropLast()) : gateway
        let instance = ProcessInfo.processInfo.hostName
        let url = base + "/metrics/job/" + (metrics.job.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? metrics.job)
            + "/instance/" + (instance.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? instance)
        let shown = PostgresLocation.withoutPassword(url)
        let transport = CurlTransport(configuration: HTTPTransportConfiguration(connectTimeout: .seconds(5), requestTimeout: .seconds(10)))
        let answer: CurlTransport.Answer
        do {
            answer = try transport.post(url: url, headers: ["Content-Type: text/plain; version=0.0.4"], body: Array(metrics.prometheusText.utf8),
                                        accept: { _ in false }, consume: { _ in })
        } catch let failure as CurlTransport.Failure {
            throw MetricsPushError(url: shown, reason: failure.message)
        }
        guard (200..<300).contains(answer.status) else {
            throw MetricsPushError(url: shown, reason: "HTTP \(answer.status) \(answer.unconsumedBodyPrefix.prefix(200))")
        }
    }
}

/// The Pushgateway did not take the run.
struct MetricsPushError: Error, CustomStringConvertible {
    let url: String
    let reason: String
    var description: String { "the run's metrics were not pushed to \(url): \(reason)" }
}
