import Logging

/// Text lines on standard error (`INLET_LOG_FORMAT=text`, the default), exactly as swift-log's
/// `StreamLogHandler` writes them, but with metadata that is cheap to set.
///
/// `StreamLogHandler` formats all of its metadata again every time one key changes. Hummingbird
/// sets a request id on every request's logger, so ingress paid for that formatting on every
/// webhook even when nothing was logged. Here metadata is only stored, and formatted when a
/// line is actually written.
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String
    private let stream: (any TextOutputStream & Sendable)?

    /// Logs to standard error.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.metadataProvider = metadataProvider
        stream = nil
    }

    /// Logs to `stream`.
    public init(label: String, stream: any TextOutputStream & Sendable, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.stream = stream
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var handler = stream.map { StreamLogHandler(label: label, stream: $0, metadataProvider: metadataProvider) }
            ?? StreamLogHandler.standardError(label: label, metadataProvider: metadataProvider)
        handler.logLevel = logLevel
        handler.metadata = metadata
        handler.log(event: event)
    }
}
