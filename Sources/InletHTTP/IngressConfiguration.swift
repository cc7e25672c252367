/// Settings of the HTTP ingress.
public struct IngressConfiguration: Sendable, Hashable {
    /// Interface to listen on; default `127.0.0.1` (use `0.0.0.0` in a container).
    public var host: String
    /// Port to listen on; `0` picks a free port (tests).
    public var port: Int
    /// Largest accepted request body; larger ones get 413. Default 1 MiB.
    public var maxBodyBytes: Int
    /// How long a webhook whose `handle` may answer it waits for that answer before the
    /// default acknowledgement (the request is already safe either way).
    public var replyTimeout: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20,
        replyTimeout: Duration = .seconds(5)
    ) {
        self.replyTimeout = replyTimeout
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
    }
}
