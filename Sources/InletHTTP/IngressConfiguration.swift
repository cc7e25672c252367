import InletPipeline
/// Settings of the HTTP ingress.
public struct IngressConfiguration: Sendable, Hashable {
    /// Interface to listen on; default `127.0.0.1` (use `0.0.0.0` in a container).
    public var host: String
    /// Port to listen on; `0` picks a free port (tests).
    public var port: Int
    /// Largest accepted request body; larger ones get 413. Default: what still fits in one
    /// Kafka message of librdkafka's default `message.max.bytes` once stored as a raw request
    /// (`maxBodyBytes(messageMaxBytes:)`).
    public var maxBodyBytes: Int
    /// How long a webhook whose `handle` may answer it waits for that answer before the
    /// default acknowledgement (the request is already safe either way).
    public var replyTimeout: Duration
    /// How requests are stored on the ingress topics (`RawRequestRecordFormat`).
    public var recordFormat: RawRequestRecordFormat
    /// The workspace app key your product sends app events with (`INLET_APP_KEY`); without
    /// one, `/app-events` answers 401.
    public var appKey: String?
    /// Most events in one app event batch (`INLET_APP_EVENT_MAX_BATCH`, default 1000).
    public var maxAppEventBatch: Int = 1000
    /// Most connections open at once (`INLET_INGRESS_MAX_CONNECTIONS`, default 4096); one more
    /// is closed as soon as it is accepted.
    public var maxConnections: Int = 4096
    /// How long a request's head (method, path, headers) may take from its first byte
    /// (`INLET_INGRESS_HEADER_TIMEOUT_SECONDS`, default 10 s): a client trickling its headers
    /// (slowloris) is closed.
    public var headerTimeout: Duration = .seconds(10)
    /// How long a connection may stay silent, mid-request or kept alive between requests
    /// (`INLET_INGRESS_IDLE_TIMEOUT_SECONDS`, default 75 s: longer than common clients keep
    /// idle connections, so they close them first).
    public var idleTimeout: Duration = .seconds(75)

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = IngressConfiguration.maxBodyBytes(messageMaxBytes: 1_000_000),
        replyTimeout: Duration = .seconds(5), recordFormat: RawRequestRecordFormat = .raw, appKey: String? = nil
    ) {
        self.appKey = appKey
        self.recordFormat = recordFormat
        self.replyTimeout = replyTimeout
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
    }

    /// The largest body whose raw request (the body base64-encoded in JSON, ×4/3, plus up to
    /// 64 KiB of headers and metadata) fits in a Kafka message of `messageMaxBytes`: larger
    /// bodies could never be stored, so they get 413 instead of an endless 503.
    public static func maxBodyBytes(messageMaxBytes: Int) -> Int {
        max(0, (messageMaxBytes - 64 * 1024) * 3 / 4)
    }
}
