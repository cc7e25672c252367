import Foundation
import InletJSON
import Logging
import Synchronization

/// One JSON object per line on standard error (`INLET_LOG_FORMAT=json`), for log pipelines
/// that index fields: `time` (RFC 3339, UTC, milliseconds), `level`, `logger` (the label, e.g.
/// `inlet.handler`), `message`, then every metadata value as its own member (`request.id`,
/// `subscription.id`, `connector`, `kafka.partition`, ...). Nested metadata stays nested;
/// a metadata key that would overwrite one of the fixed members (or `error`, the logged
/// error's description) is prefixed `meta.`.
///
/// Each line is written with one `write(2)`, so lines from concurrent tasks never interleave.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String
    private let sink: @Sendable (Data) -> Void

    /// Logs to standard error.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.init(label: label, metadataProvider: metadataProvider, sink: Self.standardError)
    }

    /// Logs to `sink` (one complete line per call, newline included).
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, sink: @escaping @Sendable (Data) -> Void) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var members: [(String, JSONValue)] = [
            ("time", .string(Self.timestamp(Date()))), ("level", .string(event.level.rawValue)), ("logger", .string(label)),
            ("message", .string(event.message.description)),
        ]
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        let fixed: Set<String> = ["time", "level", "logger", "message", "error"]
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            members.append((fixed.contains(key) ? "meta." + key : key, Self.json(value)))
        }
        if let error = event.error { members.append(("error", .string(String(describing: error)))) }
        // The fixed members first, in this order, then the metadata sorted by key.
        var writer = JSONWriter(capacity: 512)
        var line: [UInt8] = [UInt8(ascii: "{")]
        for (index, (key, value)) in members.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            writer = JSONWriter(capacity: 256)
            writer.writeString(key)
            line += writer.bytes
            line.append(UInt8(ascii: ":"))
            writer = JSONWriter(capacity: 256, nonFiniteAsStrings: true)
            writer.write(value)
            line += writer.bytes
        }
        line += [UInt8(ascii: "}"), 0x0A]
        sink(Data(line))
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let members): .object(members.mapValues(json))
        }
    }

    private static let formatter = Mutex(ISO8601DateFormatter.withMilliseconds)

    static func timestamp(_ date: Date) -> String {
        formatter.withLock { $0.string(from: date) }
    }

    private static let standardErrorLock = Mutex(())

    private static let standardError: @Sendable (Data) -> Void = { line in
        standardErrorLock.withLock { _ in
            line.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Foundation.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                    if written <= 0 { if errno == EINTR { continue }; return }
                    offset += written
                }
            }
        }
    }
}

extension ISO8601DateFormatter {
    fileprivate static var withMilliseconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter
    }
}
