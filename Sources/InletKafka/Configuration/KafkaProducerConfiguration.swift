/// Settings of a producer (plain or transactional).
public struct KafkaProducerConfiguration: Sendable, Hashable {
    /// How many replicas must acknowledge a write (librdkafka `acks`).
    public enum Acks: String, Sendable, Hashable {
        case none = "0"
        case leader = "1"
        case all = "all"
    }

    /// Batch compression (librdkafka `compression.codec`).
    public enum Compression: String, Sendable, Hashable {
        case none, gzip, snappy, lz4, zstd
    }

    public var client: KafkaClientConfiguration
    /// Default `.all`: an acknowledged message survives the loss of the leader.
    public var acks: Acks
    /// How long to wait to fill a batch (librdkafka `linger.ms`, which takes fractions of a
    /// millisecond). Default 5 ms.
    public var linger: Duration
    public var compression: Compression
    /// Idempotent producer: no duplicates or reordering from internal retries. Default on.
    public var idempotent: Bool
    /// How long a message may wait for delivery before `send` fails (`delivery.timeout.ms`).
    public var deliveryTimeoutMilliseconds: Int

    public init(
        client: KafkaClientConfiguration,
        acks: Acks = .all,
        linger: Duration = .milliseconds(5),
        compression: Compression = .none,
        idempotent: Bool = true,
        deliveryTimeoutMilliseconds: Int = 30_000
    ) {
        self.client = client
        self.acks = acks
        self.linger = linger
        self.compression = compression
        self.idempotent = idempotent
        self.deliveryTimeoutMilliseconds = deliveryTimeoutMilliseconds
    }

    var librdkafkaProperties: [(String, String)] {
        client.baseProperties + [
            ("acks", acks.rawValue),
            ("linger.ms", linger.fractionalMilliseconds),
            ("compression.codec", compression.rawValue),
            ("enable.idempotence", idempotent ? "true" : "false"),
            ("delivery.timeout.ms", String(deliveryTimeoutMilliseconds)),
        ] + client.additionalProperties.sorted { $0.key < $1.key }
    }
}
