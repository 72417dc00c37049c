import Foundation
import Logging

/// Writes each event as one JSON object on a line of standard error, for a log collector:
/// `time`, `level`, `label`, `message`, `source` and the metadata under `metadata`. Wrapped in
/// `RedactingLogHandler` like the text log, so it shows exactly what the text log would.
///
/// ```swift
/// Logger(label: "miles-adapter.sync") { RedactingLogHandler(inner: JSONLogHandler(label: $0), policy: policy) }
/// ```
public struct JSONLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let write: @Sendable (Data) -> Void

    /// `write` takes one line (standard error unless a test gives another).
    public init(label: String, write: @escaping @Sendable (Data) -> Void = { FileHandle.standardError.write($0) }) {
        self.label = label
        self.write = write
    }

    public func log(event: LogEvent) {
        var fields: [String: Any] = [
            "time": Self.time(Date()), "level": event.level.rawValue, "label": label, "message": event.message.description, "source": event.source,
        ]
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        if !all.isEmpty { fields["metadata"] = all.mapValues(Self.plain) }
        if let error = event.error { fields["error"] = "\(error)" }
        guard var line = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(0x0A)
        write(line)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// A metadata value as JSON: text, a list, or an object.
    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case let .string(text): text
        case let .stringConvertible(value): value.description
        case let .array(values): values.map(plain)
        case let .dictionary(values): values.mapValues(plain)
        }
    }

    /// RFC 3339 in UTC, to the millisecond.
    static func time(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }
}
